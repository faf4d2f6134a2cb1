"""Compose's one-to-one container keys (dns_search ... device_cgroup_rules) in Compose's value
forms, and each value the engine (Docker 20.10, API 1.41) would refuse reported at its
FILE:LINE: key before anything runs."""

import pytest

from reconciler.fields import GpuRequest
from tests.unit.desired import container, errors, load_texts


def _errors(tmp_path, body: str, files: dict | None = None) -> list[str]:
    return errors(tmp_path, {"a.toml": f"[container.web]\nimage = 'demo'\n{body}\n", **(files or {})})


# -- DNS, domain name, groups ------------------------------------------------------------------


def test_dns_search_takes_one_domain_or_a_list(tmp_path):
    assert container(tmp_path, "dns_search = 'example.com'").dns_search == ("example.com",)
    assert container(tmp_path, "dns_search = ['a.example', '.']").dns_search == ("a.example", ".")


@pytest.mark.parametrize("domain", ["-a.example", "a..b", "a b"])
def test_a_search_domain_that_is_not_a_domain_name_is_an_error(tmp_path, domain):
    assert _errors(tmp_path, f"dns_search = ['{domain}']") == [
        f"a.toml:3: container.web.dns_search[0]: '{domain}' is not a search domain: expected a domain name such as"
        " example.com, or '.'"]


def test_dns_options_are_kept_in_order(tmp_path):
    assert container(tmp_path, "dns_opt = ['ndots:2', 'use-vc']").dns_opt == ("ndots:2", "use-vc")


def test_a_dns_option_with_a_blank_is_an_error(tmp_path):
    assert _errors(tmp_path, "dns_opt = ['ndots:2 rotate']") == [
        "a.toml:3: container.web.dns_opt[0]: 'ndots:2 rotate' is not a resolver option: it holds a blank or a line"
        " break"]


def test_a_domain_name_longer_than_the_kernel_takes_is_an_error(tmp_path):
    assert container(tmp_path, "domainname = 'example.org'").domainname == "example.org"
    assert _errors(tmp_path, f"domainname = '{'d' * 65}'") == [
        "a.toml:3: container.web.domainname: the domain name is 65 bytes long: the kernel takes at most 64"]


def test_group_add_takes_names_and_numbers_as_text(tmp_path):
    assert container(tmp_path, "group_add = ['audio', 1234]").group_add == ("audio", "1234")


def test_a_group_out_of_range_or_with_a_colon_is_an_error(tmp_path):
    assert _errors(tmp_path, "group_add = [2147483648, 'a:b']") == [
        "a.toml:3: container.web.group_add[0]: group id 2147483648 is out of range: the engine takes 0 to 2147483647",
        "a.toml:3: container.web.group_add[1]: 'a:b' is not a group: a name holds no ':', blank or control character",
    ]


# -- expose --------------------------------------------------------------------------------------


def test_expose_takes_numbers_strings_and_ranges_stored_one_per_port_with_its_protocol(tmp_path):
    app = container(tmp_path, "expose = [3000, '53/udp', '8000-8002/udp', '3000']")
    assert app.expose == ("53/udp", "3000/tcp", "8000/udp", "8001/udp", "8002/udp")


@pytest.mark.parametrize("entry, message", [
    ("'80/icmp'", "'80/icmp' is not a port: expected PORT, PORT/PROTOCOL or FIRST-LAST[/PROTOCOL] (protocol tcp,"
                  " udp or sctp)"),
    ("'90-80'", "'90-80': the range ends before it starts"),
    ("'70000'", "port 70000 is out of range (1-65535)"),
])
def test_an_exposed_port_the_engine_would_refuse_is_an_error(tmp_path, entry, message):
    assert _errors(tmp_path, f"expose = [{entry}]") == [f"a.toml:3: container.web.expose[0]: {message}"]


def test_expose_with_another_containers_network_is_an_error(tmp_path):
    body = "network_mode = 'container:db'\nexpose = [80]\n[container.db]\nimage = 'demo'"
    assert _errors(tmp_path, body) == [
        'a.toml:4: container.web.expose: ports cannot be exposed with network_mode = "container:db": the engine'
        " refuses it"]


# -- namespaces ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["private", "shareable", "host", "none"])
def test_ipc_takes_the_engines_modes(tmp_path, mode):
    assert container(tmp_path, f"ipc = '{mode}'").ipc == mode


