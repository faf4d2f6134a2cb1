"""`plan --json` validates against the JSON Schema shipped in the package, plans and errors alike."""

from __future__ import annotations

import dataclasses
import json
from importlib.resources import files

import pytest
from jsonschema import Draft202012Validator

from reconciler.commands.render import plan_json, problems_json
from reconciler.converge import make_plan
from reconciler.desired.problems import Problem
from reconciler.fields import Resources
from reconciler.model import in_place_values
from reconciler.options import PlanOptions
from runtime.base import ObservedState
from tests.unit.test_diff_plan import IMAGE, IMAGE_ID, NS, db, desired, observed, running, web


@pytest.fixture(scope="module")
def schema() -> Draft202012Validator:
    return Draft202012Validator(json.loads((files("schemas") / "plan.schema.json").read_text()))


def errors(schema: Draft202012Validator, text: str) -> list[str]:
    return [error.message for error in schema.iter_errors(json.loads(text))]


def test_a_plan_with_every_kind_of_line_validates(schema):
    o = dataclasses.replace(
        observed(running(web(), "1", state="restarting", restart_count=4), unowned={"container": frozenset({"db"})}),
        images={},
    )
    plan = make_plan(desired(web(pull="always"), db()), o, NS, PlanOptions(held={"network/front": "backoff"}))
    data = json.loads(plan_json(plan))
    assert data["schema_version"] == 1
    assert {c["action"] for c in data["changes"]} >= {"check", "conflict", "blocked"}
    assert errors(schema, plan_json(plan)) == []


def test_an_empty_plan_validates_and_runs_nothing(schema):
    text = plan_json(make_plan(desired(web(), db()), ObservedState(images={IMAGE: IMAGE_ID}), NS))
    assert errors(schema, text) == []
    assert json.loads(text)["runnable"] == 4


def test_the_error_object_of_invalid_files_validates(schema):
    text = problems_json("the desired state is invalid", [Problem("a.toml", 2, "container.web.image", "bad")])
    assert errors(schema, text) == []
    assert json.loads(text)["problems"][0]["text"] == "a.toml:2: container.web.image: bad"


def test_an_in_place_update_validates_with_the_replacement_it_falls_back_to(schema):
    have = running(web(), "1", limits=in_place_values(web()))
    plan = make_plan(desired(web(resources=Resources(memory=2**27)), db()), observed(have, running(db(), "2")), NS)
    text = plan_json(plan)
    assert errors(schema, text) == []
    [update] = [c for c in json.loads(text)["changes"] if c["action"] == "update"]
    assert update["symbol"] == "%" and update["steps"] == ["update container " + "1" * 12]
    assert update["if_it_is_refused"][0] == "create container web--next-" + "1" * 12
