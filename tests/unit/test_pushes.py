"""`push = true` pushes until the registry has the built image (reconciler/images/pushes.py), on the
in-memory engine: a push that failed after its build is planned again as an image change of its own
(the build's tag is on the host, so no build comes to push it), and once a push is recorded in the
state directory nothing more is planned."""

from __future__ import annotations

import json
from importlib.resources import files

from jsonschema import Draft202012Validator

from reconciler.agent.statedir import StateDir
from reconciler.commands.render import plan_json
from reconciler.converge import converge, make_plan, observe
from reconciler.desired.loader import load
from reconciler.images.usage import Usage
from reconciler.options import PlanOptions
from runtime.base import InvalidSpec
from tests.unit.test_authenticated_pushes import PUSHED, REF, engine
from tests.unit.test_builds import tree

NS = "ns"
REFUSED = InvalidSpec(f"push {REF}: unauthorized: authentication required")


def refused_first(tmp_path):
    """An engine whose first push was refused after its build, the desired state, and the state directory."""
    runtime, desired, state = engine(), load(tree(tmp_path, PUSHED)).state, StateDir(tmp_path / "state")
    runtime.fail_next("push_image", REFUSED)
    report = converge(runtime, desired, NS)
    Usage(state).after_pass(report, runtime)
    assert [r.error for r in report.failures] == [str(REFUSED)]
    return runtime, desired, state


def test_a_refused_push_is_planned_again_as_a_push_of_its_own(tmp_path):
    runtime, desired, state = refused_first(tmp_path)
    plan = make_plan(desired, observe(runtime, NS, desired), NS, PlanOptions(pushed=Usage(state).pushed()))
    assert str(plan).splitlines()[:2] == [f"@ push image {REF} (not pushed yet)", f"    push {REF}"]
    assert plan.summary() == "Plan: 1 to push, 1 to create."


def test_the_next_pass_pushes_the_built_image_without_building_it_again(tmp_path):
    runtime, desired, state = refused_first(tmp_path)
    report = converge(runtime, desired, NS, PlanOptions(pushed=Usage(state).pushed()))
    assert report.converged
    assert runtime.registry[REF] == runtime.images[REF]
    assert len(runtime.calls_to("build_image")) == 1


def test_a_recorded_push_plans_nothing(tmp_path):
    runtime, desired, state = refused_first(tmp_path)
    report = converge(runtime, desired, NS, PlanOptions(pushed=Usage(state).pushed()))
    Usage(state).after_pass(report, runtime)
    assert state.pushed()[REF]["image_id"] == runtime.images[REF]
    plan = make_plan(desired, observe(runtime, NS, desired), NS, PlanOptions(pushed=Usage(state).pushed()))
    assert not plan.has_changes


def test_a_push_made_with_the_build_is_recorded(tmp_path):
    runtime, desired, state = engine(), load(tree(tmp_path, PUSHED)).state, StateDir(tmp_path / "state")
    Usage(state).after_pass(converge(runtime, desired, NS), runtime)
    assert Usage(state).pushed() == {REF: runtime.images[REF]}


def test_an_image_pushed_as_another_id_is_pushed_again(tmp_path):
    runtime, desired, _ = refused_first(tmp_path)
    plan = make_plan(desired, observe(runtime, NS, desired), NS, PlanOptions(pushed={REF: "sha256:" + "0" * 64}))
    assert plan.changes[0].kind.verb == "push"


def test_a_plan_with_a_push_validates_against_the_plan_schema(tmp_path):
    runtime, desired, _ = refused_first(tmp_path)
    plan = make_plan(desired, observe(runtime, NS, desired), NS)
    schema = Draft202012Validator(json.loads((files("schemas") / "plan.schema.json").read_text()))
    assert [e.message for e in schema.iter_errors(json.loads(plan_json(plan)))] == []
