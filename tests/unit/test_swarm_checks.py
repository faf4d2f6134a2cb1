"""`reconciler.swarm.checks`: each value Swarm cannot run is an error at FILE:LINE: key naming
the field and why; depends_on, a named volume on an unpinned service, pull and a short-form bind
are warnings; what the ServiceSpec has a field for passes."""

import pytest

from reconciler.commands.cli import main
from reconciler.desired.hosts import placer
from reconciler.swarm.checks import problems
from tests.unit.desired import load_texts, write


def checked(tmp_path, body: str, extra: str = "") -> tuple[list[str], list[str]]:
    """(errors, warnings) as printed, of the container `web` with this body (after its image line)."""
    files = {"a.toml": "[container.web]\nimage = 'x'\n" + body + extra}
    result = load_texts(tmp_path, files)
    assert result.errors == (), [str(e) for e in result.errors]
    errors, warnings = problems(result.state, placer(tmp_path))
    return [str(p) for p in errors], [str(p) for p in warnings]


@pytest.mark.parametrize(("body", "key", "why"), [
    ("privileged = true\n", "privileged", "privileged = true: Swarm cannot run it: Swarm runs no privileged task"),
    ("devices = ['/dev/fuse']\n", "devices", "devices: Swarm cannot run it: Swarm maps no host device"),
    ("network_mode = 'host'\n", "network_mode", 'network_mode = "host": Swarm cannot run it: a service joins networks'),
    ("network_mode = 'none'\n", "network_mode", 'network_mode = "none": Swarm cannot run it'),
    ("network_mode = 'bridge'\n", "network_mode", 'network_mode = "bridge": Swarm cannot run it'),
    ("pid = 'host'\n", "pid", 'pid = "host": Swarm cannot run it: Swarm shares no PID namespace'),
    ("ipc = 'host'\n", "ipc", 'ipc = "host": Swarm cannot run it: Swarm shares no IPC namespace'),
    ("uts = 'host'\n", "uts", 'uts = "host": Swarm cannot run it'),
    ("userns_mode = 'host'\n", "userns_mode", 'userns_mode = "host": Swarm cannot run it'),
    ("cgroup = 'host'\n", "cgroup", 'cgroup = "host": Swarm cannot run it'),
    ("cgroup_parent = 'mine'\n", "cgroup_parent", 'cgroup_parent = "mine": Swarm cannot run it'),
    ("device_cgroup_rules = ['c 1:3 mr']\n", "device_cgroup_rules", "device_cgroup_rules: Swarm cannot run it"),
    ("gpus = 'all'\n", "gpus", "gpus: Swarm cannot run it: Swarm places GPUs as generic resources"),
    ("oom_kill_disable = true\n", "oom_kill_disable", "oom_kill_disable = true: Swarm cannot run it"),
    ("oom_score_adj = 100\n", "oom_score_adj", "oom_score_adj: Swarm cannot run it"),
    ("mac_address = '02:42:ac:11:00:99'\n", "mac_address", 'mac_address = "02:42:ac:11:00:99": Swarm cannot run it'),
    ("runtime = 'runc'\n", "runtime", 'runtime = "runc": Swarm cannot run it: TaskTemplate.Runtime'),
    ("storage_opt = { size = '1g' }\n", "storage_opt", "storage_opt: Swarm cannot run it"),
    ("security_opt = ['no-new-privileges']\n", "security_opt", "security_opt: Swarm cannot run it: Privileges"),
    ("tmpfs = ['/run']\n", "tmpfs", "tmpfs: Swarm cannot run it: write the tmpfs as a mount instead"),
    ("annotations = { a = 'b' }\n", "annotations", "annotations: Swarm cannot run it"),
    ("domainname = 'example.org'\n", "domainname", 'domainname = "example.org": Swarm cannot run it'),
    ("expose = [3000]\n", "expose", "expose: Swarm cannot run it: a service's tasks reach each other"),
    ("platform = 'linux/amd64'\n", "platform", 'platform = "linux/amd64": Swarm cannot run it'),
    ("post_start = [{ command = ['true'] }]\n", "post_start", "post_start: Swarm cannot run it"),
    ("pre_stop = [{ command = ['true'] }]\n", "pre_stop", "pre_stop: Swarm cannot run it"),
    ("adopt = true\n", "adopt", "adopt = true: Swarm cannot run it: a service is not taken over"),
    ("drift = 'alert'\n", "drift", 'drift = "alert": Swarm heals its tasks itself'),
    ("state = 'stopped'\n", "state", 'state = "stopped": a service has no stopped state: write replicas = 0'),
    ("mode = 'global'\nreplicas = 2\n", "replicas", 'replicas = 2: mode = "global" runs one task on each node'),
    ("cpu_shares = 512\n", "cpu_shares", "Swarm cannot run it: Resources of API 1.41 have NanoCPUs"),
    ("cpuset = '0'\n", "cpuset", "Swarm cannot run it"),
    ("mem_swappiness = 10\n", "mem_swappiness", "Swarm cannot run it"),
    ("resources = { memory = '64m' }\nmemswap_limit = '128m'\n", "memswap_limit", "Swarm cannot run it"),
    ("blkio_config = { weight = 300 }\n", "blkio_config", "Swarm cannot run it"),
])
def test_a_value_swarm_cannot_run_is_an_error_naming_its_key_and_why(tmp_path, body, key, why):
    errors, _ = checked(tmp_path, body)
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"a.toml:{_line(body, key)}: container.web.{key}: {why}")


