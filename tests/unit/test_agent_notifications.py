"""What the agent reports and tells of a failing resource, pass by pass on the in-memory engine with
a clock the test moves: a replacement that keeps failing is failed with its error (not a crash
loop), told once; a container that exits on its own is no drift; the engine out of reach is told
when the threshold passes, not at the next pass."""

from __future__ import annotations

import threading
import time

from reconciler.agent.accounting import CRASHLOOP_AFTER
from reconciler.agent.loop import Agent
from reconciler.agent.status import Status
from reconciler.agent.triggers import Backoff
from reconciler.notify.events import CRASH_LOOP, DRIFT_CORRECTED, DRIFT_FOUND, ENGINE_UNREACHABLE, REPLACEMENT_FAILED
from reconciler.notify.moments import EngineWatch
from runtime.base import EngineError
from tests.unit.conftest import NS
from tests.unit.desired import write
from tests.unit.test_agent import WEB, metric

EDITED = WEB.replace("hello", "bonjour")
TAKEN = "driver failed programming external connectivity: bind 127.0.0.1:8080: address already in use"


class Told:
    """A notifier that keeps what it is told."""

    def __init__(self) -> None:
        self.events = []

    def notify(self, event, secrets=()) -> None:
        self.events.append(event)

    def drain(self) -> None:
        """The agent stops: nothing to send."""

    def kinds(self) -> list[tuple[str, str | None]]:
        return [(e.kind, e.resource) for e in self.events]


def told_agent(root, engine, clock, state) -> tuple[Agent, Told]:
    root.mkdir()
    told = Told()
    status = Status(NS, str(root), interval=30.0, clock=clock, monotonic=clock)
    agent = Agent(root, engine, NS, status, clock=clock, state_dir=state, notifier=told)
    engine.listen(agent.informer.note)
    return agent, told


def web_entry(agent: Agent) -> dict:
    return next(r for r in agent.status.snapshot()["resources"] if r["name"] == "web")


def failing_replacement(agent: Agent, engine, root, clock, tries: int) -> list[dict]:
    """web created by the agent, then edited; its replacement fails `tries` times, each when due.
    Returns web's status entry after each pass, the passes waiting for the retry included."""
    write(root, {"web.toml": WEB})
    agent.run_pass()
    write(root, {"web.toml": EDITED})
    seen = []
    for _ in range(tries):
        clock.now = agent.backoff.next_due() or clock.now
        engine.fail_next("start_container", EngineError(TAKEN))
        agent.run_pass({"edit"})
        seen.append(web_entry(agent))
        clock.now += 0.5
        agent.run_pass({"event:container:die"})  # a pass while it waits for its retry
        seen.append(web_entry(agent))
    return seen


def test_a_replacement_that_keeps_failing_is_failed_with_its_error_and_first_time_not_a_crash_loop(
        root, engine, clock, state):
    agent, _ = told_agent(root, engine, clock, state)
    seen = failing_replacement(agent, engine, root, clock, tries=CRASHLOOP_AFTER + 2)
    assert {entry["state"] for entry in seen} == {"failed"}
    assert all(TAKEN in entry["message"] for entry in seen)
    assert {entry["since"] for entry in seen} == {seen[0]["since"]}


def test_a_replacement_that_keeps_failing_is_told_once(root, engine, clock, state):
    agent, told = told_agent(root, engine, clock, state)
    failing_replacement(agent, engine, root, clock, tries=CRASHLOOP_AFTER + 2)
    assert told.kinds() == [(REPLACEMENT_FAILED, "container/web")]


def test_a_replacement_that_fails_again_after_an_edit_is_told_again(root, engine, clock, state):
    agent, told = told_agent(root, engine, clock, state)
    failing_replacement(agent, engine, root, clock, tries=2)
    write(root, {"web.toml": EDITED.replace("bonjour", "hola")})
    engine.fail_next("start_container", EngineError(TAKEN))
    agent.run_pass({"edit"})
    assert told.kinds() == [(REPLACEMENT_FAILED, "container/web")] * 2


def test_a_container_that_exits_on_its_own_is_no_drift_and_its_crash_loop_is_told_once(root, engine, clock, state):
    agent, told = told_agent(root, engine, clock, state)
    engine.on_start("web", exit_code=1)
    write(root, {"web.toml": WEB})
    agent.run_pass()
    for _ in range(CRASHLOOP_AFTER + 3):
        clock.now = agent.next_retry() or clock.now
        agent.run_pass({"retry"})
    assert web_entry(agent)["state"] == "crashloop"
    assert told.kinds() == [(CRASH_LOOP, "container/web")]


def test_a_container_stopped_by_hand_is_drift_corrected_and_told(root, engine, clock, state):
    agent, told = told_agent(root, engine, clock, state)
    write(root, {"web.toml": WEB})
    agent.run_pass()
    engine.kill("web")
    agent.run_pass({"event:container:die"})
    assert told.kinds() == [(DRIFT_CORRECTED, "container/web")]


