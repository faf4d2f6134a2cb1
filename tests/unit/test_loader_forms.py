"""Short and long forms of every key normalise into the same model, with defaults applied."""

import os

from reconciler.commands.render import plan_text
from reconciler.converge import make_plan
from reconciler.fields import (
    Dependency,
    Device,
    Healthcheck,
    Logging,
    Mount,
    NetworkAttachment,
    PortMapping,
    Resources,
    Ulimit,
    UpdatePolicy,
)
from reconciler.model import Source, spec_hash
from reconciler.options import PlanOptions
from runtime.base import ObservedState
from tests.unit.desired import container, load_texts


def test_a_minimal_container_gets_every_default(tmp_path):
    app = container(tmp_path, "")
    assert (app.name, app.image, app.pull, app.restart, app.state) == ("app", "demo", "missing", "no", "running")
    assert app.command is None and app.entrypoint is None and app.healthcheck is None
    assert app.update == UpdatePolicy("stop-first", 60.0)
    assert app.resources == Resources()
    assert app.source == Source("app.toml", 1)


def test_every_spec_remembers_its_file_and_header_line(tmp_path):
    result = load_texts(tmp_path, {"sub/x.toml": "# x\n\n[network.net]\n\n[volume]\ndata = {}\n"})
    assert result.state.networks["net"].source == Source("sub/x.toml", 3)
    assert result.state.volumes["data"].source == Source("sub/x.toml", 6)


def test_command_as_a_string_is_split_like_a_shell_and_equals_the_list_form(tmp_path):
    as_string = container(tmp_path / "a", "command = \"sh -c 'echo hi there'\"")
    as_list = container(tmp_path / "b", "command = ['sh', '-c', 'echo hi there']")
    assert as_string.command == as_list.command == ("sh", "-c", "echo hi there")


def test_entrypoint_accepts_both_forms(tmp_path):
    assert container(tmp_path, "entrypoint = '/bin/sh -c'").entrypoint == ("/bin/sh", "-c")


def test_port_short_forms(tmp_path):
    ports = "[80, '8080', '8081:81', '127.0.0.1:8082:82/udp', '[::1]::83', '0.0.0.0:84:84/sctp']"
    app = container(tmp_path, f"ports = {ports}")
    assert app.ports == (
        PortMapping(80),
        PortMapping(8080),
        PortMapping(81, host_port=8081),
        PortMapping(82, "udp", "127.0.0.1", 8082),
        PortMapping(83, host_ip="::1"),
        PortMapping(84, "sctp", "0.0.0.0", 84),
    )


def test_port_long_form_equals_the_short_form(tmp_path):
    table = "{ target = 80, published = '8080', host_ip = '127.0.0.1', protocol = 'udp' }"
    long = container(tmp_path / "a", f"ports = [{table}]")
    short = container(tmp_path / "b", "ports = ['127.0.0.1:8080:80/udp']")
    assert long.ports == short.ports == (PortMapping(80, "udp", "127.0.0.1", 8080),)


def test_mount_short_forms(tmp_path):
    app = container(tmp_path, "mounts = ['data:/srv', '/etc/ssl/certs:/certs:ro', './site:/www:rw', '../up:/up']\n"
                              "[volume.data]\n")
    assert app.mounts == (
        Mount("volume", "/srv", "data"),
        Mount("bind", "/certs", "/etc/ssl/certs", read_only=True, create_host_path=True),
        Mount("bind", "/www", str(tmp_path / "site"), create_host_path=True),
        Mount("bind", "/up", str(tmp_path.parent / "up"), create_host_path=True),
    )


def test_mount_long_forms_hash_as_the_short_forms_which_alone_create_a_missing_host_path(tmp_path):
    long = container(tmp_path / "a", """\
        mounts = [
          { type = 'volume', source = 'data', target = '/srv' },
          { type = 'bind', source = '/etc/ssl/certs', target = '/certs', read_only = true },
        ]
        [volume.data]
        """)
    short = container(tmp_path / "b", "mounts = ['data:/srv', '/etc/ssl/certs:/certs:ro']\n[volume.data]\n")
    assert spec_hash(long) == spec_hash(short)
    assert [m.create_host_path for m in long.mounts] == [False, False]
    assert [m.create_host_path for m in short.mounts] == [False, True]


