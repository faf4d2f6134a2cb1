"""Rollback-aware retries, the pure decisions: which failures are quarantined, when a quarantine
lifts, how the plan shows one, and the last-applied record that holds no secret."""

from __future__ import annotations

import dataclasses
import json

import pytest

from reconciler.agent.lastapplied import CannotRestore, record, restore
from reconciler.agent.quarantine import Quarantine, lifted, own_failure, quarantines
from reconciler.converge import make_plan
from reconciler.execute import TaskResult
from reconciler.fields import Healthcheck, PortMapping, UpdatePolicy
from reconciler.model import spec_hash
from reconciler.options import PlanOptions
from reconciler.tasks import Step, Task
from tests.unit.test_diff_plan import IMAGE, IMAGE_ID, NS, db, desired, observed, printed, running, web

OLD = web()
NEW = web(env={"GREETING": "new"})


def replacement(order: str = "stop-first", new=NEW) -> Task:
    """The task that replaces the running OLD web by `new`."""
    new = dataclasses.replace(new, update=UpdatePolicy(order=order))
    plan = make_plan(desired(new, db()), observed(running(OLD, "1"), running(db(), "2")), NS)
    (task,) = plan.tasks
    return task


def failed_at(task: Task, step: str, error: str, rolled_back: bool = True) -> TaskResult:
    action = next(a for a in task.steps if str(a).startswith(step))
    return TaskResult(task, ok=False, error=error, failed_step=action, rolled_back=rolled_back)


# -- which failures are the new container's own ------------------------------------------------


@pytest.mark.parametrize("order", ["stop-first", "start-first"])
@pytest.mark.parametrize("step", [Step.START, Step.WAIT])
def test_the_new_containers_failed_start_or_wait_rolled_back_is_its_own_failure(order, step):
    task = replacement(order)
    action = next(a for a in task.steps if a.step is step)  # the old container is never started in a replacement
    result = TaskResult(task, ok=False, error="exited with code 1 while waiting for running", failed_step=action,
                        rolled_back=True)
    assert own_failure(result) == "exited with code 1 while waiting for running"


def test_a_timed_out_health_gate_is_reported_without_the_container_id():
    result = failed_at(replacement(), "wait web", "container 0123456789ab not healthy after 60s")
    assert own_failure(result) == "not healthy after 60s"


@pytest.mark.parametrize("error", ["driver failed programming external connectivity: Bind for 0.0.0.0:80 failed: "
                                   "port is already allocated", "listen tcp 0.0.0.0:80: bind: address already in use",
                                   "network front not found"])
def test_a_port_or_network_failure_is_not_the_containers_own(error):
    assert own_failure(failed_at(replacement(), "start web", error)) is None


def test_a_failure_that_was_not_rolled_back_is_not_quarantined():
    assert own_failure(failed_at(replacement(), "start web", "exited with code 1", rolled_back=False)) is None


def test_a_failed_create_is_not_the_new_containers_own_failure():
    assert own_failure(failed_at(replacement(), "create container", "no such image")) is None


def test_the_quarantine_keeps_the_spec_hash_and_the_image_id_the_failure_had():
    result = failed_at(replacement(), "wait web", "became unhealthy")
    (found,) = quarantines([result], {IMAGE: IMAGE_ID}, "abc123", 1000.0).values()
    spec = result.task.change.spec
    assert found == Quarantine("container/web", spec_hash(spec), IMAGE_ID, "abc123", "became unhealthy", 1000.0)


# -- the message, and when a quarantine lifts ---------------------------------------------------


def test_the_message_names_the_revision_in_git_mode():
    q = Quarantine("container/web", "1a2b3c4d5e6f" + "0" * 52, IMAGE_ID, "abc123", "not healthy after 60s", 0.0)
    assert q.message == "revision abc123 failed for web: not healthy after 60s; running the previous container"


def test_the_message_names_the_short_spec_hash_in_directory_mode():
    q = Quarantine("container/web", "1a2b3c4d5e6f" + "0" * 52, IMAGE_ID, None, "became unhealthy", 0.0)
    assert q.message == "spec 1a2b3c4d5e6f failed for web: became unhealthy; running the previous container"


