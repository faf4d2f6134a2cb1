"""A replacement's per-field diff, from the last-applied record, in the printed plan and its JSON."""

from __future__ import annotations

import dataclasses
import json
from importlib.resources import files

from jsonschema import Draft202012Validator

from reconciler.agent.lastapplied import record
from reconciler.commands.render import plan_json, plan_text
from reconciler.converge import make_plan
from reconciler.fielddiff import AppliedRecords
from reconciler.fields import FileGrant
from reconciler.model import spec_hash
from reconciler.options import PlanOptions
from tests.unit.test_diff_plan import NS, db, desired, observed, running, web

KEY = b"k" * 32


def applied(*specs_by_id) -> AppliedRecords:
    return AppliedRecords({cid * 64: {"name": spec.name, "spec_hash": spec_hash(spec), "spec": record(spec, (), KEY)}
                           for cid, spec in specs_by_id}, frozenset(), KEY)


def test_a_replacement_prints_what_changed_under_its_line():
    new = web(env={"GREETING": "bonjour"}, dns=("1.1.1.1",))
    plan = make_plan(desired(new, db()), observed(running(web(), "1"), running(db(), "2")), NS,
                     PlanOptions(applied_records=applied(("1", web()))))
    assert plan_text(plan) == "\n".join([
        "~ recreate container web (spec changed: dns, env)",
        '    + dns[0]: "1.1.1.1"',
        '    env.GREETING: "hello" -> "bonjour"',
        "Plan: 1 to recreate.",
    ])


def test_without_a_record_of_the_running_container_only_the_changed_keys_are_printed():
    new = web(env={"GREETING": "bonjour"})
    plan = make_plan(desired(new, db()), observed(running(web(), "1"), running(db(), "2")), NS,
                     PlanOptions(applied_records=applied(("9", web()))))
    assert plan_text(plan) == "~ recreate container web (spec changed: env)\nPlan: 1 to recreate."


def test_a_replacement_for_another_reason_than_its_spec_has_no_diff():
    plan = make_plan(desired(web(), db()), observed(running(web(), "1", state="dead"), running(db(), "2")), NS,
                     PlanOptions(applied_records=applied(("1", web()))))
    assert plan.changes[0].diff == ()


def test_the_plan_json_carries_the_diff_and_validates():
    schema = Draft202012Validator(json.loads((files("schemas") / "plan.schema.json").read_text()))
    plan = make_plan(desired(web(env={"GREETING": "bonjour"}), db()), observed(running(web(), "1"), running(db(), "2")),
                     NS, PlanOptions(applied_records=applied(("1", web()))))
    data = json.loads(plan_json(plan))
    assert data["changes"][0]["diff"] == [{"path": "env.GREETING", "op": "~", "old": "hello", "new": "bonjour",
                                           "secret": False, "text": 'env.GREETING: "hello" -> "bonjour"'}]
    assert [e.message for e in schema.iter_errors(data)] == []


def test_a_changed_secret_file_prints_secret_changed_not_its_keyed_hashes():
    grant = FileGrant("db", "/run/secrets/db", digest="hmac-sha256:" + "1" * 64)
    new = web(secrets=(dataclasses.replace(grant, digest="hmac-sha256:" + "2" * 64),))
    plan = make_plan(desired(new, db()), observed(running(web(secrets=(grant,)), "1"), running(db(), "2")), NS,
                     PlanOptions(applied_records=applied(("1", web(secrets=(grant,)))), files_folder="/run/rc"))
    assert plan_text(plan) == "\n".join([
        "~ recreate container web (secret changed: secrets)",
        "    secrets[0]: (secret changed)",
        "Plan: 1 to recreate.",
    ])
