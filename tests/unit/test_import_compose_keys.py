"""`import compose`, key by key: what each Compose service key becomes, as the TOML text written."""

from pathlib import Path

from tests.unit.compose_import import converted, origin_of, project, table_lines


def web(**keys) -> list[str]:
    return table_lines(converted(project({"web": {"image": "nginx:1.25", **keys}})), "web.toml")


def test_a_key_with_our_name_and_form_is_written_as_it_is():
    assert web(restart="unless-stopped", read_only=True, cap_add=["NET_ADMIN"])[2:5] == [
        'restart = "unless-stopped"', "read_only = true", 'cap_add = ["NET_ADMIN"]']


def test_environment_is_written_as_env_a_list_as_a_table():
    assert 'env = {A = "1", B = "two=2"} # from environment' in web(environment=["A=1", "B=two=2"])


def test_a_bare_environment_name_reads_the_variable():
    assert 'env = {TOKEN = "${TOKEN}"} # from environment' in web(environment={"TOKEN": None})


def test_compose_memory_and_cpu_keys_go_to_resources_with_a_note():
    assert web(mem_limit="512M", cpus=0.5)[2] == \
        'resources = {memory = "512M", cpus = 0.5} # from mem_limit: 512M, cpus: 0.5'


def test_deploy_resource_limits_go_to_resources_and_what_has_no_key_is_skipped():
    compose = project({"web": {"image": "x", "deploy": {"endpoint_mode": "vip",
                                                        "resources": {"limits": {"memory": "1g"}}}}})
    conversion = converted(compose)

    assert 'resources = {memory = "1g"} # from deploy.resources.limits.memory' in table_lines(conversion, "web.toml")
    assert [f"{s.origin}: {s.key}" for s in conversion.skipped] == [
        f"{origin_of(compose, 'services', 'web', 'deploy', 'endpoint_mode')}: services.web.deploy.endpoint_mode"]


def test_pull_policy_is_written_as_pull_and_its_interval():
    assert web(pull_policy="daily")[2:4] == ['pull = "newer" # from pull_policy: daily',
                                             "pull_interval = 86400 # from pull_policy: daily"]


def test_stop_grace_period_is_written_as_stop_timeout():
    assert 'stop_timeout = "1m30s" # from stop_grace_period' in web(stop_grace_period="1m30s")


def test_volumes_are_mounts_by_volume_name():
    compose = project({"db": {"image": "x", "volumes": ["data:/var/lib/db", "/srv/conf:/etc/db:ro"]}},
                      volumes={"data": None})
    conversion = converted(compose)

    assert 'mounts = ["data:/var/lib/db", "/srv/conf:/etc/db:ro"] # from volumes' in table_lines(conversion, "db.toml")
    assert table_lines(conversion, "volumes.toml") == ["[volume.data]"]


def test_an_anonymous_volume_is_skipped_with_its_origin():
    compose = project({"db": {"image": "x", "volumes": ["/var/lib/db"]}})
    [skipped] = converted(compose).skipped

    assert str(skipped).startswith(f"{origin_of(compose, 'services', 'db', 'volumes', 0)}: services.db.volumes.0: "
                                   "an anonymous volume")


def test_a_port_range_is_skipped_and_the_other_ports_kept():
    compose = project({"web": {"image": "x", "ports": ["8080:80", "9000-9001:9000-9001"]}})
    conversion = converted(compose)

    assert 'ports = ["8080:80"]' in table_lines(conversion, "web.toml")
    assert [s.key for s in conversion.skipped] == ["services.web.ports.1"]


def test_a_long_form_port_keeps_its_mode():
    assert web(ports=[{"target": 80, "published": 8080, "mode": "host"}])[2:5] == [
        "ports = [", '    {target = 80, published = 8080, mode = "host"},', "]"]


def test_a_key_without_an_equivalent_is_skipped_with_the_reason_of_compose_only():
    compose = project({"web": {"image": "x", "links": ["db"]}})
    [skipped] = converted(compose).skipped

    assert skipped.why.startswith("Compose's 'links' has no equivalent here: legacy container links")


def test_a_nested_key_we_do_not_take_is_skipped_and_the_rest_kept():
    compose = project({"web": {"image": "x", "networks": {"back": {"aliases": ["api"], "ipv6_address": "::2"}}}},
                      networks={"back": None})
    conversion = converted(compose)

    assert 'networks = {back = {aliases = ["web", "api"]}}' in table_lines(conversion, "web.toml")
    assert [s.key for s in conversion.skipped] == ["services.web.networks.back.ipv6_address"]


def test_services_without_networks_join_the_default_network_with_their_name_as_alias():
    conversion = converted(project({"web": {"image": "x"}, "db": {"image": "y"}}))

    assert 'networks = {proj_default = {aliases = ["web"]}} # Compose\'s default network, with the service\'s ' \
           "name as alias" in table_lines(conversion, "web.toml")
    assert table_lines(conversion, "networks.toml") == ["[network.proj_default]"]


def test_a_service_naming_the_default_network_gets_it_declared_as_project_default():
    conversion = converted(project({"web": {"image": "x", "networks": ["default"]}}))

    assert 'networks = {proj_default = {aliases = ["web"]}}' in table_lines(conversion, "web.toml")
    assert table_lines(conversion, "networks.toml") == ["[network.proj_default]"]


