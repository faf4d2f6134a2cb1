"""Drift and the `drift` policy, pure: what is compared with inspect, and what each policy plans."""

from __future__ import annotations

import dataclasses
import json
from importlib.resources import files

import pytest
from jsonschema import Draft202012Validator

from reconciler import drift
from reconciler.agent.accounting import resource_reports
from reconciler.agent.lastapplied import record
from reconciler.commands.render import plan_json, plan_text
from reconciler.converge import PassReport, make_plan
from reconciler.fielddiff import AppliedRecords
from reconciler.fields import Resources
from reconciler.model import ContainerSpec, DesiredState, Source, canonical, in_place_values, spec_hash
from reconciler.options import PlanOptions
from reconciler.ownership import owned_labels
from reconciler.tasks import Step
from runtime.base import ObservedConfig, ObservedContainer, ObservedState
from tests.unit.test_diff_plan import IMAGE, IMAGE_ID, NS, printed

IMAGE_ENV = {"PATH": "/bin", "LANG": "C"}


def app(**changes) -> ContainerSpec:
    spec = ContainerSpec(name="app", image=IMAGE, source=Source("app.toml", 1), env={"GREETING": "hello"},
                         command=("sleep", "3600"))
    return dataclasses.replace(spec, **changes)


def created(spec: ContainerSpec, **config) -> ObservedConfig:
    """What the engine reports for a container created from `spec` (its image's env merged in)."""
    fields = {"env": {**IMAGE_ENV, **spec.env}, "image_env": IMAGE_ENV, "command": spec.command,
              "entrypoint": spec.entrypoint, "user": spec.user or "", "working_dir": spec.working_dir or ""}
    return ObservedConfig(**{**fields, **config})


def holding(spec: ContainerSpec, config: ObservedConfig | None = None, **changes) -> ObservedContainer:
    """The running container of `spec`, labelled for it; `config`: what its inspect says (default:
    what `spec` creates)."""
    container = ObservedContainer(id="1" * 64, name=spec.name, labels=owned_labels(spec, NS), state="running",
                                  health=None, image_id=IMAGE_ID, networks=frozenset({"bridge"}), created=100.0,
                                  config=created(spec) if config is None else config)
    return dataclasses.replace(container, **changes)


def state(*containers: ContainerSpec) -> DesiredState:
    return DesiredState(containers={c.name: c for c in containers})


def engine(*containers: ObservedContainer) -> ObservedState:
    return ObservedState(containers=containers, images={IMAGE: IMAGE_ID})


def first_line(spec: ContainerSpec, have: ObservedContainer) -> str:
    return printed(state(spec), engine(have)).splitlines()[0]


def test_the_drift_key_is_outside_the_hash():
    assert spec_hash(app(drift="alert")) == spec_hash(app()) == spec_hash(app(drift="ignore"))
    assert "drift" not in canonical(app(drift="alert"))


def test_a_container_as_created_from_its_spec_has_not_drifted():
    assert drift.changed_fields(app(), created(app())) == []


def test_the_image_env_is_not_drift():
    assert drift.env_drift({"GREETING": "hello"}, created(app())) == []


def test_a_declared_variable_that_overrides_the_image_env_is_compared_with_the_declared_value():
    spec = app(env={"PATH": "/opt/bin"})
    assert drift.env_drift(spec.env, created(spec)) == []
    assert drift.env_drift(spec.env, created(spec, env=IMAGE_ENV)) == ["PATH"]


def test_an_image_variable_changed_by_hand_is_drift():
    assert drift.env_drift({}, created(app(env={}), env={**IMAGE_ENV, "LANG": "fr_FR"})) == ["LANG"]


def test_the_engines_own_variables_are_not_drift_unless_declared_otherwise():
    podman = created(app(), env={**IMAGE_ENV, "GREETING": "hello", "container": "podman", "TERM": "xterm"})
    assert drift.env_drift({"GREETING": "hello"}, podman) == []
    assert drift.env_drift({"GREETING": "hello", "TERM": "dumb"}, podman) == ["TERM"]