def test_each_mount_knows_its_line_which_is_outside_the_hash(tmp_path):
    text = "[container.app]\nimage = 'demo'\n\nmounts = ['/a:/a']\n[container.two]\nimage = 'demo'\nmounts = [\n" \
           "  '/a:/a',\n  { type = 'bind', source = '/b', target = '/b' },\n]\n"
    state = load_texts(tmp_path / "a", {"x.toml": text}).state
    assert [m.line for m in state.containers["app"].mounts] == [4]
    assert [m.line for m in state.containers["two"].mounts] == [8, 9]
    moved = load_texts(tmp_path / "b", {"x.toml": "\n\n" + text}).state
    assert spec_hash(moved.containers["two"]) == spec_hash(state.containers["two"])
    assert moved.containers["two"].mounts == state.containers["two"].mounts


def test_a_missing_long_form_bind_is_reported_at_the_line_of_its_mount(tmp_path):
    text = "[container.web]\nimage = 'localhost/demo:1'\nenv = { A = '1' }\n\n" \
           "mounts = [{ type = 'bind', source = '/no/such/dir', target = '/data' }]\n"
    state = load_texts(tmp_path, {"x.toml": text}).state
    plan = make_plan(state, ObservedState(), "ns", PlanOptions(missing_paths=frozenset({"/no/such/dir"})))
    assert "    blocked: bind source /no/such/dir, declared at x.toml:5 does not exist on this host (the long form" \
           " needs it)" in plan_text(plan).splitlines()


def test_a_tmpfs_mount_takes_a_size(tmp_path):
    app = container(tmp_path, "mounts = [{ type = 'tmpfs', target = '/tmp', tmpfs_size = '64m' }]")
    assert app.mounts == (Mount("tmpfs", "/tmp", tmpfs_size=64 * 1024**2),)


def test_networks_as_a_list_equal_the_table_form_without_options(tmp_path):
    networks = "[network.front]\n[network.back]\n"
    app = "[container.app]\nimage = 'd'\n"
    as_list = load_texts(tmp_path / "a", {"n.toml": networks, "c.toml": app + "networks = ['front', 'back']"})
    as_table = load_texts(tmp_path / "b", {"n.toml": networks, "c.toml": app + "networks = { back = {}, front = {} }"})
    assert as_list.state.containers["app"].networks == as_table.state.containers["app"].networks == (
        NetworkAttachment("back"), NetworkAttachment("front"))


def test_a_network_attachment_takes_aliases_and_an_address(tmp_path):
    files = {
        "n.toml": "[network.front]\nsubnet = '172.30.0.0/24'\n",
        "c.toml": "[container.app]\nimage = 'd'\n"
                  "networks = { front = { aliases = ['www'], ipv4_address = '172.30.0.9' } }\n",
    }
    app = load_texts(tmp_path, files).state.containers["app"]
    assert app.networks == (NetworkAttachment("front", ("www",), "172.30.0.9"),)


def test_depends_on_as_a_list_means_started(tmp_path):
    files = {"c.toml": "[container.app]\nimage='d'\ndepends_on=['db']\n[container.db]\nimage='d'\n"}
    assert load_texts(tmp_path, files).state.containers["app"].depends_on == (Dependency("db", "started"),)


def test_depends_on_as_a_table_takes_a_condition_short_or_long(tmp_path):
    files = {"c.toml": """\
        [container.app]
        image = 'd'
        depends_on = { db = 'healthy', job = { condition = 'completed' } }
        [container.db]
        image = 'd'
        healthcheck = { test = ['CMD', 'true'] }
        [container.job]
        image = 'd'
        """}
    assert load_texts(tmp_path, files).state.containers["app"].depends_on == (
        Dependency("db", "healthy"), Dependency("job", "completed"))


