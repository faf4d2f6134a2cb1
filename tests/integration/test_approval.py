"""Approval mode end to end: `reconciler run --approve changes` as a process on the real engine,
decided on with the CLI's `reconciler approve ID` and `reconciler reject ID` (docs/agent.md)."""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.integration.agents import RECONCILER, eventually, running, service

pytestmark = pytest.mark.integration


def cli(namespace: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([RECONCILER, "--namespace", namespace, *args], capture_output=True, text=True, timeout=120)


def greeting(docker_client, name: str) -> str:
    container = running(docker_client, name)
    assert container is not None, f"{name} does not run"
    env = dict(item.split("=", 1) for item in container.attrs["Config"]["Env"])
    return env["GREETING"]


def waiting(agent, other_than: str | None = None) -> dict:
    """The pending plan, once one waits (another than `other_than`, when given)."""
    def found():
        shown = agent.status().get("pending_plan")
        return shown if shown and shown["id"] != other_than else None

    return eventually(found, "a plan waits for approval")


@pytest.fixture
def approved(desired, names, namespace, start_agent, docker_client):
    """An agent with --approve changes whose first plan (web, greeting hello) was approved."""
    (desired / "web.toml").write_text(service(names("web")))
    agent = start_agent(extra=("--approve", "changes"))
    first = waiting(agent)
    assert running(docker_client, names("web")) is None
    done = cli(namespace, "approve", first["id"])
    assert done.returncode == 0, done.stderr
    agent.wait_converged(names("web"))
    return agent


def edit(desired, names, text: str) -> None:
    (desired / "web.toml").write_text(service(names("web"), text))


def test_a_file_edit_waits_and_approve_applies_it(approved, desired, names, namespace, docker_client):
    before = running(docker_client, names("web")).id
    edit(desired, names, "bonjour")
    shown = waiting(approved)
    assert [(c["action"], c["name"]) for c in shown["plan"]["changes"]] == [("recreate", names("web"))]
    assert [d["text"] for d in shown["plan"]["changes"][0]["diff"]] == ['env.GREETING: "hello" -> "bonjour"']
    status = cli(namespace, "status")
    assert f"reconciler approve {shown['id']}" in status.stdout
    assert 'env.GREETING: "hello" -> "bonjour"' in status.stdout
    assert running(docker_client, names("web")).id == before and greeting(docker_client, names("web")) == "hello"
    done = cli(namespace, "approve", shown["id"])
    assert done.returncode == 0, done.stderr
    assert greeting(docker_client, names("web")) == "bonjour"
    assert approved.status()["pending_plan"] is None


def test_an_engine_change_between_plan_and_approve_gives_a_new_plan(approved, desired, names, namespace,
                                                                    docker_client):
    edit(desired, names, "bonjour")
    shown = waiting(approved)
    old = running(docker_client, names("web")).id
    docker_client.containers.get(names("web")).remove(force=True)
    eventually(lambda: (c := running(docker_client, names("web"))) and c.id != old, "web is made again")
    waiting(approved, other_than=shown["id"])
    refused = cli(namespace, "approve", shown["id"])
    assert refused.returncode == 1
    fresh = approved.status()["pending_plan"]
    assert f"plan {shown['id']} is not the plan" in refused.stderr and f"pending plan {fresh['id']}" in refused.stderr
    assert greeting(docker_client, names("web")) == "hello"


def test_a_container_removed_by_hand_comes_back_with_its_approved_spec(approved, desired, names, docker_client):
    edit(desired, names, "bonjour")
    waiting(approved)
    old = running(docker_client, names("web")).id
    docker_client.containers.get(names("web")).remove(force=True)
    back = eventually(lambda: (c := running(docker_client, names("web"))) and c.id != old and c,
                      "web is made again")
    assert back.id != old and greeting(docker_client, names("web")) == "hello"


def test_reject_holds_until_the_next_edit(approved, desired, names, namespace, docker_client):
    edit(desired, names, "bonjour")
    shown = waiting(approved)
    done = cli(namespace, "reject", shown["id"])
    assert done.returncode == 0, done.stderr
    synced = cli(namespace, "sync")
    assert synced.returncode in (0, 1), synced.stderr
    assert approved.status()["pending_plan"] is None and greeting(docker_client, names("web")) == "hello"
    edit(desired, names, "hallo")
    again = waiting(approved, other_than=shown["id"])
    assert [c["name"] for c in again["plan"]["changes"]] == [names("web")]
    assert greeting(docker_client, names("web")) == "hello"


def test_a_pending_plan_survives_an_agent_restart(approved, desired, names, namespace, start_agent, docker_client):
    edit(desired, names, "bonjour")
    shown = waiting(approved)
    assert approved.stop() == 0
    again = start_agent(extra=("--approve", "changes"))
    assert again.status()["pending_plan"]["id"] == shown["id"]
    time.sleep(1.0)  # a pass of the restarted agent plans the same files and engine again: the same id
    assert waiting(again)["id"] == shown["id"]
    done = cli(namespace, "approve", shown["id"])
    assert done.returncode == 0, done.stderr
    assert greeting(docker_client, names("web")) == "bonjour"
