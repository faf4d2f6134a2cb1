"""The agent on the host target (`reconciler run` on the real engine): a file with a Swarm-only
value (`replicas`, `mode`, desired.targets) is held as a file that fails validation is: never
saved as last-known-good, its container stalled and untouched, its error listed until the file
no longer has the value."""

from __future__ import annotations

import pytest

from tests.conftest import DEMO_IMAGE
from tests.integration.agents import eventually, running, service

pytestmark = pytest.mark.integration


def errors(agent) -> list[str]:
    """Each listed error of the agent's status, as FILE:LINE: key."""
    return [": ".join(e["text"].split(": ")[:2]) for e in agent.status()["errors"]]


@pytest.fixture
def held(desired, names, start_agent, docker_client, tmp_path):
    """An agent that converged `web`, then saw `replicas = 3` (and a new greeting) in its file:
    (agent, name, the container's id, the file's valid content)."""
    name = names("web")
    valid = service(name)
    (desired / "web.toml").write_text(valid)
    agent = start_agent()
    agent.wait_converged(name)
    before = running(docker_client, name).id
    (desired / "web.toml").write_text(service(name, greeting="bonjour", extra="replicas = 3\n"))
    eventually(lambda: errors(agent) == [f"web.toml:7: container.{name}.replicas"], "the replicas error listed")
    return agent, name, before, valid


def test_a_file_with_replicas_is_stalled_and_its_container_untouched(held, docker_client):
    agent, name, before, _ = held
    eventually(lambda: agent.states() == {name: "stalled"}, "web stalled")
    assert running(docker_client, name).id == before
    assert "GREETING=hello" in running(docker_client, name).attrs["Config"]["Env"]


def test_a_file_with_replicas_is_not_saved_as_last_known_good(held, tmp_path):
    *_, valid = held
    assert (tmp_path / "state" / "lastgood" / "web.toml").read_text() == valid


def test_a_syntax_error_after_replicas_shows_only_the_syntax_error(held, desired, tmp_path):
    agent, name, _, valid = held
    (desired / "web.toml").write_text(service(name).replace(f'"{DEMO_IMAGE}"', f'"{DEMO_IMAGE}'))
    eventually(lambda: errors(agent) == ["web.toml:2: TOML syntax error"], "only the syntax error listed")
    assert agent.states() == {name: "stalled"}
    assert (tmp_path / "state" / "lastgood" / "web.toml").read_text() == valid