def test_env_and_labels_accept_tables_or_lists_and_stringify_scalars(tmp_path):
    table = container(tmp_path / "a", "env = { B = 2, A = 'x=y', C = true }\nlabels = { tier = 'front' }")
    listed = container(tmp_path / "b", "env = ['A=x=y', 'B=2', 'C=true']\nlabels = ['tier=front']")
    assert table.env == listed.env == {"A": "x=y", "B": "2", "C": "true"}
    assert table.labels == listed.labels == {"tier": "front"}


def test_env_file_is_read_relative_to_the_toml_file_and_env_wins(tmp_path):
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "app.env").write_text("# settings\nA=from-file\nB='kept as is'\nexport C=\"c\\n\"\n")
    result = load_texts(tmp_path, {"apps/app.toml": """\
        [container.app]
        image = 'd'
        env_file = 'app.env'
        env = { A = 'from-env' }
        """})
    assert result.state.containers["app"].env == {"A": "from-env", "B": "kept as is", "C": "c\n"}


def test_a_missing_env_file_is_an_error_at_its_key(tmp_path):
    result = load_texts(tmp_path, {"app.toml": "[container.app]\nimage = 'd'\nenv_file = ['none.env']\n"})
    assert [str(e) for e in result.errors] == [
        "app.toml:3: container.app.env_file[0]: none.env: cannot read env file: No such file or directory"
    ]


def test_healthcheck_string_test_means_cmd_shell_and_durations_become_seconds(tmp_path):
    app = container(tmp_path, """\
        [container.app.healthcheck]
        test = 'wget -q -O- http://127.0.0.1/'
        interval = '1m30s'
        timeout = 5
        start_period = '500ms'
        retries = 2
        """)
    assert app.healthcheck == Healthcheck(("CMD-SHELL", "wget -q -O- http://127.0.0.1/"), 90.0, 5.0, 2, 0.5)


def test_healthcheck_disable_means_test_none(tmp_path):
    assert container(tmp_path, "healthcheck = { disable = true }").healthcheck == Healthcheck(("NONE",))


def test_resources_sizes_become_bytes(tmp_path):
    app = container(tmp_path, "resources = { memory = '1g', memory_reservation = '512m', shm_size = 65536, cpus = 1.5,"
                              " pids_limit = 100 }")
    assert app.resources == Resources(1024**3, 512 * 1024**2, 1.5, 100, 65536)


def test_ulimits_single_number_means_soft_and_hard(tmp_path):
    app = container(tmp_path, "ulimits = { nproc = 65535, nofile = { soft = 1024, hard = 2048 } }")
    assert app.ulimits == (Ulimit("nofile", 1024, 2048), Ulimit("nproc", 65535, 65535))


def test_restart_on_failure_takes_a_count(tmp_path):
    assert container(tmp_path, "restart = 'on-failure:3'").restart == "on-failure:3"


def test_stop_timeout_is_whole_seconds(tmp_path):
    assert container(tmp_path, "stop_timeout = '1m'").stop_timeout == 60


def test_update_policy(tmp_path):
    assert container(tmp_path, "update = { order = 'start-first', timeout = '2m' }").update == UpdatePolicy(
        "start-first", 120.0)


def test_extra_hosts_forms_and_host_gateway(tmp_path):
    listed = container(tmp_path / "a", "extra_hosts = ['db:10.0.0.2', 'gw=host-gateway', 'v6:::1']")
    assert listed.extra_hosts == ("db:10.0.0.2", "gw:host-gateway", "v6:::1")
    table = container(tmp_path / "b", "extra_hosts = { gw = 'host-gateway', db = '10.0.0.2' }")
    assert table.extra_hosts == ("db:10.0.0.2", "gw:host-gateway")


