"""The agent loop's decisions, pass by pass, on the in-memory engine and a clock the test moves."""

from __future__ import annotations

import pytest

from reconciler.agent.loop import CRASHLOOP_AFTER, Agent
from reconciler.agent.status import Status
from runtime.base import InvalidSpec
from runtime.memory import MemoryRuntime
from tests.unit.desired import write
from tests.unit.test_status import Clock

NS = "unit"
WEB = '[container.web]\nimage = "demo"\nenv = { GREETING = "hello" }\n'
DB = '[container.db]\nimage = "demo"\nenv = { GREETING = "hello" }\n'


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def engine() -> MemoryRuntime:
    return MemoryRuntime(images={"demo": "sha256:" + "d" * 64})


@pytest.fixture
def root(tmp_path):
    return tmp_path / "desired"


@pytest.fixture
def agent(root, engine, clock) -> Agent:
    root.mkdir()
    status = Status(NS, str(root), interval=30.0, monotonic=clock)
    return Agent(root, engine, NS, status, clock=clock)


def states(agent: Agent) -> dict[str, str]:
    return {f"{r['kind']}/{r['name']}": r["state"] for r in agent.status.snapshot()["resources"]}


def last_result(agent: Agent) -> str:
    return agent.status.snapshot()["last_pass"]["result"]


def creates(engine: MemoryRuntime, name: str) -> int:
    return sum(1 for (spec, _, _) in engine.calls_to("create_container") if spec.name == name)


def starts(engine: MemoryRuntime) -> int:
    return len(engine.calls_to("start_container"))


def converged(agent: Agent, root, files: dict[str, str]) -> Agent:
    write(root, files)
    agent.run_pass()
    assert last_result(agent) == "converged"
    return agent


def fail_web_creates(agent: Agent, engine: MemoryRuntime, root, times: int) -> None:
    """Edit web and let its replacement fail `times` passes in a row, each when it is due."""
    converged(agent, root, {"web.toml": WEB})
    write(root, {"web.toml": WEB.replace("hello", "bonjour")})
    for _ in range(times):
        agent.clock.now = agent.backoff.next_due() or agent.clock.now
        engine.fail_next("create_container", InvalidSpec("boom"))
        agent.run_pass()


# -- backoff of a failing resource ------------------------------------------------------------


def test_a_failed_action_is_not_retried_before_its_backoff_is_due(agent, engine, root, clock):
    fail_web_creates(agent, engine, root, times=1)
    clock.now += 0.5
    agent.run_pass()
    assert creates(engine, "web") == 2  # the first create, and the one that failed
    assert [r["resource"] for r in agent.status.snapshot()["pending_retries"]] == ["container/web"]


def test_a_failed_action_is_retried_once_its_backoff_is_due(agent, engine, root, clock):
    fail_web_creates(agent, engine, root, times=1)
    clock.now += 1.0
    agent.run_pass()
    assert creates(engine, "web") == 3
    assert last_result(agent) == "converged"


def test_each_consecutive_failure_doubles_the_wait(agent, engine, root, clock):
    waits = []
    converged(agent, root, {"web.toml": WEB})
    write(root, {"web.toml": WEB.replace("hello", "bonjour")})
    for _ in range(4):
        clock.now = agent.backoff.next_due() or clock.now
        engine.fail_next("create_container", InvalidSpec("boom"))
        agent.run_pass()
        waits.append(agent.backoff.next_due() - clock.now)
    assert waits == [1.0, 2.0, 4.0, 8.0]


def test_a_resource_in_backoff_does_not_hold_up_the_others(agent, engine, root, clock):
    converged(agent, root, {"db.toml": DB})
    fail_web_creates(agent, engine, root, times=1)
    write(root, {"db.toml": DB.replace("hello", "bonjour")})
    clock.now += 0.5
    agent.run_pass()
    assert creates(engine, "db") == 2
    assert creates(engine, "web") == 2
    assert states(agent) == {"container/db": "converged", "container/web": "blocked"}


def test_a_resource_that_recovers_leaves_backoff(agent, engine, root, clock):
    fail_web_creates(agent, engine, root, times=2)
    clock.now = agent.backoff.next_due()
    agent.run_pass()
    assert agent.next_retry() is None
    assert agent.status.snapshot()["pending_retries"] == []


# -- crash loops --------------------------------------------------------------------------------


def crash(agent: Agent, engine: MemoryRuntime, root, restarts: int, exit_code: int = 1) -> None:
    """web exits with `exit_code` whenever started; run a pass each time its restart is due."""
    engine.on_start("web", exit_code=exit_code)
    write(root, {"web.toml": WEB})
    agent.run_pass()
    for _ in range(restarts):
        agent.clock.now = agent.next_retry() or agent.clock.now
        agent.run_pass()


@pytest.mark.parametrize("exit_code", [1, 0])
def test_a_container_that_keeps_exiting_is_reported_as_crashloop(agent, engine, root, exit_code):
    crash(agent, engine, root, restarts=CRASHLOOP_AFTER, exit_code=exit_code)
    assert states(agent) == {"container/web": "crashloop"}
    assert agent.status.snapshot()["resources"][0]["message"].startswith(f"restarted {CRASHLOOP_AFTER} times")