def _line(body: str, key: str) -> int:
    """The line of `key` in the file `checked` writes (the container's table is line 1)."""
    return 3 + next(index for index, line in enumerate(body.splitlines()) if line.startswith(key))


def test_shm_size_is_an_error_saying_to_mount_a_tmpfs_at_dev_shm(tmp_path):
    errors, _ = checked(tmp_path, "resources = { shm_size = '64m' }\n")
    assert errors == ['a.toml:3: container.web.resources.shm_size: Swarm cannot run it: mount a tmpfs at /dev/shm '
                      'instead: mounts = [{ type = "tmpfs", target = "/dev/shm", tmpfs = { size = "64m" } }]']


def test_shm_size_written_at_the_container_is_reported_at_its_own_line_and_name(tmp_path):
    errors, _ = checked(tmp_path, "user = 'app'\nshm_size = '64m'\n")
    assert errors[0].startswith("a.toml:4: container.web.shm_size: Swarm cannot run it: mount a tmpfs at /dev/shm")


def test_shm_size_in_a_resources_table_is_reported_at_its_line_in_the_table(tmp_path):
    errors, _ = checked(tmp_path, "user = 'app'\n", "[container.web.resources]\nmemory = '64m'\nshm_size = '64m'\n")
    assert errors[0].startswith("a.toml:6: container.web.resources.shm_size: Swarm cannot run it")


@pytest.mark.parametrize("key", ["cpu_shares", "cpu_period", "cpu_quota", "cpuset", "cpu_rt_period",
                                 "cpu_rt_runtime", "mem_swappiness", "blkio_config"])
def test_a_limit_written_at_the_container_is_reported_at_its_own_line(tmp_path, key):
    value = {"cpuset": "'0'", "blkio_config": "{ weight = 300 }", "cpu_period": "100000",
             "cpu_quota": "50000"}.get(key, "100")
    errors, _ = checked(tmp_path, f"user = 'app'\n{key} = {value}\n")
    assert errors[0].startswith(f"a.toml:4: container.web.{key}: Swarm cannot run it"), errors


def test_volumes_from_is_an_error_at_its_line(tmp_path):
    write(tmp_path, {"b.toml": "[container.db]\nimage = 'x'\n"})
    errors, _ = checked(tmp_path, "volumes_from = ['db']\n")
    assert errors[0].startswith("a.toml:3: container.web.volumes_from: volumes_from: Swarm cannot run it: a task "
                                "cannot mount another container's volumes")