def test_service_name_means_the_declared_container_of_that_name(tmp_path):
    app_toml = "[container.app]\nimage = 'demo'\nipc = 'service:db'\npid = 'container:db'"
    db_toml = "[container.db]\nimage = 'demo'\nipc = 'shareable'\n"
    result = load_texts(tmp_path, {"db.toml": db_toml, "app.toml": app_toml})
    assert result.errors == ()
    app = result.state.containers["app"]
    assert (app.ipc, app.pid) == ("container:db", "container:db")


def test_an_unknown_ipc_or_pid_mode_is_an_error(tmp_path):
    assert _errors(tmp_path, "ipc = 'shared'\npid = 'private'") == [
        "a.toml:3: container.web.ipc: 'shared' is not a ipc mode: expected private, shareable, host, none,"
        " container:NAME or service:NAME",
        "a.toml:4: container.web.pid: 'private' is not a pid mode: expected host, container:NAME or service:NAME",
    ]


def test_uts_userns_and_cgroup_take_compose_values(tmp_path):
    app = container(tmp_path, "uts = 'host'\nuserns_mode = 'host'\ncgroup = 'private'\ncgroup_parent = 'jobs'")
    assert (app.uts, app.userns_mode, app.cgroup, app.cgroup_parent) == ("host", "host", "private", "jobs")


def test_a_host_or_domain_name_with_the_hosts_uts_namespace_is_an_error(tmp_path):
    assert _errors(tmp_path, "uts = 'host'\nhostname = 'a'\ndomainname = 'b'") == [
        "a.toml:4: container.web.hostname: a hostname cannot be set with uts = \"host\": the container has the host's",
        "a.toml:5: container.web.domainname: a domainname cannot be set with uts = \"host\": the container has the"
        " host's",
    ]


def test_a_cgroup_namespace_other_than_host_or_private_is_refused_by_the_schema(tmp_path):
    (message,) = _errors(tmp_path, "cgroup = 'shared'")
    assert message.startswith("a.toml:3: container.web.cgroup: ")


# -- MAC address, platform, runtime, stdin ---------------------------------------------------------


def test_a_mac_address_is_stored_in_lower_case_with_colons(tmp_path):
    assert container(tmp_path, "mac_address = '02-42-AC-11-00-99'").mac_address == "02:42:ac:11:00:99"


def test_a_multicast_or_malformed_mac_address_is_an_error(tmp_path):
    assert _errors(tmp_path, "mac_address = '01:00:5e:00:00:01'") == [
        "a.toml:3: container.web.mac_address: '01:00:5e:00:00:01' is a multicast address: a container's interface"
        " needs a unicast one"]
    assert _errors(tmp_path, "mac_address = '02:42:ac'") == [
        "a.toml:3: container.web.mac_address: '02:42:ac' is not a MAC address: expected six pairs of hex digits such"
        " as 02:42:ac:11:00:02"]


def test_a_mac_address_with_the_hosts_network_is_an_error(tmp_path):
    assert _errors(tmp_path, "network_mode = 'host'\nmac_address = '02:42:ac:11:00:99'") == [
        'a.toml:4: container.web.mac_address: a MAC address cannot be set with network_mode = "host": the engine'
        " refuses it"]


def test_a_platform_is_os_arch_variant_in_lower_case(tmp_path):
    assert container(tmp_path, "platform = 'Linux/ARM64/v8'").platform == "linux/arm64/v8"
    assert _errors(tmp_path, "platform = 'linux/amd64/v1/extra'") == [
        "a.toml:3: container.web.platform: 'linux/amd64/v1/extra' is not a platform: expected os[/arch[/variant]]"
        " such as linux/amd64"]


def test_runtime_and_stdin_open_are_taken_as_written(tmp_path):
    app = container(tmp_path, "runtime = 'runc'\nstdin_open = true")
    assert (app.runtime, app.stdin_open) == ("runc", True)


# -- gpus, storage_opt, tmpfs, device cgroup rules -----------------------------------------------


def test_gpus_all_asks_for_every_gpu(tmp_path):
    assert container(tmp_path, "gpus = 'all'").gpus == (GpuRequest(count=-1),)


def test_a_gpu_entry_takes_composes_fields(tmp_path):
    app = container(tmp_path, "gpus = [{ driver = 'nvidia', device_ids = ['0', '3'], capabilities = ['gpu', 'utility'],"
                              " options = { x = 1 } }, { count = 'all' }]")
    assert app.gpus == (GpuRequest("nvidia", None, ("0", "3"), ("gpu", "utility"), {"x": "1"}), GpuRequest(count=-1))


