"""`import containers`: the inverse mapping (inspect + image -> our keys) on answers captured from
Docker 20.10 and Podman 4.3.1 (tests/unit/fixtures/import_containers/README.md says how), and the
importer's env file and adoption marks, on the in-memory engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.fields import Mount, NetworkAttachment, PortMapping
from reconciler.importing.containers import import_host, variable
from reconciler.importing.emit import render
from reconciler.model import ContainerSpec, NetworkSpec, VolumeSpec
from runtime.docker_import import container_table, duration, literal, network_table, volume_table
from runtime.engine_defaults import engine_defaults
from runtime.memory import MemoryRuntime

FIXTURES = Path(__file__).parent / "fixtures" / "import_containers"
ENGINES = ("docker", "podman")


def captured(engine: str) -> dict:
    return json.loads((FIXTURES / f"{engine}.json").read_text())


def imported(engine: str, name: str):
    answers = captured(engine)
    inspected = answers["containers"][name]
    return container_table(inspected, answers["images"][inspected["Image"]],
                           engine_defaults(engine, answers["info"]), {})


@pytest.mark.parametrize("engine", ENGINES)
def test_a_plain_docker_run_is_its_image_and_command(engine):
    assert imported(engine, "impcap-plain").table == {"image": "localhost/demo:1", "command": ["sleep", "3600"]}


@pytest.mark.parametrize("engine", ENGINES)
def test_the_host_network_and_an_entrypoint_are_kept_and_the_hosts_name_left_out(engine):
    assert imported(engine, "impcap-host").table == {
        "image": "localhost/import-rich:1", "entrypoint": ["sleep"], "command": ["3600"], "network_mode": "host"}


@pytest.mark.parametrize("engine", ENGINES)
def test_env_holds_only_what_the_image_and_engine_do_not_set(engine):
    assert imported(engine, "impcap-web").env == {"APP_MODE": "dev", "EXTRA": "1", "DB_PASSWORD": "canary-s3cret"}


@pytest.mark.parametrize("engine", ENGINES)
def test_what_the_image_gives_is_left_out(engine):
    table = imported(engine, "impcap-web").table
    assert table["labels"] == {"team": "web"}  # vendor=acme (and Podman's io.buildah.version) are the image's
    assert "expose" not in table and "stop_signal" not in table  # 8080 and SIGQUIT are the image's
    assert table["working_dir"] == "/data" and table["user"] == "1000:1000"


@pytest.mark.parametrize("engine", ENGINES)
def test_docker_run_options_become_compose_keys(engine):
    table = imported(engine, "impcap-web").table
    assert table["ports"] == ["18053:53/udp", "127.0.0.1:18080:8080"]
    assert table["networks"] == {"impcap-front": {"aliases": ["web-alias"]}}
    assert table["restart"] == "unless-stopped"
    assert table["healthcheck"] == {"test": ["CMD-SHELL", "wget -q -O- http://127.0.0.1:8080/ || exit 1"],
                                    "interval": "10s", "retries": 4}
    assert table["resources"] == {"memory": "64m", "cpus": 0.5, "pids_limit": 100}
    assert (table["cap_add"], table["cap_drop"]) == (["NET_ADMIN"], ["MKNOD"])
    assert (table["init"], table["stop_timeout"], table["hostname"]) == (True, 20, "webhost")
    assert table["security_opt"] == ["no-new-privileges"]
    assert (table["extra_hosts"], table["dns"]) == (["db.local:10.0.0.5"], ["9.9.9.9"])


def test_docker_mounts_keep_binds_short_and_mount_flags_long():
    table = imported("docker", "impcap-web").table
    assert table["mounts"] == ["impcap-data:/data", "/tmp/cap/bind:/cfg:ro",
                               {"type": "tmpfs", "target": "/cache", "tmpfs_size": "1m"}]
    assert table["tmpfs"] == ["/run:size=64m"]
    assert table["ulimits"] == {"nofile": {"soft": 1024, "hard": 2048}}
    assert table["sysctls"] == {"net.core.somaxconn": "1024"}


def test_docker_keeps_log_options():
    """Podman 4.3's compat inspect says no log options (LogConfig.Config is null): none can be read there."""
    assert imported("docker", "impcap-web").table["logging"] == {
        "driver": "json-file", "options": {"max-file": "3", "max-size": "10m"}}