def test_a_container_removed_by_hand_is_drift_corrected_and_told(root, engine, clock, state):
    agent, told = told_agent(root, engine, clock, state)
    write(root, {"web.toml": WEB})
    agent.run_pass()
    engine.remove_by_hand("container", "web")
    agent.run_pass({"event:container:destroy"})
    assert told.kinds() == [(DRIFT_CORRECTED, "container/web")]


def test_under_alert_a_container_removed_by_hand_is_created_again_as_absent_and_no_drift_is_told(
        root, engine, clock, state):
    agent, told = told_agent(root, engine, clock, state)
    write(root, {"web.toml": WEB + 'drift = "alert"\n'})
    agent.run_pass()
    engine.remove_by_hand("container", "web")
    agent.run_pass({"event:container:destroy"})
    assert web_entry(agent)["state"] == "converged" and told.kinds() == []
    assert metric(agent, "reconciler_drift_corrections_total") == 0


def restarted(agent: Agent, engine, clock, state) -> tuple[Agent, Told]:
    """A new agent process on `agent`'s files and state directory, telling a notifier of its own."""
    told = Told()
    again = Agent(agent.root, engine, NS, Status(NS, str(agent.root), interval=30.0, clock=clock, monotonic=clock),
                  clock=clock, state_dir=state, notifier=told)
    engine.listen(again.informer.note)
    return again, told


def test_a_restarted_agent_does_not_tell_a_crash_loop_it_told_before(root, engine, clock, state):
    agent, _ = told_agent(root, engine, clock, state)
    engine.on_start("web", exit_code=1)
    write(root, {"web.toml": WEB})
    for _ in range(CRASHLOOP_AFTER + 2):
        clock.now = agent.next_retry() or clock.now
        agent.run_pass({"retry"})
    again, told = restarted(agent, engine, clock, state)
    for _ in range(CRASHLOOP_AFTER + 2):
        clock.now = again.next_retry() or clock.now + 1
        again.run_pass({"retry"})
    assert web_entry(again)["state"] == "crashloop" and told.kinds() == []


def test_a_restarted_agent_does_not_tell_a_drift_it_told_before(root, engine, clock, state):
    agent, first = told_agent(root, engine, clock, state)
    write(root, {"web.toml": WEB + 'drift = "alert"\n'})
    agent.run_pass()
    engine.kill("web")
    agent.run_pass({"event:container:die"})
    again, told = restarted(agent, engine, clock, state)
    again.run_pass()
    assert first.kinds() == [(DRIFT_FOUND, "container/web")]
    assert web_entry(again)["state"] == "drifted" and told.kinds() == []


def test_a_drift_made_while_suspended_is_told_after_resume(root, engine, clock, state):
    agent, told = told_agent(root, engine, clock, state)
    write(root, {"web.toml": WEB + 'drift = "alert"\n'})
    agent.run_pass()
    agent.set_suspended(True)
    engine.kill("web")
    agent.run_pass({"event:container:die"})
    agent.set_suspended(False)
    agent.run_pass({"api:resume"})
    assert web_entry(agent)["state"] == "drifted" and told.kinds() == [(DRIFT_FOUND, "container/web")]


def test_the_engine_out_of_reach_is_in_the_status_with_its_address_until_it_answers(root, engine, clock, state):
    agent, _ = told_agent(root, engine, clock, state)
    agent.engine = "unix:///run/somewhere/docker.sock"
    write(root, {"web.toml": WEB})
    engine.available = False
    agent.run_pass()
    down = agent.status.snapshot()["engine_error"]
    assert (down["address"], down["error"]) == ("unix:///run/somewhere/docker.sock", "the in-memory engine is down")
    engine.available = True
    clock.now = agent.next_retry()
    agent.run_pass()
    assert agent.status.snapshot()["engine_error"] is None


def test_the_engine_out_of_reach_is_told_when_the_threshold_passes_while_passes_wait_out_its_backoff(
        root, engine, state):
    root.mkdir()
    write(root, {"web.toml": WEB})
    engine.available = False
    told = Told()
    # passes at 0, 0.5, 1.5, 3.5 s: without a wake of its own the 2 s threshold is told at 3.5 s
    agent = Agent(root, engine, NS, Status(NS, str(root), interval=30.0), interval=30.0, state_dir=state,
                  notifier=told, backoff=Backoff(initial=0.5), engine_watch=EngineWatch(2.0))
    loop = threading.Thread(target=agent.run, name="agent-under-test")
    started = time.monotonic()
    loop.start()
    try:
        while not told.events and time.monotonic() - started < 10:
            time.sleep(0.02)
        took = time.monotonic() - started
    finally:
        agent.stop()
        loop.join(timeout=20)
    assert told.kinds() == [(ENGINE_UNREACHABLE, None)]
    assert 2.0 <= took < 3.0