def test_a_static_ipv4_address_is_an_error_at_the_address(tmp_path):
    errors, _ = checked(tmp_path, "[container.web.networks.front]\nipv4_address = '172.30.0.5'\n",
                        "[network.front]\nsubnet = '172.30.0.0/24'\n")
    assert errors == ["a.toml:4: container.web.networks.front.ipv4_address: Swarm cannot give a task a static "
                      "address: the overlay network's IPAM gives each task its own"]


def test_a_port_bound_to_a_host_address_is_an_error_at_the_port(tmp_path):
    errors, _ = checked(tmp_path, "ports = ['127.0.0.1:8080:80']\n")
    assert errors == ['a.toml:3: container.web.ports[0]: host_ip = "127.0.0.1": Swarm publishes on every address of '
                      "the node (EndpointSpec's ports have no host address)"]


def test_a_build_is_an_error_saying_to_push_the_image(tmp_path):
    write(tmp_path, {"app/Dockerfile": "FROM scratch\n"})
    errors, _ = checked(tmp_path, "build = { context = './app' }\n")
    assert errors == ['a.toml:3: container.web.build: build: Swarm cannot run it: each node pulls the image from a '
                      "registry: build and push it, then name the pushed image"]


def test_a_healthcheck_start_interval_is_an_error_at_its_key(tmp_path):
    errors, _ = checked(tmp_path, "healthcheck = { test = 'true', start_interval = '2s' }\n")
    assert errors == ["a.toml:3: container.web.healthcheck.start_interval: Swarm cannot run it: the ServiceSpec of "
                      "API 1.41 has no field for it (API 1.44 added it)"]


def test_a_network_of_another_driver_is_an_error_at_its_driver(tmp_path):
    write(tmp_path, {"n.toml": "[network.lan]\ndriver = 'macvlan'\n"})
    errors, _ = checked(tmp_path, "")
    assert errors == ['n.toml:2: network.lan.driver: driver = "macvlan": on Swarm every network is an overlay '
                      "network (bridge and overlay are taken, as overlay)"]


def test_what_the_service_spec_has_a_field_for_passes(tmp_path):
    assert checked(tmp_path, "init = true\nread_only = true\ntty = true\nstdin_open = true\nhostname = 'h'\n"
                             "cap_add = ['NET_ADMIN']\ncap_drop = ['ALL']\nsysctls = { 'net.core.somaxconn' = 1024 }\n"
                             "ulimits = { nofile = 1024 }\ndns = ['1.1.1.1']\ndns_search = ['example.org']\n"
                             "extra_hosts = ['db:10.0.0.2']\nstop_signal = 'SIGINT'\nstop_timeout = '5s'\n"
                             "group_add = ['100']\nrestart = 'on-failure:3'\nreplicas = 3\n"
                             "update = { parallelism = 2, delay = '5s' }\n"
                             "resources = { memory = '64m', memory_reservation = '32m', cpus = 0.5 }\n"
                             "pids_limit = 100\n"
                             "ports = [{ target = 80, published = 8080, mode = 'ingress' }]\n"
                             "mounts = [{ type = 'tmpfs', target = '/run' }]\n") == ([], [])


def test_depends_on_is_a_warning_that_swarm_has_no_start_order(tmp_path):
    write(tmp_path, {"b.toml": "[container.db]\nimage = 'x'\n"})
    assert checked(tmp_path, "depends_on = ['db']\n") == ([], [
        "a.toml:3: container.web.depends_on: Swarm has no start order: the services start together "
        "(as docker stack deploy says)"])


def test_pull_is_a_warning_that_it_changes_nothing(tmp_path):
    _, warnings = checked(tmp_path, "pull = 'always'\n")
    assert warnings == ['a.toml:3: container.web.pull: pull = "always": each node pulls the image by the digest the '
                        "manager resolved from its registry at each plan; pull changes nothing on Swarm"]