def test_podmans_own_mount_options_are_left_out():
    table = imported("podman", "impcap-web").table
    assert table["mounts"] == ["/tmp/cap/bind:/cfg:ro", "impcap-data:/data"]
    assert table["tmpfs"] == ["/cache:size=1048576", "/run:size=64m"]


@pytest.mark.parametrize("engine", ENGINES)
def test_engine_defaults_are_left_out(engine):
    table = imported(engine, "impcap-web").table
    for key in ("ipc", "pid", "uts", "cgroup", "runtime", "mem_swappiness", "memswap_limit", "cpu_period",
                "cpu_quota", "stop_signal"):
        assert key not in table, key
    assert "shm_size" not in table["resources"]


@pytest.mark.parametrize("engine", ENGINES)
def test_networks_and_volumes_keep_what_was_chosen(engine):
    answers = captured(engine)
    assert network_table(answers["networks"]["impcap-front"]) == {"subnet": "172.29.66.0/24",
                                                                  "labels": {"team": "web"}}
    assert volume_table(answers["volumes"]["impcap-data"]) == {"labels": {"keep": "yes"}}


def test_a_gateway_other_than_the_first_address_is_kept():
    network = {"Driver": "bridge", "IPAM": {"Config": [{"Subnet": "10.9.0.0/24", "Gateway": "10.9.0.254"}]}}
    assert network_table(network) == {"subnet": "10.9.0.0/24", "gateway": "10.9.0.254"}


def test_composes_labels_are_skipped_with_a_reason():
    answers = captured("docker")
    inspected = json.loads(json.dumps(answers["containers"]["impcap-plain"]))
    inspected["Config"]["Labels"] = {"com.docker.compose.project": "shop", "tier": "db"}
    result = container_table(inspected, answers["images"][inspected["Image"]],
                             engine_defaults("docker", answers["info"]), {})
    assert result.table["labels"] == {"tier": "db"}
    assert [key for key, _ in result.skipped] == ["labels.com.docker.compose.project"]


ANON = "4164b3ce0356e1c5a2a3a349b642d92225511357e28eb634dc935116ce6cf70b"


def with_anonymous_volume(engine: str) -> dict:
    """impcap-plain as `docker run -v /anon` makes it, in each engine's own words (seen on Docker
    20.10.24 and Podman 4.3.1): Podman lists the anonymous volume in HostConfig.Binds too."""
    inspected = json.loads(json.dumps(captured(engine)["containers"]["impcap-plain"]))
    inspected["Mounts"] = [{"Type": "volume", "Name": ANON, "Destination": "/anon", "Driver": "local", "RW": True}]
    if engine == "podman":
        inspected["HostConfig"]["Binds"] = [f"{ANON}:/anon:rw,rprivate,nosuid,nodev,rbind"]
    else:
        inspected["Config"]["Volumes"] = {"/anon": {}}
    return inspected


@pytest.mark.parametrize("engine", ENGINES)
def test_an_anonymous_volume_is_skipped_with_its_reason_and_never_written(engine):
    answers = captured(engine)
    inspected = with_anonymous_volume(engine)
    result = container_table(inspected, answers["images"][inspected["Image"]], engine_defaults(engine, answers["info"]),
                             {})
    assert "mounts" not in result.table and result.volumes == []
    assert [key for key, _ in result.skipped] == ["mounts./anon"]


def test_a_lone_path_in_binds_is_an_anonymous_volume_skipped_not_a_crash():
    """Docker's API takes Binds ["/anon"] as `-v /anon` (docker-py's `volumes=["/anon"]` sends it so)."""
    answers = captured("docker")
    inspected = with_anonymous_volume("docker")
    inspected["HostConfig"]["Binds"] = ["/anon"]
    result = container_table(inspected, answers["images"][inspected["Image"]],
                             engine_defaults("docker", answers["info"]), {})
    assert "mounts" not in result.table and result.volumes == []
    assert [key for key, _ in result.skipped] == ["mounts./anon"]


def test_a_dollar_is_written_so_the_loader_reads_it_back():
    assert literal("echo $HOME ${X}") == "echo $$HOME $${X}"


def test_durations_are_written_in_units():
    assert (duration(90_000_000_000), duration(500_000_000)) == ("1m30s", "500ms")


def test_env_variables_are_named_for_the_container():
    assert variable("web-1", "db.password") == "WEB_1_DB_PASSWORD"