def test_a_gpu_entry_with_both_count_and_device_ids_is_an_error(tmp_path):
    assert _errors(tmp_path, "gpus = [{ count = 1, device_ids = ['0'] }]") == [
        "a.toml:3: container.web.gpus[0]: count and device_ids exclude each other"]


def test_storage_opt_is_a_string_map_whose_size_is_a_size(tmp_path):
    assert container(tmp_path, "storage_opt = { size = '20G' }").storage_opt == {"size": "20G"}
    assert _errors(tmp_path, "storage_opt = { size = 'big' }") == [
        "a.toml:3: container.web.storage_opt: not a size: 'big'"]


def test_tmpfs_takes_a_path_or_paths_with_mount_options(tmp_path):
    assert container(tmp_path, "tmpfs = '/run'").tmpfs == {"/run": ""}
    app = container(tmp_path, "tmpfs = ['/tmp/', '/run:size=64m,mode=1777,noexec']")
    assert app.tmpfs == {"/run": "size=64m,mode=1777,noexec", "/tmp": ""}


@pytest.mark.parametrize("entry, message", [
    ("/run:colour=red", "'colour=red' is not a tmpfs option: expected size=, mode=, uid=, gid=, nr_inodes=,"
                        " nr_blocks=, mpol=, or a mount flag such as noexec"),
    ("/run:mode=999", "'mode=999' is not a tmpfs option the kernel takes: expected octal file mode bits such as 1777"),
    ("/run:size=lots", "'size=lots' is not a tmpfs option the kernel takes: expected a whole number of bytes with an"
                       " optional k, m or g suffix (64m), or a percentage of RAM (50%)"),
])
def test_a_tmpfs_option_the_engine_would_refuse_is_an_error(tmp_path, entry, message):
    assert _errors(tmp_path, f"tmpfs = ['{entry}']") == [f"a.toml:3: container.web.tmpfs[0]: {message}"]


def test_a_relative_tmpfs_path_is_refused_by_the_schema(tmp_path):
    (message,) = _errors(tmp_path, "tmpfs = ['run']")
    assert message.startswith("a.toml:3: container.web.tmpfs[0]: ")


def test_a_tmpfs_path_that_is_also_a_mount_target_is_an_error(tmp_path):
    body = "tmpfs = ['/data']\nmounts = [{ type = 'tmpfs', target = '/data' }]"
    assert _errors(tmp_path, body) == [
        "a.toml:3: container.web.tmpfs: /data is also a mount target: the engine refuses a duplicate mount point"]


def test_device_cgroup_rules_are_taken_as_the_engine_parses_them(tmp_path):
    app = container(tmp_path, "device_cgroup_rules = ['c 1:3 mr', 'a *:* rwm', 'b 8:* r']")
    assert app.device_cgroup_rules == ("c 1:3 mr", "a *:* rwm", "b 8:* r")


@pytest.mark.parametrize("rule", ["c 1:3", "x 1:3 r", "c 1 r", "c 1:3 rwx"])
def test_a_device_cgroup_rule_the_engine_cannot_parse_is_an_error(tmp_path, rule):
    assert _errors(tmp_path, f"device_cgroup_rules = ['{rule}']") == [
        f"a.toml:3: container.web.device_cgroup_rules[0]: '{rule}' is not a device cgroup rule: expected TYPE"
        " MAJOR:MINOR PERMISSIONS such as 'c 1:3 mr' or 'a *:* rwm' (type a, b or c; numbers or *; permissions of"
        " r, w, m)"]


# -- references ----------------------------------------------------------------------------------


def test_an_ipc_or_pid_container_must_be_declared(tmp_path):
    files = {"b.toml": "[container.db]\nimage = 'demo'\n"}
    assert _errors(tmp_path, "ipc = 'container:dbb'\npid = 'service:db'", files) == [
        "a.toml:3: container.web.ipc: container 'dbb' is not declared (did you mean 'db'?)"]


def test_a_cycle_through_ipc_and_pid_is_an_error_naming_the_cycle(tmp_path):
    files = {"b.toml": "[container.db]\nimage = 'demo'\nipc = 'container:web'\n"}
    assert _errors(tmp_path, "pid = 'container:db'", files) == [
        "b.toml:3: container.db.ipc: dependency cycle: db -> web -> db"]