def test_a_named_volume_on_an_unpinned_service_is_a_warning(tmp_path):
    _, warnings = checked(tmp_path, "mounts = ['data:/srv']\n", "[volume.data]\n")
    assert _of_web(warnings) == ["a.toml:3: container.web.mounts[0]: volume data lives on one node: a task "
                                 "rescheduled on another node starts with an empty volume; pin the service to one "
                                 'node (hosts = ["NODE"]) or use a volume driver shared by the nodes']


def test_a_named_volume_on_a_service_pinned_to_one_node_is_no_warning(tmp_path):
    errors, warnings = checked(tmp_path, "mounts = ['data:/srv']\nhosts = ['node-1']\n", "[volume.data]\n")
    assert (errors, _of_web(warnings)) == ([], [])


def test_a_glob_does_not_pin_a_service_with_a_named_volume(tmp_path):
    _, warnings = checked(tmp_path, "mounts = ['data:/srv']\nhosts = ['node-*']\n", "[volume.data]\n")
    assert len(_of_web(warnings)) == 1 and "volume data lives on one node" in warnings[0]


def test_a_volume_of_a_shared_driver_is_no_warning(tmp_path):
    errors, warnings = checked(tmp_path, "mounts = ['data:/srv']\n", "[volume.data]\ndriver = 'nfs-shared'\n")
    assert (errors, _of_web(warnings)) == ([], [])


def _of_web(warnings: list[str]) -> list[str]:
    """The warnings about the container `web` (a declared volume's own are left out)."""
    return [w for w in warnings if ": container.web." in w]


def test_a_declared_volume_warns_that_each_node_makes_it(tmp_path):
    _, warnings = checked(tmp_path, "", "[volume.data]\n")
    assert warnings == ["a.toml:3: volume.data: volumes are made by each node when a task first mounts them: on Swarm "
                        "the reconciler creates, updates and removes no volume"]


@pytest.mark.parametrize(("line", "key"), [("driver = 'nfs'", "driver"), ("options = { type = 'tmpfs' }", "options"),
                                           ("labels = { team = 'a' }", "labels")])
def test_a_volume_key_warns_at_its_line_that_a_node_applies_it_once_when_it_makes_the_volume(tmp_path, line, key):
    _, warnings = checked(tmp_path, "", f"[volume.data]\n{line}\n")
    assert warnings[1] == (f"a.toml:4: volume.data.{key}: {key}: applied by each node when a task first mounts the "
                           "volume there; a later change is not applied to a volume a node already has (remove it "
                           "there to have it made again)")


def test_a_volume_hosts_warns_at_its_line_that_swarm_does_not_apply_it(tmp_path):
    _, warnings = checked(tmp_path, "", "[volume.data]\nhosts = ['node-1']\n")
    assert warnings[1] == ("a.toml:4: volume.data.hosts: hosts: not applied on Swarm: each node that runs a task "
                           "mounting the volume makes it; place the services with their own hosts")


def test_adopt_on_a_network_is_an_error_at_its_line(tmp_path):
    errors, _ = checked(tmp_path, "", "[network.front]\nadopt = true\n")
    assert errors == ["a.toml:4: network.front.adopt: adopt = true: Swarm cannot run it: an overlay network is not "
                      "taken over; remove the unowned network, or name this one differently"]


def test_hosts_on_a_network_is_an_error_at_its_line(tmp_path):
    errors, _ = checked(tmp_path, "", "[network.front]\nhosts = ['node-2']\n")
    assert errors == ["a.toml:4: network.front.hosts: hosts: Swarm cannot run it: an overlay network spans the swarm, "
                      "on every node a task of a service on it runs; place the services with their own hosts"]


