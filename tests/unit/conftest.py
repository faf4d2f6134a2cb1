"""Fixtures of the unit tests: an agent on the in-memory engine, with a clock the test moves."""

from __future__ import annotations

import pytest

from reconciler.agent.loop import Agent
from reconciler.agent.statedir import StateDir
from reconciler.agent.status import Status, StatusServer
from runtime.memory import MemoryRuntime
from tests.unit.test_status import Clock

NS = "unit"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def engine() -> MemoryRuntime:
    return MemoryRuntime(images={"demo": "sha256:" + "d" * 64})


@pytest.fixture
def root(tmp_path):
    return tmp_path / "desired"


def new_agent(root, engine: MemoryRuntime, clock: Clock, state: StateDir, env_file: str | None = None) -> Agent:
    """An agent process on `root`, with its own status and the state directory `state` (and the
    `--env-file`); the engine hands it its events as they happen."""
    status = Status(NS, str(root), interval=30.0, monotonic=clock)
    agent = Agent(root, engine, NS, status, clock=clock, state_dir=state, env_file=env_file)
    engine.listen(agent.informer.note)
    return agent


@pytest.fixture
def state(tmp_path) -> StateDir:
    return StateDir(tmp_path / "state")


@pytest.fixture
def agent(root, engine, clock, state) -> Agent:
    root.mkdir()
    return new_agent(root, engine, clock, state)


@pytest.fixture
def server(status: Status):
    """A status server on a free loopback port, serving the test module's `status` fixture."""
    server = StatusServer(status, "127.0.0.1:0")
    server.start()
    yield server
    server.stop()
