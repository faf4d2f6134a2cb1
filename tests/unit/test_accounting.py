"""The agent's bookkeeping as pure functions: backoff decisions, drift, and resource states."""

from __future__ import annotations

from reconciler.agent.accounting import STABLE_AFTER, account, crash_loops, pass_result, resource_reports
from reconciler.converge import PassReport, make_plan
from reconciler.execute import TaskResult
from reconciler.options import PlanOptions
from runtime.base import ObservedState
from tests.unit.test_diff_plan import IMAGE, IMAGE_ID, NS, db, desired, observed, running, web

EMPTY = ObservedState(images={IMAGE: IMAGE_ID})


def report_of(plan, outcomes: dict[str, bool], remaining=None) -> PassReport:
    results = tuple(TaskResult(t, ok=outcomes[t.key], error=None if outcomes[t.key] else "boom")
                    for t in plan.tasks if t.key in outcomes)
    return PassReport(plan, results, remaining or make_plan(desired(web(), db()), observed(
        running(web(), "1"), running(db(), "2")), NS), {})


def test_a_failed_action_backs_its_resource_off_and_a_done_one_leaves_backoff():
    plan = make_plan(desired(web(), db()), EMPTY, NS)
    done = account(report_of(plan, {"container/web": False, "container/db": True}), (), {}, {}, now=10.0)
    assert (done.failed, done.succeeded) == ({"container/web"}, {"container/db", })
    assert ("create", "failed") in done.actions


def test_a_container_that_exits_again_after_the_agent_started_it_backs_off_as_a_crash():
    o = observed(running(web(), "1", state="exited", exit_code=1), running(db(), "2"))
    plan = make_plan(desired(web(), db()), o, NS)
    done = account(report_of(plan, {"container/web": True}), (), {"container/web": 5.0}, {}, now=10.0)
    assert done.failed == {"container/web"} and done.started == {"container/web"}
    assert done.drift_corrected == 1


def test_a_resource_removed_by_hand_and_created_again_is_drift_corrected():
    plan = make_plan(desired(web(), db()), observed(running(db(), "2")), NS)
    done = account(report_of(plan, {"container/web": True}), {"container/web"}, {}, {}, now=10.0)
    assert done.drift_corrected == 1


def test_a_crash_count_resets_once_the_container_stayed_up_long_enough():
    plan = make_plan(desired(web(), db()), observed(running(web(), "1"), running(db(), "2")), NS)
    done = account(report_of(plan, {}), (), {"container/web": 0.0}, {"container/web": 2}, now=STABLE_AFTER)
    assert done.stable == {"container/web"}
    early = account(report_of(plan, {}), (), {"container/web": 0.0}, {"container/web": 2}, now=STABLE_AFTER - 1)
    assert early.stable == frozenset()


def test_resources_are_blocked_crashlooping_or_converged_with_why():
    o = observed(running(db(), "2"))
    held = make_plan(desired(web(), db()), o, NS, PlanOptions(held={"container/web": "backoff until 12:00:00Z"}))
    report = PassReport(held, (), held, {})
    states = {(r.kind, r.name): (r.state, r.message) for r in
              resource_reports(desired(web(), db()), (), report, {"container/db": 0}, {})}
    assert states[("container", "web")] == ("blocked", "+ create container web (missing): backoff until 12:00:00Z")
    assert states[("container", "db")] == ("converged", "")
    crashing = resource_reports(desired(web(), db()), (), report, {"container/web": 3}, {}, {"container/web"})
    assert [r.state for r in crashing if r.name == "web"] == ["crashloop"]
    failing = resource_reports(desired(web(), db()), (), report, {"container/web": 3}, {})
    assert [r.state for r in failing if r.name == "web"] == ["blocked"]


def test_only_a_container_the_agent_started_that_keeps_exiting_is_a_crash_loop():
    assert crash_loops({"container/web": 1.0}, {"container/web": 3, "container/db": 5}) == {"container/web"}


def test_a_pass_during_a_crash_loop_is_not_converged_even_while_the_container_is_up():
    clean = make_plan(desired(db()), observed(running(db(), "2")), NS)
    assert pass_result(False, PassReport(clean, (), clean, {}), {"container/db"}) == "failed"


def test_a_stalled_file_wins_over_everything_and_no_report_means_unknown():
    states = {r.name: r.state for r in resource_reports(desired(web(), db()), {"container/web"}, None, {}, {})}
    assert states == {"front": "unknown", "data": "unknown", "web": "stalled", "db": "unknown"}


def test_a_pass_that_only_has_blocked_work_is_failed_and_one_held_by_a_broken_file_is_invalid():
    o = observed(running(db(), "2"))
    held = make_plan(desired(web(), db()), o, NS, PlanOptions(held={"container/web": "backoff"}))
    assert pass_result(False, PassReport(held, (), held, {})) == "failed"
    clean = make_plan(desired(db()), observed(running(db(), "2")), NS)
    assert pass_result(True, PassReport(clean, (), clean, {})) == "invalid"
    assert pass_result(False, PassReport(clean, (), clean, {})) == "converged"


def test_the_volumes_that_hold_image_volume_paths_are_listed_with_the_resources():
    clean = make_plan(desired(db()), observed(running(db(), "2")), NS)
    report = PassReport(clean, (), clean, {}, image_volumes=("db_var_data",))
    states = {(r.kind, r.name): r.state for r in resource_reports(desired(db()), (), report, {}, {})}
    assert states[("volume", "db_var_data")] == "converged"


def test_a_crash_looping_container_that_is_up_again_stays_in_crashloop_until_it_recovers():
    clean = make_plan(desired(db()), observed(running(db(), "2")), NS)
    report = PassReport(clean, (), clean, {})
    (db_state,) = [r for r in resource_reports(desired(db()), (), report, {"container/db": 4}, {}, {"container/db"})
                   if r.name == "db"]
    assert db_state.state == "crashloop" and db_state.message.startswith("exited 4 times; up again")