def test_replicas_with_a_host_mode_published_port_warn_that_one_task_per_node_can_run(tmp_path):
    _, warnings = checked(tmp_path, "replicas = 2\nports = [{ target = 80, published = 8080, mode = 'host' }]\n")
    assert warnings == ["a.toml:4: container.web.ports[0]: replicas = 2 with host-mode port 8080: a host-mode port is "
                        "taken on the node by one task: at most one task per node can run (the others stay pending: "
                        '"no suitable node"); publish it in ingress mode or run no more replicas than nodes']


@pytest.mark.parametrize("body", ["replicas = 1\nports = [{ target = 80, published = 8080, mode = 'host' }]\n",
                                  "replicas = 2\nports = [{ target = 80, published = 8080 }]\n",
                                  "mode = 'global'\nports = [{ target = 80, published = 8080, mode = 'host' }]\n"])
def test_one_task_per_node_with_a_host_mode_port_or_an_ingress_port_is_no_warning(tmp_path, body):
    assert checked(tmp_path, body) == ([], [])


def test_a_short_form_bind_warns_that_swarm_does_not_create_its_source(tmp_path):
    _, warnings = checked(tmp_path, "mounts = ['/srv/www:/www']\n")
    assert warnings == ["a.toml:3: container.web.mounts[0]: /srv/www: Swarm does not create a missing bind source: "
                        "it must exist on every node that may run a task"]


def test_without_the_files_a_problem_is_placed_at_the_container(tmp_path):
    result = load_texts(tmp_path, {"a.toml": "# web\n[container.web]\nimage = 'x'\nprivileged = true\n"})
    errors, _ = problems(result.state)
    assert [(p.file, p.line, p.key) for p in errors] == [("a.toml", 2, "container.web.privileged")]


def test_validate_on_the_swarm_target_prints_each_error_and_exits_1(tmp_path, capsys):
    write(tmp_path, {"a.toml": "[container.web]\nimage = 'x'\nprivileged = true\ndepends_on = ['db']\n",
                     "b.toml": "[container.db]\nimage = 'x'\n"})
    assert main(["validate", "--target", "swarm", str(tmp_path)]) == 1
    assert capsys.readouterr() == ("", (
        "warning: a.toml:4: container.web.depends_on: Swarm has no start order: the services start together "
        "(as docker stack deploy says)\n"
        "a.toml:3: container.web.privileged: privileged = true: Swarm cannot run it: Swarm runs no privileged task: "
        "ContainerSpec has no Privileged field (API 1.41)\n"
        "invalid: 1 error\n"))


def test_validate_on_the_swarm_target_takes_what_is_for_other_hosts_as_placement(tmp_path, capsys):
    write(tmp_path, {"a.toml": "[container.web]\nimage = 'x'\nhosts = ['node-1']\nnetworks = ['front']\n",
                     "n.toml": "[network.front]\n"})
    assert main(["validate", "--target", "swarm", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "ok: swarm: 1 container, 1 network, 0 volumes in 2 files\n"


def test_a_start_first_update_with_a_host_mode_port_warns_that_the_update_stalls(tmp_path):
    _, warnings = checked(tmp_path, "update = { order = 'start-first' }\n"
                                    "ports = [{ target = 80, published = 8080, mode = 'host' }]\n")
    assert warnings == ['a.toml:3: container.web.update.order: order = "start-first" with host-mode port 8080: the '
                        "new task cannot start on a node whose old task still holds the port, so the update stalls "
                        '(pending: "host-mode port already in use"); write order = "stop-first" or publish the port '
                        "in ingress mode"]


@pytest.mark.parametrize("body", ["update = { order = 'stop-first' }\n"
                                  "ports = [{ target = 80, published = 8080, mode = 'host' }]\n",
                                  "update = { order = 'start-first' }\nports = [{ target = 80, published = 8080 }]\n"])
def test_a_start_first_update_is_no_warning_without_a_host_mode_port_nor_a_stop_first_one(tmp_path, body):
    assert checked(tmp_path, body)[1] == []