def test_a_service_on_a_network_mode_joins_no_network():
    conversion = converted(project({"web": {"image": "x", "network_mode": "host"}}))

    assert table_lines(conversion, "web.toml") == ["[container.web]", 'image = "x"', 'network_mode = "host"']
    assert "networks.toml" not in conversion.files


def test_other_services_are_named_by_their_container_names():
    conversion = converted(project({
        "db": {"image": "x", "container_name": "main-db"},
        "web": {"image": "y", "depends_on": {"db": {"condition": "service_healthy"}}, "volumes_from": ["db:ro"],
                "ipc": "service:db"},
    }))

    assert table_lines(conversion, "web.toml")[2:5] == ['depends_on = {main-db = "service_healthy"}',
                                                        'volumes_from = ["main-db:ro"]', 'ipc = "container:main-db"']
    assert table_lines(conversion, "db.toml")[0] == "[container.main-db]"


def test_the_short_form_of_depends_on_stays_a_list():
    conversion = converted(project({"db": {"image": "x"}, "web": {"image": "y", "depends_on": ["db"]}}))

    assert 'depends_on = ["db"]' in table_lines(conversion, "web.toml")


def test_a_dependency_on_a_service_left_out_by_profiles_is_skipped_naming_its_profiles():
    compose = project({"web": {"image": "y", "depends_on": ["debug"]}}, inactive={"debug": ("tools",)})
    conversion = converted(compose, keep_profiles=False)

    assert "depends_on" not in "".join(table_lines(conversion, "web.toml"))
    assert [s.why for s in conversion.skipped] == ["service debug is left out: its profiles (tools) are not active"]


def test_profiles_are_kept_without_profiles_given_and_left_out_with():
    compose = project({"debug": {"image": "x", "profiles": ["tools"]}})

    assert 'profiles = ["tools"]' in table_lines(converted(compose), "debug.toml")
    assert "profiles" not in "".join(table_lines(converted(compose, keep_profiles=False), "debug.toml"))


def test_a_build_context_is_written_relative_to_the_output_folder():
    compose = project({"api": {"build": {"context": "/proj/api", "args": {"V": "1"}}}})

    assert table_lines(converted(compose, out=Path("/proj/deploy/state")), "api.toml")[1] == \
        'build = {context = "../../api", args = {V = "1"}} # the context relative to this folder'


def test_top_level_networks_and_volumes_take_our_key_names():
    conversion = converted(project(
        {"web": {"image": "x", "networks": ["back"]}},
        networks={"back": {"driver": "bridge", "driver_opts": {"mtu": "1400"},
                           "ipam": {"config": [{"subnet": "172.28.0.0/16"}]}}},
        volumes={"data": {"driver_opts": {"type": "tmpfs", "device": "tmpfs"}}}))

    assert table_lines(conversion, "networks.toml") == [
        "[network.back]", 'driver = "bridge"', 'options = {mtu = "1400"} # from driver_opts',
        'subnet = "172.28.0.0/16" # from ipam.config']
    assert table_lines(conversion, "volumes.toml") == [
        "[volume.data]", 'options = {type = "tmpfs", device = "tmpfs"} # from driver_opts']


def test_an_external_network_is_adopted_under_its_name_and_the_service_stays_attached():
    compose = project({"web": {"image": "x", "networks": ["outside"]}},
                      networks={"outside": {"external": True, "name": "shared-proxy"}})
    conversion = converted(compose)

    assert table_lines(conversion, "networks.toml") == ["[network.shared-proxy]", "adopt = true"]
    assert 'networks = {shared-proxy = {aliases = ["web"]}}' in table_lines(conversion, "web.toml")
    assert conversion.skipped == []


def test_an_external_volume_is_adopted_under_its_key_and_mounted():
    compose = project({"web": {"image": "x", "volumes": ["certs:/c"]}}, volumes={"certs": {"external": True}})
    conversion = converted(compose)

    assert table_lines(conversion, "volumes.toml") == ["[volume.certs]", "adopt = true"]
    assert 'mounts = ["certs:/c"] # from volumes' in table_lines(conversion, "web.toml")


def test_an_external_secret_is_skipped_and_so_are_the_grants_of_it():
    compose = project({"web": {"image": "x", "secrets": ["tls"]}}, secrets={"tls": {"external": True}})
    conversion = converted(compose)

    assert "secrets.toml" not in conversion.files
    assert [s.key for s in conversion.skipped] == ["services.web.secrets.0", "secrets.tls.external"]


def test_secrets_and_configs_are_declared_from_their_file_or_variable():
    conversion = converted(project(
        {"web": {"image": "x", "secrets": ["db", {"source": "token", "target": "tok", "mode": "0440"}]}},
        secrets={"db": {"file": "/proj/db.txt"}, "token": {"environment": "API_TOKEN"}},
        configs={"conf": {"content": "level = debug\n"}}))

    assert table_lines(conversion, "secrets.toml") == [
        "[secret.db]", 'file = "/proj/db.txt"', "[secret.token]", 'environment = "API_TOKEN"']
    assert table_lines(conversion, "configs.toml") == ["[config.conf]", 'content = "level = debug\\n"']
    assert conversion.environ == ("API_TOKEN",)


def test_a_top_level_element_without_an_equivalent_is_skipped_with_its_reason():
    compose = project({"web": {"image": "x"}}, version="3.8")

    assert [(s.key, s.why) for s in converted(compose).skipped] == [
        ("version", "Compose's 'version' has no equivalent here: the Compose file format's version: TOML files here "
                    "have one format")]