def test_a_crash_looping_container_is_not_restarted_before_its_backoff_is_due(agent, engine, root, clock):
    crash(agent, engine, root, restarts=CRASHLOOP_AFTER)
    before = starts(engine)
    for _ in range(5):  # its die events wake the loop again and again
        clock.now += 0.1
        agent.run_pass()
    assert starts(engine) == before


def test_a_crash_looping_container_is_restarted_when_its_backoff_is_due(agent, engine, root, clock):
    crash(agent, engine, root, restarts=CRASHLOOP_AFTER)
    before = starts(engine)
    clock.now = agent.next_retry()
    agent.run_pass()
    assert starts(engine) == before + 1


def test_a_container_still_down_a_minute_into_its_backoff_stays_in_crashloop(agent, engine, root, clock):
    crash(agent, engine, root, restarts=7)  # the wait is now 64 s
    clock.now += 61
    agent.run_pass()  # a periodic resync while it waits
    assert states(agent) == {"container/web": "crashloop"}
    assert agent.backoff.failures("container/web") == 7


def test_a_crashed_container_that_stays_up_again_leaves_no_retry_to_wake_for(agent, engine, root, clock):
    crash(agent, engine, root, restarts=2)
    engine.on_start("web", exit_code=None)
    clock.now = agent.next_retry()
    agent.run_pass()
    clock.now = agent.next_retry()
    agent.run_pass()
    assert agent.next_retry() is None


def test_a_container_killed_by_hand_again_and_again_is_restored_at_once_each_time(agent, engine, root):
    converged(agent, root, {"web.toml": WEB})
    for _ in range(5):
        engine.kill("web")
        agent.run_pass()
        assert engine.containers[next(iter(engine.containers))].state == "running"
    assert agent.next_retry() is None


# -- an unreachable engine ------------------------------------------------------------------


def test_an_unreachable_engine_ends_the_pass_as_unavailable(agent, engine, root):
    write(root, {"web.toml": WEB})
    engine.available = False
    agent.run_pass()
    assert last_result(agent) == "unavailable"


def test_an_unreachable_engine_is_not_called_again_before_its_backoff_is_due(agent, engine, root, clock):
    write(root, {"web.toml": WEB})
    engine.available = False
    agent.run_pass()
    calls = len(engine.calls)
    clock.now += 0.5
    agent.run_pass()
    assert len(engine.calls) == calls


def test_the_agent_converges_once_the_engine_is_back(agent, engine, root, clock):
    write(root, {"web.toml": WEB})
    engine.available = False
    agent.run_pass()
    engine.available = True
    clock.now = agent.next_retry()
    agent.run_pass()
    assert last_result(agent) == "converged"
    assert states(agent) == {"container/web": "converged"}


# -- what the status says of each resource ----------------------------------------------------


def test_the_resources_of_a_broken_file_are_stalled_and_the_error_has_file_and_line(agent, root):
    converged(agent, root, {"web.toml": WEB, "db.toml": DB})
    write(root, {"web.toml": '[container.web]\nimage = "demo"\nports = 80\n'})
    agent.run_pass()
    assert states(agent) == {"container/db": "converged", "container/web": "stalled"}
    assert [e["text"].split(": ")[0] for e in agent.status.snapshot()["errors"]] == ["web.toml:3"]


def test_a_stalled_resource_gets_no_engine_call_even_when_it_drifted(agent, engine, root):
    converged(agent, root, {"web.toml": WEB})
    write(root, {"web.toml": "[container.web\n"})
    engine.kill("web")
    calls = len(engine.calls)
    agent.run_pass()
    assert [name for name, _ in engine.calls[calls:]] == ["observe"]


def test_a_valid_edit_in_another_file_applies_while_one_file_is_broken(agent, engine, root):
    converged(agent, root, {"web.toml": WEB, "db.toml": DB})
    write(root, {"web.toml": "[container.web\n", "db.toml": DB.replace("hello", "bonjour")})
    agent.run_pass()
    (db,) = [c for c in engine.containers.values() if c.name == "db"]
    assert db.spec.env == {"GREETING": "bonjour"}
    assert last_result(agent) == "invalid"


def test_a_name_held_by_an_unowned_container_is_reported_as_conflict(agent, engine, root):
    engine.add_unowned("container", "web")
    write(root, {"web.toml": WEB})
    agent.run_pass()
    assert states(agent) == {"container/web": "conflict"}


def test_a_volume_no_longer_declared_is_reported_as_retained(agent, root):
    converged(agent, root, {"web.toml": WEB, "data.toml": "[volume.data]\n"})
    (root / "data.toml").unlink()
    agent.run_pass()
    assert states(agent) == {"container/web": "converged", "volume/data": "retained"}


def test_an_emptied_directory_removes_nothing_and_the_refusal_is_in_the_status(agent, engine, root):
    converged(agent, root, {"web.toml": WEB})
    (root / "web.toml").unlink()
    agent.run_pass()
    assert [c.name for c in engine.containers.values()] == ["web"]
    assert last_result(agent) == "failed"
    (web,) = agent.status.snapshot()["resources"]
    assert (web["name"], web["state"]) == ("web", "blocked")
    assert "--allow-empty" in web["message"]
