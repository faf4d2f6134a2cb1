"""A git source's revisions: applied only when a pass at that revision converged every file,
attempted otherwise, with each file's state; what is created carries the revision in a label."""

from __future__ import annotations

from reconciler.agent.revisions import Revisions, after_pass, file_states, worst
from reconciler.converge import make_plan
from reconciler.model import LABEL_REVISION, ContainerSpec, DesiredState, Source, spec_hash
from reconciler.options import PlanOptions
from reconciler.tasks import Step
from runtime.base import ObservedState

OLD, NEW = "a" * 40, "b" * 40


def test_a_converged_pass_with_every_file_valid_applies_the_revision():
    after = after_pass(Revisions(OLD, OLD, OLD), NEW, attempted=True, converged=True, files={"web.toml": "applied"})
    assert (after.in_force, after.attempted, after.applied) == (NEW, NEW, NEW)


def test_a_revision_with_an_invalid_file_stays_attempted_with_that_files_state():
    files = file_states(["web.toml", "db.toml"], invalid={"db.toml"}, unsettled={})
    after = after_pass(Revisions(OLD, OLD, OLD), NEW, attempted=True, converged=True, files=files)
    assert (after.attempted, after.applied) == (NEW, OLD)
    assert after.files == {"web.toml": "applied", "db.toml": "invalid"}


def test_a_file_takes_the_worst_state_of_its_resources():
    assert worst(["pending", "failed", "applied"]) == "failed"
    assert file_states(["web.toml"], (), {"web.toml": worst(["pending"])}) == {"web.toml": "pending"}


def test_a_pass_that_attempted_nothing_keeps_the_previous_accounting():
    before = Revisions(OLD, OLD, OLD, {"web.toml": "applied"})
    after = after_pass(before, NEW, attempted=False, converged=False, files={})
    assert (after.in_force, after.attempted, after.applied) == (NEW, OLD, OLD)
    assert after.files == {"web.toml": "applied"}


def test_what_a_plan_creates_carries_the_revision_outside_the_spec_hash():
    web = ContainerSpec(name="web", image="demo:1", source=Source("web.toml", 1))
    desired = DesiredState(containers={"web": web})
    def created_labels(options: PlanOptions) -> dict[str, str]:
        tasks = make_plan(desired, ObservedState(), "ns", options).tasks
        (create,) = [a for t in tasks for a in t.steps if a.step is Step.CREATE]
        return dict(create.labels)

    labels = created_labels(PlanOptions(revision=NEW))
    assert labels[LABEL_REVISION] == NEW
    assert created_labels(PlanOptions()) == {k: v for k, v in labels.items() if k != LABEL_REVISION}
    assert spec_hash(web) == labels["io.reconciler.spec-hash"]