def quarantine_of(spec, image_id: str = IMAGE_ID) -> dict[str, Quarantine]:
    return {"container/web": Quarantine("container/web", spec_hash(spec), image_id, None, "exited", 0.0)}


def test_a_quarantine_holds_while_the_spec_and_the_image_are_the_same():
    assert lifted(quarantine_of(NEW), desired(NEW, db()), {IMAGE: IMAGE_ID}) == frozenset()


def test_an_edit_lifts_the_quarantine():
    assert lifted(quarantine_of(NEW), desired(web(env={"GREETING": "newer"}), db()), {}) == {"container/web"}


def test_a_moved_tag_lifts_the_quarantine():
    assert lifted(quarantine_of(NEW), desired(NEW, db()), {IMAGE: "sha256:" + "b" * 64}) == {"container/web"}


def test_a_container_no_longer_declared_lifts_its_quarantine():
    assert lifted(quarantine_of(NEW), desired(db()), {}) == {"container/web"}


# -- the plan -----------------------------------------------------------------------------------

WHY = "spec 1a2b3c4d5e6f failed for web: exited; running the previous container"


def test_a_plan_shows_the_quarantined_replacement_blocked_with_why():
    text = printed(desired(NEW, db()), observed(running(OLD, "1"), running(db(), "2")),
                   quarantined={"container/web": WHY})
    assert text == "\n".join([
        "~ recreate container web (spec changed: env)",
        f"    blocked: {WHY}",
        "Plan: 1 blocked.",
    ])


def test_a_quarantined_container_removed_by_hand_is_created_from_its_last_applied_spec():
    options = PlanOptions(quarantined={"container/web": WHY}, last_applied={"container/web": OLD})
    plan = make_plan(desired(NEW, db()), observed(running(db(), "2")), NS, options)
    (task,) = plan.runnable
    assert str(task.change) == ("+ create container web (missing: made again from its last-applied spec; the "
                                "desired one is quarantined)")
    assert dict(task.steps[0].labels)["io.reconciler.spec-hash"] == spec_hash(OLD)
    assert task.steps[0].spec.env == {"GREETING": "hello"}


def test_a_quarantined_container_removed_by_hand_without_a_last_applied_spec_is_not_made_from_the_failed_one():
    text = printed(desired(NEW, db()), observed(running(db(), "2")), quarantined={"container/web": WHY})
    assert f"    blocked: {WHY}; its last-applied spec cannot be made again" in text.splitlines()


# -- the last-applied record ---------------------------------------------------------------------

KEY = b"k" * 32
FULL = web(env={"GREETING": "hello", "DB_URL": "postgres://app:s3cret@db/app"},
           ports=(PortMapping(80, host_port=8080),), healthcheck=Healthcheck(("CMD", "true"), interval=5.0),
           update=UpdatePolicy("start-first", 30.0))


def test_a_record_gives_back_the_very_spec():
    data = json.loads(json.dumps(record(FULL, set(), KEY)))
    assert restore(data, FULL, KEY) == FULL


def test_a_record_never_holds_a_secret_value():
    assert "s3cret" not in json.dumps(record(FULL, {"s3cret"}, KEY))


def test_a_secret_is_taken_back_from_the_current_spec_when_its_keyed_hash_matches():
    data = json.loads(json.dumps(record(FULL, {"s3cret"}, KEY)))
    current = dataclasses.replace(FULL, image="other")
    assert restore(data, current, KEY).env["DB_URL"] == "postgres://app:s3cret@db/app"


def test_a_record_whose_secret_changed_since_cannot_be_restored():
    data = record(FULL, {"s3cret"}, KEY)
    current = dataclasses.replace(FULL, env={"DB_URL": "postgres://app:rotated@db/app"})
    with pytest.raises(CannotRestore, match="it used a value from the env file that the desired spec no longer holds"):
        restore(data, current, KEY)


def test_a_record_of_something_else_cannot_be_restored():
    with pytest.raises(CannotRestore, match="not a record of a container spec"):
        restore({"name": "web", "image": 7}, FULL, KEY)
