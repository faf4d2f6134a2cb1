"""The `drift` policy on the real engine: a container stopped, killed, disconnected, or recreated by
hand with our labels copied and another env, under `revert`, `alert` and `ignore` (docs/drift.md).
Engine-neutral: run with DOCKER_HOST on Docker or on Podman."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from tests.conftest import DEMO_IMAGE
from tests.integration.agents import eventually
from tests.integration.test_notifications import Receiver, notify_config, webhook

pytestmark = pytest.mark.integration

ALERTED = 'drift = "alert": reported, not reverted'


def reconciler(directory, namespace, tmp_path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reconciler", "--namespace", namespace, "--state-dir",
                           str(tmp_path / "state"), *args, str(directory)], capture_output=True, text=True, timeout=120)


def app_toml(name: str, network: str, policy: str) -> str:
    return (f'[network.{network}]\n\n[container.{name}]\nimage = "{DEMO_IMAGE}"\ncommand = ["sleep", "3600"]\n'
            f'init = true\nstop_timeout = 1\nenv = {{ GREETING = "hello" }}\nnetworks = ["{network}"]\n'
            f'drift = "{policy}"\n')


def stop(client, name, network):
    client.containers.get(name).stop(timeout=1)


def kill(client, name, network):
    client.containers.get(name).kill()


def disconnect(client, name, network):
    client.networks.get(network).disconnect(name)


def recreate_with_another_env(client, name, network):
    """What someone does with `docker rm -f` and `docker run`, copying our labels."""
    old = client.containers.get(name)
    labels = old.labels
    old.remove(force=True)
    client.containers.run(DEMO_IMAGE, ["sleep", "3600"], name=name, labels=labels, init=True, detach=True,
                          environment={"GREETING": "bonjour"}, network=network)


# what the engine shows after each drift: (state, on the network, GREETING)
DRIFTED = {stop: ("exited", True, "hello"), kill: ("exited", True, "hello"), disconnect: ("running", False, "hello"),
           recreate_with_another_env: ("running", True, "bonjour")}
REASON = {stop: "stopped by hand", kill: "stopped by hand", disconnect: "network detached: {network}",
          recreate_with_another_env: "changed out of band: env.GREETING"}
DRIFTS = pytest.mark.parametrize("drift", list(DRIFTED), ids=lambda f: f.__name__)


def seen(client, name, network) -> tuple[str, bool, str]:
    container = client.containers.get(name)
    env = dict(entry.partition("=")[::2] for entry in container.attrs["Config"]["Env"])
    return container.status, network in container.attrs["NetworkSettings"]["Networks"], env.get("GREETING")


@pytest.fixture
def drifted(tmp_path, names, namespace, docker_client):
    """Apply the app under `policy`, then make `drift`; gives (name, network, the id serving now)."""
    def make(policy, drift):
        directory = tmp_path / "desired"
        directory.mkdir()
        name, network = names("app"), names("front")
        (directory / "app.toml").write_text(app_toml(name, network, policy))
        applied = reconciler(directory, namespace, tmp_path, "apply")
        assert applied.returncode == 0, applied.stdout + applied.stderr
        drift(docker_client, name, network)
        assert seen(docker_client, name, network) == DRIFTED[drift]
        return directory, name, network, docker_client.containers.get(name).id
    return make


@DRIFTS
def test_under_revert_drift_is_healed(drifted, drift, docker_client, namespace, tmp_path):
    directory, name, network, _ = drifted("revert", drift)
    planned = reconciler(directory, namespace, tmp_path, "plan", "--brief")
    assert f"container {name} ({REASON[drift].format(network=network)})" in planned.stdout
    applied = reconciler(directory, namespace, tmp_path, "apply")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert seen(docker_client, name, network) == ("running", True, "hello")
    again = reconciler(directory, namespace, tmp_path, "plan", "--detailed-exitcode")
    assert (again.returncode, again.stdout) == (0, "No changes: the engine matches the desired state.\n")


@DRIFTS
def test_under_alert_drift_is_reported_and_left_as_it_is(drifted, drift, docker_client, namespace, tmp_path):
    directory, name, network, serving = drifted("alert", drift)
    planned = reconciler(directory, namespace, tmp_path, "plan", "--detailed-exitcode")
    assert planned.returncode == 0
    assert planned.stdout.splitlines()[0] == (
        f"? warn container {name} ({REASON[drift].format(network=network)}; {ALERTED})")
    applied = reconciler(directory, namespace, tmp_path, "apply")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert seen(docker_client, name, network) == DRIFTED[drift]
    assert docker_client.containers.get(name).id == serving


@DRIFTS
def test_under_ignore_drift_is_not_looked_at(drifted, drift, docker_client, namespace, tmp_path):
    directory, name, network, serving = drifted("ignore", drift)
    planned = reconciler(directory, namespace, tmp_path, "plan", "--detailed-exitcode")
    assert (planned.returncode, planned.stdout) == (0, "No changes: the engine matches the desired state.\n")
    reconciler(directory, namespace, tmp_path, "apply")
    assert seen(docker_client, name, network) == DRIFTED[drift]
    assert docker_client.containers.get(name).id == serving


@pytest.mark.parametrize("policy", ["alert", "ignore"])
def test_a_declared_change_still_applies_and_undoes_the_drift(drifted, policy, docker_client, namespace, tmp_path):
    directory, name, network, serving = drifted(policy, stop)
    (directory / "app.toml").write_text(app_toml(name, network, policy).replace('"hello"', '"salut"'))
    applied = reconciler(directory, namespace, tmp_path, "apply")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert seen(docker_client, name, network) == ("running", True, "salut")
    assert docker_client.containers.get(name).id != serving


def test_the_agent_reports_a_container_stopped_by_hand_under_alert_as_drifted_and_tells_it_once(
        desired, names, start_agent, docker_client, tmp_path):
    receiver = Receiver()
    try:
        name, network = names("app"), names("front")
        (desired / "app.toml").write_text(app_toml(name, network, "alert"))
        agent = start_agent(extra=("--interval", "1s", "--notify-config",
                                   notify_config(tmp_path, webhook(receiver.port))))
        agent.wait_converged(name)
        docker_client.containers.get(name).stop(timeout=1)
        eventually(lambda: agent.states().get(name) == "drifted", "the container reported drifted")
        [report] = [r for r in agent.status()["resources"] if r["name"] == name]
        assert report["message"] == "stopped by hand"
        passes = agent.passes()
        eventually(lambda: agent.passes() >= passes + 3, "three more passes")
        assert docker_client.containers.get(name).status == "exited"
        assert re.search(r'^reconciler_resources\{state="drifted"\} 1\.0$', agent.get("/metrics")[1], re.M)
        logged = [json.loads(line) for line in agent.log.read_text().splitlines() if '"resource.drifted"' in line]
        assert [(line["resource"], line["reason"]) for line in logged] == [(f"container/{name}", "stopped by hand")]
        [notification] = [a["payload"] for a in receiver.accepted if a["payload"]["kind"] == "drift_found"]
        assert notification["resource"] == f"container/{name}"
        assert notification["message"] == f'container {name} drifted, left as is (drift = "alert"): stopped by hand'
    finally:
        receiver.stop()


@pytest.mark.parametrize(("policy", "first_line"), [
    ("revert", "% update container {name} (changed out of band: resources.memory)"),
    ("alert", "? warn container {name} (changed out of band: resources.memory; " + ALERTED + ")"),
    ("ignore", "No changes: the engine matches the desired state."),
])
def test_a_memory_limit_changed_with_docker_update_under_each_policy(
        policy, first_line, tmp_path, names, namespace, docker_client, engine):
    if not engine.capabilities.in_place_update:
        pytest.skip("this engine has no update call (docs/engines.md): its limits are set at create only")
    directory = tmp_path / "desired"
    directory.mkdir()
    name, network = names("app"), names("front")
    (directory / "app.toml").write_text(app_toml(name, network, policy) + 'resources = { memory = "64m" }\n')
    applied = reconciler(directory, namespace, tmp_path, "apply")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    docker_client.containers.get(name).update(mem_limit="96m", memswap_limit="192m")
    planned = reconciler(directory, namespace, tmp_path, "plan")
    assert planned.stdout.splitlines()[0] == first_line.format(name=name)
    reconciler(directory, namespace, tmp_path, "apply")
    memory = docker_client.containers.get(name).attrs["HostConfig"]["Memory"]
    assert memory == (64 if policy == "revert" else 96) * 2**20


def recreate_with_another_env_and_the_limit(client, name, network):
    """As `recreate_with_another_env`, with the memory limit our container had (64m)."""
    old = client.containers.get(name)
    labels = old.labels
    old.remove(force=True)
    client.containers.run(DEMO_IMAGE, ["sleep", "3600"], name=name, labels=labels, init=True, detach=True,
                          environment={"GREETING": "bonjour"}, network=network, mem_limit="64m")


@pytest.mark.parametrize(("policy", "drift"), [("alert", recreate_with_another_env_and_the_limit),
                                               ("ignore", disconnect)],
                         ids=["alert-env", "ignore-disconnected"])
def test_a_memory_edit_is_one_update_that_leaves_alerted_or_ignored_drift_as_it_is(
        policy, drift, tmp_path, names, namespace, docker_client, engine):
    if not engine.capabilities.in_place_update:
        pytest.skip("this engine has no update call (docs/engines.md): its limits are set at create only")
    directory = tmp_path / "desired"
    directory.mkdir()
    name, network = names("app"), names("front")
    (directory / "app.toml").write_text(app_toml(name, network, policy) + 'resources = { memory = "64m" }\n')
    applied = reconciler(directory, namespace, tmp_path, "apply")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    drift(docker_client, name, network)
    before = docker_client.containers.get(name).attrs
    (directory / "app.toml").write_text(app_toml(name, network, policy) + 'resources = { memory = "96m" }\n')
    planned = reconciler(directory, namespace, tmp_path, "plan")
    assert planned.stdout.splitlines()[0].startswith(f"% update container {name} (resources changed: resources.memory")
    applied = reconciler(directory, namespace, tmp_path, "apply")
    assert applied.returncode == 0 and "instead" not in applied.stdout, applied.stdout + applied.stderr
    after = docker_client.containers.get(name).attrs
    assert (after["Id"], after["HostConfig"]["Memory"]) == (before["Id"], 96 * 2**20)
    assert (after["Config"]["Env"], sorted(after["NetworkSettings"]["Networks"])) == (
        before["Config"]["Env"], sorted(before["NetworkSettings"]["Networks"]))
