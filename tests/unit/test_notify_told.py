"""What the agent has told of crash loops and drifts, kept across restarts (reconciler.notify.told):
told once when a resource enters the state, again only after it left it, a restart included."""

from __future__ import annotations

from reconciler.agent.accounting import STABLE_AFTER
from reconciler.agent.statedir import StateDir
from reconciler.agent.status import ResourceReport
from reconciler.notify.told import Told

HASHES = {"container/web": "a" * 64}


def web(state: str) -> list[ResourceReport]:
    return [ResourceReport("container", "web", state, "why")]


def told_states(told: Told, states: list[str], hashes=HASHES, start: float = 0.0, drift_found: bool = True):
    """The states among `states`, one a pass (a second apart), that `told` tells."""
    return [r.state for n, state in enumerate(states)
            for r in told.news(web(state), hashes, start + n, drift_found)]


def test_a_crash_loop_is_told_once_while_it_lasts():
    assert told_states(Told(), ["pending", "crashloop", "crashloop", "pending", "crashloop"]) == ["crashloop"]


def test_a_restarted_agent_does_not_tell_a_crash_loop_told_before(tmp_path):
    store = StateDir(tmp_path)
    assert told_states(Told(store), ["pending", "crashloop"]) == ["crashloop"]
    assert told_states(Told(store), ["pending", "converged", "pending", "crashloop"]) == []


def test_a_crash_loop_is_told_again_after_the_container_recovered():
    told = Told()
    told_states(told, ["crashloop"])
    assert told.news(web("converged"), HASHES, 10) == []
    assert told.news(web("converged"), HASHES, 10 + STABLE_AFTER) == []
    assert [r.state for r in told.news(web("crashloop"), HASHES, 11 + STABLE_AFTER)] == ["crashloop"]


def test_a_crash_loop_of_a_new_spec_is_told():
    told = Told()
    told_states(told, ["crashloop"])
    assert told_states(told, ["pending", "crashloop"], {"container/web": "b" * 64}) == ["crashloop"]


def test_a_restarted_agent_does_not_tell_a_drift_told_before_that_lasts(tmp_path):
    store = StateDir(tmp_path)
    assert told_states(Told(store), ["drifted"]) == ["drifted"]
    assert told_states(Told(store), ["drifted", "drifted"]) == []


def test_a_drift_that_ended_and_came_back_is_told_again(tmp_path):
    store = StateDir(tmp_path)
    told_states(Told(store), ["drifted", "converged"])
    assert told_states(Told(store), ["drifted"]) == ["drifted"]


def test_a_drift_told_stays_told_while_the_engine_does_not_answer():
    assert told_states(Told(), ["drifted", "unknown", "drifted"]) == ["drifted"]


def test_a_suspended_agent_tells_no_drift_and_tells_it_after_resume():
    told = Told()
    assert told_states(told, ["drifted", "drifted"], drift_found=False) == []
    assert told_states(told, ["drifted"], start=5) == ["drifted"]


def test_a_drift_told_before_the_agent_was_suspended_is_not_told_again_on_resume():
    told = Told()
    told_states(told, ["drifted"])
    told_states(told, ["drifted"], drift_found=False, start=1)
    assert told_states(told, ["drifted"], start=2) == []
