"""Drift as values (fielddiff.observed_diff wired in diff_containers): a container changed by hand
shows what it holds and what the spec declares, under revert and alert; never a secret."""

from __future__ import annotations

import dataclasses

from reconciler.agent.accounting import resource_reports
from reconciler.converge import PassReport, make_plan
from reconciler.options import PlanOptions
from tests.unit.test_diff_plan import NS, printed
from tests.unit.test_drift import IMAGE_ENV, app, created, engine, holding, state

CANARY = "drift-canary-93ad"


def test_a_container_recreated_by_hand_with_another_env_and_command_shows_both_values_under_its_line():
    have = holding(app(), created(app(), env={**IMAGE_ENV, "GREETING": "bonjour", "EXTRA": "1"},
                                  command=("sleep", "60")))
    assert printed(state(app()), engine(have)).splitlines() == [
        "~ recreate container app (changed out of band: env.EXTRA, env.GREETING, command)",
        '    command[1]: "60" -> "3600"',
        '    - env.EXTRA: "1"',
        '    env.GREETING: "bonjour" -> "hello"',
        "Plan: 1 to recreate.",
    ]


def test_a_declared_variable_the_container_lacks_is_an_addition():
    have = holding(app(), created(app(), env=IMAGE_ENV))
    assert printed(state(app()), engine(have)).splitlines()[1] == '    + env.GREETING: "hello"'


def test_a_secret_changed_by_hand_is_secret_changed_and_neither_value_is_in_the_plan():
    spec = app(env={"TOKEN": CANARY})
    have = holding(spec, created(spec, env={**IMAGE_ENV, "TOKEN": "set-by-hand-" + CANARY[::-1]}))
    desired = dataclasses.replace(state(spec), secret_values=frozenset({CANARY}))
    plan = make_plan(desired, engine(have), NS, PlanOptions())
    assert [str(d) for d in plan.changes[0].diff] == ["env.TOKEN: (secret changed)"]
    assert [d.data()["old"] for d in plan.changes[0].diff] == ["(secret)"]


def test_drift_that_is_no_value_has_no_diff():
    have = holding(app(), state="paused")
    assert make_plan(state(app()), engine(have), NS, PlanOptions()).changes[0].diff == ()


def test_a_drifted_container_under_alert_shows_its_values_in_the_status():
    spec = app(drift="alert")
    have = holding(spec, created(spec, env={**IMAGE_ENV, "GREETING": "bonjour"}))
    plan = make_plan(state(spec), engine(have), NS, PlanOptions())
    (report,) = resource_reports(state(spec), (), PassReport(plan, (), plan, {}), {}, {})
    assert (report.state, [str(d) for d in report.diff]) == ("drifted", ['env.GREETING: "bonjour" -> "hello"'])
