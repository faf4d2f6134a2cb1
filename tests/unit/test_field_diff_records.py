"""The last-applied records per-field diffs are computed from: made on every engine."""

from __future__ import annotations

import dataclasses

from reconciler.agent.rollbacks import Rollbacks
from reconciler.converge import PassReport
from reconciler.tasks import Plan
from tests.unit.test_diff_plan import desired, observed, running, web

PODMAN_DEFAULTS = {"resources.pids_limit": 2048, "restart": "no"}


def recorded(cannot_update: str) -> dict:
    spec = web()
    seen = dataclasses.replace(observed(running(spec, "1", limits=PODMAN_DEFAULTS)), cannot_update=cannot_update)
    rollbacks = Rollbacks(None)
    rollbacks.record_applied(PassReport(Plan((), ()), (), Plan((), ()), {}, observed=seen), desired(spec), (), 0.0)
    return rollbacks.applied


def test_a_container_with_the_engines_own_default_for_an_undeclared_limit_is_recorded_where_it_cannot_be_updated():
    assert [entry["name"] for entry in recorded("podman 4.3.1 has no update call").values()] == ["web"]


def test_where_the_engine_updates_in_place_a_limit_that_differs_waits_for_its_update_before_it_is_recorded():
    assert recorded("") == {}