def test_dns_takes_one_address_or_a_list(tmp_path):
    assert container(tmp_path / "a", "dns = '1.1.1.1'").dns == ("1.1.1.1",)
    assert container(tmp_path / "b", "dns = ['1.1.1.1', '::1']").dns == ("1.1.1.1", "::1")


def test_capabilities_drop_the_cap_prefix(tmp_path):
    app = container(tmp_path, "cap_add = ['CAP_NET_ADMIN', 'SYS_TIME']\ncap_drop = ['ALL']")
    assert (app.cap_add, app.cap_drop) == (("NET_ADMIN", "SYS_TIME"), ("ALL",))


def test_the_remaining_container_keys(tmp_path):
    app = container(tmp_path, """\
        working_dir = '/srv'
        user = '1000:1000'
        hostname = 'app-1'
        privileged = true
        read_only = true
        init = true
        tty = true
        security_opt = ['no-new-privileges:true']
        devices = ['/dev/fuse:/dev/fuse:rwm', '/dev/null:r', '/dev/zero:/dev/z', '/dev/full:/dev/f:wr', '/dev/kvm']
        sysctls = { 'net.core.somaxconn' = 1024 }
        stop_signal = 'SIGINT'
        logging = { driver = 'json-file', options = { max-size = '10m' } }
        """)
    assert (app.working_dir, app.user, app.hostname) == ("/srv", "1000:1000", "app-1")
    assert app.privileged and app.read_only and app.init and app.tty
    assert app.security_opt == ("no-new-privileges:true",)
    assert app.devices == (Device("/dev/fuse", "/dev/fuse", "rwm"), Device("/dev/null", "/dev/null", "r"),
                           Device("/dev/zero", "/dev/z", "rwm"), Device("/dev/full", "/dev/f", "rw"),
                           Device("/dev/kvm", "/dev/kvm", "rwm"))
    assert app.sysctls == {"net.core.somaxconn": "1024"}
    assert app.stop_signal == "SIGINT"
    assert app.logging == Logging("json-file", {"max-size": "10m"})


def test_network_and_volume_keys(tmp_path):
    state = load_texts(tmp_path, {"a.toml": """\
        [network.net]
        driver = 'bridge'
        subnet = '10.1.0.0/16'
        gateway = '10.1.0.1'
        ip_range = '10.1.2.0/24'
        internal = true
        attachable = true
        options = { 'com.docker.network.bridge.name' = 'br-net' }
        labels = { tier = 'front' }

        [volume.data]
        driver = 'local'
        options = { type = 'tmpfs', device = 'tmpfs' }
        """}).state
    net = state.networks["net"]
    assert (net.subnet, net.gateway, net.ip_range, net.internal, net.attachable) == (
        "10.1.0.0/16", "10.1.0.1", "10.1.2.0/24", True, True)
    assert net.options == {"com.docker.network.bridge.name": "br-net"}
    assert state.volumes["data"].options == {"device": "tmpfs", "type": "tmpfs"}


def test_resources_may_be_written_as_dotted_keys_or_inline_or_subtables(tmp_path):
    subtable = container(tmp_path / "a", "[container.app.resources]\nmemory = '64m'\n")
    dotted = container(tmp_path / "b", "resources.memory = '64m'\n")
    inline = container(tmp_path / "c", "resources = { memory = 67108864 }\n")
    assert subtable.resources == dotted.resources == inline.resources == Resources(memory=64 * 1024**2)


def test_bind_sources_are_never_looked_at_on_the_host(tmp_path, monkeypatch):
    def refuse(real):
        def check(path, *args, **kwargs):
            assert "nowhere" not in str(path), f"validation looked at {path}"
            return real(path, *args, **kwargs)
        return check

    for name in ("stat", "lstat", "access", "open"):
        monkeypatch.setattr(os, name, refuse(getattr(os, name)))
    app = container(tmp_path, "mounts = ['/nowhere/a:/a', { type = 'bind', source = '/nowhere/b', target = '/b' }]")
    assert [m.source for m in app.mounts] == ["/nowhere/a", "/nowhere/b"]