def test_the_home_and_hostname_podman_sets_at_start_are_not_drift_unless_declared():
    started = created(app(), env={**IMAGE_ENV, "GREETING": "hello", "HOME": "/root", "HOSTNAME": "0123abcd"})
    assert drift.env_drift({"GREETING": "hello"}, started) == []
    assert drift.env_drift({"GREETING": "hello", "HOME": "/srv"}, started) == ["HOME"]


def test_a_variable_changed_added_or_removed_by_hand_is_named():
    changed = created(app(), env={**IMAGE_ENV, "GREETING": "bonjour", "EXTRA": "1"})
    assert drift.env_drift({"GREETING": "hello", "GONE": "x"}, changed) == ["EXTRA", "GONE", "GREETING"]


def test_command_entrypoint_user_and_working_dir_are_compared_only_when_declared():
    spec = app(entrypoint=("/bin/sh", "-c"), user="1000", working_dir="/srv")
    other = created(spec, command=("sleep", "1"), entrypoint=("/init",), user="root", working_dir="/")
    assert drift.changed_fields(spec, other) == ["command", "entrypoint", "user", "working_dir"]
    assert drift.changed_fields(app(command=None), other) == []


def test_an_empty_list_the_engine_shows_as_null_is_not_drift():
    spec = app(command=(), entrypoint=())
    assert drift.changed_fields(spec, created(spec, command=None, entrypoint=None)) == []


def test_an_env_changed_by_recreating_the_container_with_our_labels_is_reverted():
    have = holding(app(), created(app(), env={**IMAGE_ENV, "GREETING": "bonjour"}))
    assert first_line(app(), have) == "~ recreate container app (changed out of band: env.GREETING)"


def test_an_unread_config_is_not_compared():
    bare = dataclasses.replace(holding(app()), config=None)
    assert printed(state(app()), engine(bare)).startswith("No changes")


def test_a_changed_spec_is_a_spec_change_not_drift():
    have = holding(app(), created(app(), env={**IMAGE_ENV, "GREETING": "bonjour"}))
    assert first_line(app(env={"GREETING": "salut"}), have) == "~ recreate container app (spec changed: env)"


@pytest.mark.parametrize(("have", "reverted", "values"), [
    (holding(app(), state="exited", exit_code=137), "> start container app (stopped by hand)", []),
    (holding(app(), state="paused"), "~ recreate container app (paused by hand)", []),
    (holding(app(), networks=frozenset()), "~ recreate container app (network detached: bridge)", []),
    (holding(app(), created(app(), env={**IMAGE_ENV, "GREETING": "bonjour"})),
     "~ recreate container app (changed out of band: env.GREETING)", ['    env.GREETING: "bonjour" -> "hello"']),
], ids=["killed", "paused", "disconnected", "env"])
def test_under_alert_drift_is_reported_and_nothing_is_done(have, reverted, values):
    assert first_line(app(), have) == reverted
    text = printed(state(app(drift="alert")), engine(have))
    why = reverted.partition(" (")[2].removesuffix(")")
    assert text.splitlines() == [f'? warn container app ({why}; drift = "alert": reported, not reverted)', *values,
                                 "No changes: the engine matches the desired state."]


@pytest.mark.parametrize("have", [
    holding(app(), state="exited", exit_code=143),
    holding(app(), networks=frozenset({"bridge", "other"})),
    holding(app(), created(app(), env={**IMAGE_ENV, "GREETING": "bonjour"})),
], ids=["stopped", "connected", "env"])
def test_under_ignore_drift_is_not_looked_at(have):
    assert printed(state(app(drift="ignore")), engine(have)) == "No changes: the engine matches the desired state."


def test_a_container_started_by_hand_while_declared_stopped_stays_up_under_alert():
    text = printed(state(app(state="stopped", drift="alert")), engine(holding(app(state="stopped"))))
    assert text.splitlines()[0] == '? warn container app (declared stopped; drift = "alert": reported, not reverted)'


