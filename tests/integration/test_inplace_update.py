"""In-place updates on a real engine, through `reconciler plan` and `apply` as a user runs them:
on Docker one update call keeps the container (same id, same run) and the next plan is empty, and
an update the engine refuses is replaced instead, saying why; Podman 4.3 has no update call, so the
plan replaces the container and says so. Runs on the engine at $DOCKER_HOST."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.integration.agents import eventually

pytestmark = pytest.mark.integration

MB = 2**20


def reconciler(*args: str, namespace: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reconciler", *args, "--namespace", namespace],
                          capture_output=True, text=True, timeout=180)


def declare(directory, name: str, memory: str, extra: str = "") -> None:
    (directory / "app.toml").write_text(
        f'[container.{name}]\nimage = "localhost/demo:1"\ncommand = ["sleep", "3600"]\ninit = true\n'
        f'stop_timeout = 1\nresources = {{ memory = "{memory}" }}\n{extra}'
    )


def podman(docker_client) -> bool:
    return any(c.get("Name") == "Podman Engine" for c in docker_client.version().get("Components") or ())


def recorded_memory(path, container_id: str) -> int | None:
    """The memory limit of the last-applied record of `container_id` (None: no record yet)."""
    records = json.loads(path.read_text()) if path.exists() else {}
    return (((records.get(container_id) or {}).get("spec") or {}).get("resources") or {}).get("memory")


@pytest.fixture
def app(tmp_path, namespace, docker_client):
    """A container declared with a 64m memory limit, applied: (directory, name, its inspect)."""
    name = f"{namespace}-app"
    declare(tmp_path, name, "64m")
    applied = reconciler("apply", str(tmp_path), namespace=namespace)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    return tmp_path, name, docker_client.api.inspect_container(name)


@pytest.fixture
def docker_engine(docker_client):
    if podman(docker_client):
        pytest.skip("Docker's update call; Podman 4.3 has none (see the Podman test)")


@pytest.fixture
def podman_engine(docker_client):
    if not podman(docker_client):
        pytest.skip("Podman 4.3's lack of an update call")


def test_a_raised_memory_limit_is_updated_in_place_and_the_next_plan_is_empty(docker_engine, app, namespace,
                                                                              docker_client):
    directory, name, before = app
    declare(directory, name, "96m", 'restart = "unless-stopped"\n')
    planned = reconciler("plan", str(directory), namespace=namespace)
    assert planned.stdout.splitlines()[:3] == [
        f"% update container {name} (resources changed: resources.memory, restart)",
        '    resources.memory: "64m" -> "96m"',
        '    restart: "no" -> "unless-stopped"',
    ]
    applied = reconciler("apply", str(directory), namespace=namespace)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    after = docker_client.api.inspect_container(name)
    assert (after["Id"], after["State"]["StartedAt"]) == (before["Id"], before["State"]["StartedAt"])
    assert after["HostConfig"]["Memory"] == 96 * MB and after["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    again = reconciler("plan", str(directory), "--detailed-exitcode", namespace=namespace)
    assert (again.returncode, again.stdout) == (0, "No changes: the engine matches the desired state.\n")


def test_a_limit_changed_by_hand_is_updated_back(docker_engine, app, namespace, docker_client):
    directory, name, before = app
    docker_client.api.update_container(name, mem_limit="48m")
    planned = reconciler("plan", str(directory), namespace=namespace)
    assert planned.stdout.splitlines()[:2] == [f"% update container {name} (changed out of band: resources.memory)",
                                               '    resources.memory: "48m" -> "64m"']
    reconciler("apply", str(directory), namespace=namespace)
    after = docker_client.api.inspect_container(name)
    assert (after["Id"], after["HostConfig"]["Memory"]) == (before["Id"], 64 * MB)


def test_an_update_the_engine_refuses_is_replaced_instead_and_says_why(docker_engine, app, namespace, docker_client):
    directory, name, before = app  # created with 64m and no swap limit: Docker gave it 128m of memory plus swap
    declare(directory, name, "256m")
    applied = reconciler("apply", str(directory), namespace=namespace)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    [instead] = [line for line in applied.stdout.splitlines() if line.startswith("instead: ")]
    assert instead.startswith(f"instead: ~ recreate container {name} (resources changed: resources.memory; "
                              f"update refused: update container {before['Id'][:12]}: ")
    assert "memoryswap" in instead
    after = docker_client.api.inspect_container(name)
    assert after["Id"] != before["Id"] and after["HostConfig"]["Memory"] == 256 * MB and after["State"]["Running"]
    again = reconciler("plan", str(directory), "--detailed-exitcode", namespace=namespace)
    assert again.returncode == 0, again.stdout


def test_a_mixed_change_replaces_the_container(docker_engine, app, namespace, docker_client):
    directory, name, before = app
    declare(directory, name, "96m", 'env = { GREETING = "bonjour" }\n')
    planned = reconciler("plan", str(directory), namespace=namespace)
    assert planned.stdout.splitlines()[0] == (
        f"~ recreate container {name} (spec changed: env; resources changed: resources.memory)")
    reconciler("apply", str(directory), namespace=namespace)
    after = docker_client.api.inspect_container(name)
    assert after["Id"] != before["Id"] and after["HostConfig"]["Memory"] == 96 * MB


def test_podman_has_no_update_call_so_the_container_is_replaced_with_the_reason(podman_engine, app, namespace,
                                                                                docker_client):
    directory, name, before = app  # made at form 2 there: its limits are in its hash
    assert before["Config"]["Labels"]["io.reconciler.form"] == "2"
    declare(directory, name, "96m")
    planned = reconciler("plan", str(directory), namespace=namespace)
    version = docker_client.version()["Version"]
    assert planned.stdout.splitlines()[:2] == [
        f"~ recreate container {name} (spec changed: resources; resources changed: resources.memory; cannot update "
        f"in place: podman {version} has no update call (POST /containers/{{id}}/update))",
        '    resources.memory: "64m" -> "96m"',
    ]
    applied = reconciler("apply", str(directory), namespace=namespace)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    after = docker_client.api.inspect_container(name)
    assert after["Id"] != before["Id"] and after["HostConfig"]["Memory"] == 96 * MB
    again = reconciler("plan", str(directory), "--detailed-exitcode", namespace=namespace)
    assert (again.returncode, again.stdout) == (0, "No changes: the engine matches the desired state.\n")


def test_the_agent_updates_in_place_and_its_last_applied_record_follows(docker_engine, desired, namespace,
                                                                         start_agent, docker_client, tmp_path):
    name = f"{namespace}-app"
    declare(desired, name, "64m")
    agent = start_agent()
    agent.wait_converged(name)
    before = docker_client.api.inspect_container(name)
    declare(desired, name, "80m")
    eventually(lambda: docker_client.api.inspect_container(name)["HostConfig"]["Memory"] == 80 * MB,
               "the new limit in inspect")
    agent.wait_converged(name)
    after = docker_client.api.inspect_container(name)
    assert (after["Id"], after["State"]["StartedAt"]) == (before["Id"], before["State"]["StartedAt"])
    applied = tmp_path / "state" / "lastapplied.json"
    eventually(lambda: recorded_memory(applied, after["Id"]) == 80 * MB, "the last-applied record of the update")
    assert list(json.loads(applied.read_text())) == [after["Id"]]
    assert any('"event": "container.updated"' in line and "80m" in line for line in agent.log.read_text().splitlines())


def test_the_agent_updates_back_a_limit_changed_by_hand(docker_engine, desired, namespace, start_agent, docker_client):
    name = f"{namespace}-app"
    declare(desired, name, "64m")
    agent = start_agent()
    agent.wait_converged(name)
    before = docker_client.api.inspect_container(name)
    docker_client.api.update_container(name, mem_limit="48m")
    eventually(lambda: docker_client.api.inspect_container(name)["HostConfig"]["Memory"] == 64 * MB,
               "the declared limit back in inspect")
    assert docker_client.api.inspect_container(name)["Id"] == before["Id"]
