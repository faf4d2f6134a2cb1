"""Compose's profiles on the real engine, through the CLI: `apply --profile debug` creates the debug
container, `apply` without removes it and only it (the plan says why), and an agent started with
`--profile` converges its view and refuses an apply of other profiles."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.integration.agents import running, service

pytestmark = pytest.mark.integration


def reconciler(*args: str, namespace: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reconciler", *args, "--namespace", namespace],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def files(desired, names):
    """`web` always, `debug` in the profile debug: (the directory, web's name, debug's name)."""
    web, debug = names("web"), names("debug")
    (desired / "app.toml").write_text(service(web) + "\n" + service(debug, extra='profiles = ["debug"]\n'))
    return desired, web, debug


def test_apply_with_a_profile_creates_its_container(files, namespace, docker_client):
    directory, web, debug = files
    applied = reconciler("apply", str(directory), "--profile", "debug", namespace=namespace)
    assert applied.returncode == 0, applied.stderr
    assert running(docker_client, web) and running(docker_client, debug)


def test_apply_without_the_profile_removes_its_container_and_only_it_saying_why(files, namespace, docker_client):
    directory, web, debug = files
    assert reconciler("apply", str(directory), "--profile", "debug", namespace=namespace).returncode == 0
    kept = running(docker_client, web).id
    planned = reconciler("plan", str(directory), "--brief", namespace=namespace)
    assert planned.stdout == f"- remove container {debug} (profile not active: debug)\nPlan: 1 to remove.\n"
    applied = reconciler("apply", str(directory), namespace=namespace)
    assert applied.returncode == 0, applied.stderr
    assert docker_client.containers.list(all=True, filters={"name": f"^/?{debug}$"}) == []
    assert running(docker_client, web).id == kept


def test_an_agent_started_with_a_profile_converges_its_view_and_shows_its_profiles(
    files, start_agent, docker_client
):
    directory, web, debug = files
    agent = start_agent(extra=("--profile", "debug"))
    status = agent.wait_converged(web, debug)
    assert status["profiles"] == ["debug"]
    assert running(docker_client, web) and running(docker_client, debug)


def test_an_apply_of_other_profiles_than_the_running_agents_is_refused(files, start_agent, namespace, docker_client):
    directory, web, debug = files
    agent = start_agent(extra=("--profile", "debug"))
    agent.wait_converged(web, debug)
    refused = reconciler("apply", str(directory), namespace=namespace)
    assert refused.returncode == 1
    assert "this agent converges the profiles debug, not none: apply refused" in refused.stderr
    assert running(docker_client, debug)