@pytest.mark.parametrize("policy", ["alert", "ignore"])
def test_a_declared_change_still_applies_under_every_policy(policy):
    have = holding(app(), state="exited", exit_code=137)
    assert first_line(app(drift=policy, env={"GREETING": "salut"}), have).startswith(
        "~ recreate container app (spec changed: env")


def test_a_declared_change_under_ignore_does_not_name_the_drift():
    have = holding(app(), networks=frozenset())
    assert first_line(app(drift="ignore", env={"GREETING": "salut"}), have) == (
        "~ recreate container app (spec changed: env)")


def test_a_container_that_exits_on_its_own_is_started_under_every_policy():
    for policy in drift.POLICIES:
        have = holding(app(), state="exited", exit_code=1)
        assert first_line(app(drift=policy), have) == "> start container app (exited: code 1)"


def test_a_container_removed_by_hand_is_created_under_every_policy():
    for policy in drift.POLICIES:
        assert printed(state(app(drift=policy)), engine()).splitlines()[0] == "+ create container app (missing)"


def test_leftovers_of_an_interrupted_replacement_are_cleaned_up_without_the_drifts_start():
    spec = app(drift="alert")
    keep = holding(spec, state="exited", exit_code=137)
    leftover = dataclasses.replace(holding(app(env={"GREETING": "old"})), id="2" * 64, name="app--prev-2",
                                   created=50.0)
    text = printed(state(spec), engine(keep, leftover))
    assert text.splitlines()[0] == "* cleanup container app (interrupted replacement: 1 leftover(s))"


def test_an_alerted_container_is_reported_drifted_with_what_drifted():
    spec = app(drift="alert")
    observed = engine(holding(spec, state="exited", exit_code=137))
    plan = make_plan(state(spec), observed, NS, PlanOptions())
    reports = resource_reports(state(spec), (), PassReport(plan, (), plan, {}), {}, {})
    assert [(r.state, r.message) for r in reports] == [("drifted", "stopped by hand")]


# -- limits changed with `docker update` (the fields updated in place, reconciler.inplace) --------

MB = 2**20


def limited(**changes) -> ContainerSpec:
    return app(resources=Resources(memory=64 * MB), **changes)


def updated_by_hand(spec: ContainerSpec) -> ObservedContainer:
    """The container of `spec` whose memory limit someone set to 32m with `docker update`."""
    return holding(spec, limits={**in_place_values(spec), "resources.memory": 32 * MB})


def records_of(spec: ContainerSpec) -> AppliedRecords:
    """The last-applied record of the container `holding` gives, made from `spec`."""
    return AppliedRecords({"1" * 64: {"name": spec.name, "spec_hash": spec_hash(spec), "spec": record(spec, (), b"k")}},
                          frozenset(), b"k")


def planned(spec: ContainerSpec, have: ObservedContainer, records: AppliedRecords | None) -> list[str]:
    plan = make_plan(state(spec), engine(have), NS, PlanOptions(applied_records=records))
    return plan_text(plan).splitlines()


def test_a_limit_changed_by_hand_is_set_back_under_revert():
    lines = planned(limited(), updated_by_hand(limited()), records_of(limited()))
    assert lines[:2] == ["% update container app (changed out of band: resources.memory)",
                         '    resources.memory: "32m" -> "64m"']


def test_a_limit_set_by_hand_that_the_file_does_not_declare_is_undone_by_a_replacement_that_says_so():
    have = holding(limited(), limits={**in_place_values(limited()), "resources.memory": 32 * MB, "resources.cpus": 0.3})
    assert planned(limited(), have, records_of(limited()))[0] == (
        "~ recreate container app (changed out of band: resources.memory, resources.cpus; cannot update in place: "
        "resources.cpus set by hand (the engine's update cannot lift a limit))")


