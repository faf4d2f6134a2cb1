"""The file format's Swarm keys (docs/format.md, docs/swarm.md): `replicas`, `mode`, a port's
`mode` and `update`'s parallelism, delay and failure_action; loaded with their defaults, refused
with FILE:LINE: key when malformed, outside the spec hash, and on the host target `replicas` other
than 1 and `mode = "global"` refused by validate, plan and apply alike."""

import subprocess
import sys

from reconciler.commands.cli import main
from reconciler.desired.hosts import placer
from reconciler.desired.targets import host_target
from reconciler.fields import PortMapping, UpdatePolicy
from reconciler.model import spec_hash
from tests.unit.desired import container, errors, load_texts, write


def test_a_container_without_swarm_keys_has_one_replicated_task(tmp_path):
    spec = container(tmp_path, "")
    assert (spec.replicas, spec.mode) == (1, "replicated")


def test_replicas_and_mode_are_loaded_as_written(tmp_path):
    spec = container(tmp_path, 'replicas = 3\n')
    assert spec.replicas == 3
    assert container(tmp_path, 'mode = "global"\n').mode == "global"


def test_replicas_may_be_zero(tmp_path):
    assert container(tmp_path, "replicas = 0\n").replicas == 0


def test_negative_replicas_are_refused_at_their_line(tmp_path):
    assert errors(tmp_path, {"a.toml": "[container.web]\nimage = 'x'\nreplicas = -1\n"}) == [
        "a.toml:3: container.web.replicas: -1 is less than the minimum 0"]


def test_an_unknown_mode_is_refused_at_its_line(tmp_path):
    assert errors(tmp_path, {"a.toml": "[container.web]\nimage = 'x'\nmode = 'daemon'\n"}) == [
        'a.toml:3: container.web.mode: "daemon" is not one of replicated, global']


def test_a_long_form_port_carries_its_publish_mode(tmp_path):
    spec = container(tmp_path, 'ports = [{ target = 80, published = 8080, mode = "host" }]\n')
    assert spec.ports == (PortMapping(80, host_port=8080, mode="host"),)


def test_a_port_is_published_through_the_ingress_unless_told(tmp_path):
    spec = container(tmp_path, 'ports = ["8080:80", { target = 81 }]\n')
    assert [port.mode for port in spec.ports] == ["ingress", "ingress"]


def test_an_unknown_port_mode_is_refused_at_the_port(tmp_path):
    problems = errors(tmp_path, {"a.toml": "[container.web]\nimage = 'x'\nports = [{ target = 80, mode = 'mesh' }]\n"})
    assert len(problems) == 1
    assert problems[0].startswith("a.toml:3: container.web.ports[0]")


def test_the_update_keys_of_swarm_are_loaded_in_seconds(tmp_path):
    spec = container(tmp_path, 'update = { order = "start-first", parallelism = 2, delay = "5s", '
                               'failure_action = "pause", monitor = "10s" }\n')
    assert spec.update == UpdatePolicy(order="start-first", monitor=10.0, parallelism=2, delay=5.0,
                                       failure_action="pause")


def test_the_update_keys_default_to_one_at_a_time_at_once_rolled_back(tmp_path):
    update = container(tmp_path, "").update
    assert (update.parallelism, update.delay, update.failure_action) == (1, 0.0, "rollback")


def test_a_malformed_delay_is_refused_at_its_line(tmp_path):
    problems = errors(tmp_path, {"a.toml": "[container.web]\nimage = 'x'\nupdate = { delay = 'soon' }\n"})
    assert len(problems) == 1
    assert problems[0].startswith("a.toml:3: container.web.update.delay: ")


def test_a_negative_parallelism_and_an_unknown_failure_action_are_refused(tmp_path):
    assert errors(tmp_path, {"a.toml": "[container.web]\nimage = 'x'\n"
                                       "update = { parallelism = -1, failure_action = 'retry' }\n"}) == [
        'a.toml:3: container.web.update.failure_action: "retry" is not one of rollback, pause, continue',
        "a.toml:3: container.web.update.parallelism: -1 is less than the minimum 0",
    ]


def test_the_swarm_keys_leave_the_spec_hash_as_it_was(tmp_path):
    plain = container(tmp_path / "a", 'ports = [{ target = 80 }]\n')
    swarm = container(tmp_path / "b", 'replicas = 3\nmode = "replicated"\nports = [{ target = 80, mode = "host" }]\n'
                                      'update = { parallelism = 0, delay = "1m", failure_action = "continue" }\n')
    assert spec_hash(swarm) == spec_hash(plain)


def test_the_host_target_refuses_several_replicas_at_their_line(tmp_path):
    state = load_texts(tmp_path, {"a.toml": "[container.web]\nimage = 'x'\nreplicas = 3\n"}).state
    assert [str(p) for p in host_target(state, placer(tmp_path))] == [
        "a.toml:3: container.web.replicas: replicas = 3: only --target swarm runs several tasks (or none); "
        "on one host a container is one"]


def test_the_host_target_refuses_the_global_mode_at_its_line(tmp_path):
    state = load_texts(tmp_path, {"a.toml": "[container.web]\nimage = 'x'\nmode = 'global'\n"}).state
    assert [str(p) for p in host_target(state, placer(tmp_path))] == [
        'a.toml:3: container.web.mode: mode = "global": only --target swarm runs a task on each node; '
        "on one host a container is one"]


def test_the_host_target_takes_the_swarm_only_port_mode_and_update_keys(tmp_path):
    state = load_texts(tmp_path, {"a.toml": "[container.web]\nimage = 'x'\nreplicas = 1\n"
                                            "ports = [{ target = 80, mode = 'host' }]\n"
                                            "update = { parallelism = 2, delay = '5s' }\n"}).state
    assert host_target(state, placer(tmp_path)) == []


def test_validate_refuses_replicas_on_the_host_target(tmp_path, capsys):
    write(tmp_path, {"a.toml": "[container.web]\nimage = 'x'\nreplicas = 2\n"})
    assert main(["validate", str(tmp_path)]) == 1
    assert capsys.readouterr().err == (
        "a.toml:3: container.web.replicas: replicas = 2: only --target swarm runs several tasks (or none); "
        "on one host a container is one\ninvalid: 1 error\n")


def test_validate_takes_replicas_on_the_swarm_target(tmp_path, capsys):
    write(tmp_path, {"a.toml": "[container.web]\nimage = 'x'\nreplicas = 2\nmode = 'replicated'\n"})
    assert main(["validate", "--target", "swarm", str(tmp_path)]) == 0
    assert capsys.readouterr() == ("ok: swarm: 1 container, 0 networks, 0 volumes in 1 file\n", "")


def test_plan_refuses_replicas_on_the_host_target_before_reaching_the_engine(tmp_path):
    write(tmp_path, {"a.toml": "[container.web]\nimage = 'x'\nreplicas = 2\n"})
    # a process of its own: `plan` configures the process's logging
    done = subprocess.run([sys.executable, "-m", "reconciler", "plan", "--engine", "unix:///nonexistent.sock",
                           "--state-dir", str(tmp_path / "state"), str(tmp_path)], capture_output=True, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (1, "", (
        "a.toml:3: container.web.replicas: replicas = 2: only --target swarm runs several tasks (or none); "
        "on one host a container is one\n"))