def memory_engine() -> MemoryRuntime:
    engine = MemoryRuntime(images={"localhost/demo:1": "sha256:" + "a" * 64})
    engine.create_volume(VolumeSpec("data"), {})
    spec = ContainerSpec("web", "localhost/demo:1", env={"DB_PASSWORD": "canary-s3cret"},
                         ports=(PortMapping(80, 8080),), mounts=(Mount("volume", "/data", "data"),),
                         restart="always")
    engine.start_container(engine.create_container(spec, "web", {}))
    return engine


def test_env_values_go_to_the_env_file_and_the_toml_refers_to_them():
    found = import_host(memory_engine(), [], "default")
    text = render(found.files["web.toml"])
    assert found.env == {"WEB_DB_PASSWORD": "canary-s3cret"}
    assert 'DB_PASSWORD = "${WEB_DB_PASSWORD}"' in text
    assert "canary-s3cret" not in text


def test_every_unowned_resource_is_marked_for_adoption():
    found = import_host(memory_engine(), [], "default")
    assert found.files["web.toml"][0].table["adopt"] is True
    assert found.files["volumes.toml"][0].table == {"adopt": True}


def test_a_container_the_namespace_owns_is_left_out_with_a_note():
    engine = MemoryRuntime(images={"localhost/demo:1": "sha256:" + "a" * 64})
    owned = engine.create_container(ContainerSpec("mine", "localhost/demo:1"), "mine",
                                    {"io.reconciler.managed": "default"})
    engine.start_container(owned)
    found = import_host(engine, [], "default")
    assert found.files == {}
    assert found.notes == ["container mine: owned by the reconciler's namespace 'default': left out"]


def test_a_spec_made_by_the_memory_engine_reads_back_as_written():
    engine = MemoryRuntime(images={"localhost/demo:1": "sha256:" + "a" * 64})
    engine.create_network(NetworkSpec("front"), {})
    spec = ContainerSpec("api", "localhost/demo:1", command=("sleep", "60"),
                         networks=(NetworkAttachment("front", aliases=("backend",)),), cap_add=("NET_ADMIN",))
    engine.start_container(engine.create_container(spec, "api", {}))
    table = import_host(engine, ["api"], "default").files["api.toml"][0].table
    assert table == {"image": "localhost/demo:1", "command": ["sleep", "60"],
                     "networks": {"front": {"aliases": ["backend"]}}, "cap_add": ["NET_ADMIN"], "adopt": True}


def _podman_web_with(**host) -> dict:
    answers = captured("podman")
    inspected = answers["containers"]["impcap-web"]
    inspected = {**inspected, "HostConfig": {**inspected["HostConfig"], **host}}
    return container_table(inspected, answers["images"][inspected["Image"]],
                           engine_defaults("podman", answers["info"]), {}).table


def test_podmans_rlimit_names_are_written_as_compose_names_them():
    """Podman 4.3's compat inspect of `--ulimit nofile=1024:2048 --ulimit nproc=4096` (its answer as given)."""
    table = _podman_web_with(Ulimits=[{"Name": "RLIMIT_NOFILE", "Hard": 2048, "Soft": 1024},
                                      {"Name": "RLIMIT_NPROC", "Hard": 4096, "Soft": 4096}])
    assert table["ulimits"] == {"nofile": {"soft": 1024, "hard": 2048}, "nproc": 4096}


@pytest.mark.parametrize("engine", ENGINES)
def test_a_container_in_anothers_network_namespace_gets_none_of_the_keys_that_namespace_gives(engine):
    """The engine refuses hostname, dns, extra_hosts, mac_address and ports with `container:` network mode
    (moby runconfig validateNetContainerMode); the inspect shows the other container's."""
    answers = captured(engine)
    web, plain = answers["containers"]["impcap-web"], answers["containers"]["impcap-plain"]
    inspected = {**plain, "Config": {**plain["Config"], "Hostname": web["Id"][:12], "MacAddress": "02:42:ac:11:00:02"},
                 "HostConfig": {**plain["HostConfig"], "NetworkMode": f"container:{web['Id']}", "Dns": ["9.9.9.9"],
                                "ExtraHosts": ["db.local:10.0.0.5"]}}
    table = container_table(inspected, answers["images"][inspected["Image"]], engine_defaults(engine, answers["info"]),
                            {web["Id"]: "impcap-web"}).table

    assert table == {"image": "localhost/demo:1", "command": ["sleep", "3600"], "network_mode": "container:impcap-web"}