def test_a_limit_the_file_changed_and_one_set_by_hand_are_each_named_for_what_happened():
    before, after = app(resources=Resources(memory=64 * MB, pids_limit=50)), app(resources=Resources(memory=128 * MB,
                                                                                                    pids_limit=50))
    have = holding(before, limits={**in_place_values(before), "resources.pids_limit": 20})
    plan = make_plan(state(after), engine(have), NS, PlanOptions(applied_records=records_of(before)))
    assert plan_text(plan).splitlines()[0] == (
        "% update container app (resources changed: resources.memory; changed out of band: resources.pids_limit)")


def test_a_limit_changed_by_hand_is_reported_under_alert():
    spec = limited(drift="alert")
    assert planned(spec, updated_by_hand(spec), records_of(spec))[0] == (
        "? warn container app (changed out of band: resources.memory; drift = \"alert\": reported, not reverted)")


def test_a_limit_changed_by_hand_is_not_looked_at_under_ignore():
    spec = limited(drift="ignore")
    assert planned(spec, updated_by_hand(spec), records_of(spec)) == [
        "No changes: the engine matches the desired state."]


@pytest.mark.parametrize("policy", ["alert", "ignore"])
def test_a_limit_the_file_changed_is_updated_under_every_policy(policy):
    before, after = limited(drift=policy), app(resources=Resources(memory=128 * MB), drift=policy)
    assert planned(after, holding(before, limits=in_place_values(before)), records_of(before))[0] == (
        "% update container app (resources changed: resources.memory)")


def test_without_a_last_applied_record_a_limit_that_differs_counts_as_declared():
    spec = limited(drift="ignore")
    assert planned(spec, updated_by_hand(spec), None)[0] == (
        "% update container app (resources changed: resources.memory)")


def test_a_drift_report_in_plan_json_validates_and_names_its_reasons():
    schema = Draft202012Validator(json.loads((files("schemas") / "plan.schema.json").read_text()))
    spec = app(drift="alert")
    have = holding(spec, created(spec, env={**IMAGE_ENV, "GREETING": "bonjour"}))
    data = json.loads(plan_json(make_plan(state(spec), engine(have), NS, PlanOptions())))
    assert [error.message for error in schema.iter_errors(data)] == []
    [change] = data["changes"]
    assert (change["action"], [r["reason"] for r in change["reasons"]]) == (
        "warn", ["changed_by_hand", "drift_alert"])
    assert change["steps"] == []


def test_a_limit_the_file_changed_is_updated_in_place_on_a_container_whose_drift_is_alerted():
    before, after = limited(drift="alert"), app(resources=Resources(memory=128 * MB), drift="alert")
    have = holding(before, created(before, env={**IMAGE_ENV, "GREETING": "bonjour"}), limits=in_place_values(before),
                   state="exited", exit_code=137)
    plan = make_plan(state(after), engine(have), NS, PlanOptions(applied_records=records_of(before)))
    assert plan_text(plan).splitlines()[0] == (
        "% update container app (resources changed: resources.memory; changed out of band: env.GREETING; "
        "stopped by hand)")
    assert [a.step for t in plan.tasks for a in t.steps] == [Step.UPDATE]


def test_a_limit_the_file_changed_is_updated_in_place_on_a_container_disconnected_by_hand_under_ignore():
    before, after = limited(drift="ignore"), app(resources=Resources(memory=128 * MB), drift="ignore")
    have = holding(before, limits=in_place_values(before), networks=frozenset())
    assert planned(after, have, records_of(before)) == [
        "% update container app (resources changed: resources.memory)",
        '    resources.memory: "64m" -> "128m"',
        "Plan: 1 to update."]


def test_an_update_under_alert_leaves_a_container_started_by_hand_while_declared_stopped_running():
    before = limited(drift="alert", state="stopped")
    after = app(resources=Resources(memory=128 * MB), drift="alert", state="stopped")
    plan = make_plan(state(after), engine(holding(before, limits=in_place_values(before))), NS,
                     PlanOptions(applied_records=records_of(before)))
    assert [a.step for t in plan.tasks for a in t.steps] == [Step.UPDATE]
