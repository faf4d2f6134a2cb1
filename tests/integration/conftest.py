"""Fixtures of the integration tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runtime.docker import DockerRuntime
from tests.integration.agents import AgentProcess
from tests.integration.gitservers import http_server, ssh_server  # noqa: F401 (fixtures of the git tests)
from tests.integration.registry import auth_registry, registry, start_registry  # noqa: F401 (image tests)
from tests.integration.relay import SocketProxy


@pytest.fixture
def engine(docker_client):
    """The Docker adapter on the engine at $DOCKER_HOST."""
    return DockerRuntime(os.environ.get("DOCKER_HOST"))


@pytest.fixture
def names(namespace):
    """Engine-wide names are prefixed with the test's namespace, so tests never collide."""
    return lambda name: f"{namespace}-{name}"


@pytest.fixture
def proxy(docker_client, tmp_path):
    target = os.environ.get("DOCKER_HOST", "")
    if not target.startswith("unix://"):
        pytest.skip("the proxy relays a unix socket engine only")
    relay = SocketProxy(str(tmp_path / "engine.sock"), target.removeprefix("unix://"))
    relay.serve()
    return relay


@pytest.fixture
def desired(tmp_path) -> Path:
    """An empty desired-state directory for the test."""
    root = tmp_path / "desired"
    root.mkdir()
    return root


@pytest.fixture
def start_agent(desired, namespace, tmp_path):
    """Start `reconciler run` on `desired` (see agents.AgentProcess); each is stopped afterwards."""
    agents = []

    def start(engine: str | None = None, extra: tuple[str, ...] = ()) -> AgentProcess:
        agents.append(AgentProcess(desired, namespace, tmp_path, engine, extra))
        return agents[-1]

    yield start
    for agent in agents:
        agent.stop()
