"""reconciler.swarm.rollout: when a followed rolling update of Swarm is over, and how it ended."""

from reconciler.swarm.rollout import (
    LABEL_ROLLED_BACK_WHY,
    QUIET_SECONDS,
    RolledBack,
    UpdatePaused,
    failed_labels,
    outcome,
    reason_seen,
    rollback_labels,
    task_error_seen,
)
from runtime.swarm_base import ObservedService, ObservedTasks

OLD = {"TaskTemplate": {"ContainerSpec": {"Image": "demo@sha256:1", "Env": []}},
       "Mode": {"Replicated": {"Replicas": 1}}}
NEW_ENV = {**OLD, "TaskTemplate": {"ContainerSpec": {"Image": "demo@sha256:1", "Env": ["A=1"]}}}
MORE = {**OLD, "Mode": {"Replicated": {"Replicas": 3}}}


def service(spec=OLD, state=None, message="", running=1, desired=1, last_error=None) -> ObservedService:
    return ObservedService("id1", "web", 7, {}, spec, update_state=state, update_message=message,
                           tasks=ObservedTasks(running=running, desired=desired, last_error=last_error))


def test_a_completed_update_is_over_without_error():
    result = outcome(service(), service(NEW_ENV, "completed"), 4.0)
    assert result.over and result.error is None


def test_an_update_in_progress_is_followed_on():
    assert not outcome(service(), service(NEW_ENV, "updating", "update in progress"), 60.0).over


def test_a_rollback_in_progress_is_followed_on():
    assert not outcome(service(), service(NEW_ENV, "rollback_started", "update rolled back"), 60.0).over


def test_a_rolled_back_update_fails_with_the_reason_swarm_gave_while_rolling_back_and_the_task_error():
    now = service(OLD, "rollback_completed", "rollback completed", last_error="task: non-zero exit (1)")
    result = outcome(service(), now, 20.0, "update rolled back due to failure or early termination of task x1")
    assert isinstance(result.error, RolledBack)
    assert str(result.error) == ("rolled back by Swarm: update rolled back due to failure or early termination of "
                                 "task x1; last task error: task: non-zero exit (1)")


def test_a_rolled_back_update_without_an_earlier_reason_says_swarms_final_message():
    result = outcome(service(), service(OLD, "rollback_completed", "rollback completed"), 20.0)
    assert str(result.error) == "rolled back by Swarm: rollback completed"


def test_a_rolled_back_update_names_the_task_error_seen_on_an_earlier_poll_once_the_task_is_gone():
    failing = service(NEW_ENV, "updating", "update in progress", last_error="task: non-zero exit (3)")
    done = service(OLD, "rollback_completed", "rollback completed")
    result = outcome(service(), done, 20.0, None, task_error_seen(failing, None))
    assert str(result.error) == "rolled back by Swarm: rollback completed; last task error: task: non-zero exit (3)"


def test_the_task_error_seen_is_kept_across_polls_without_one_and_replaced_by_a_newer_one():
    first = task_error_seen(service(last_error="task: non-zero exit (3)"), None)
    kept = task_error_seen(service(), first)
    assert (kept, task_error_seen(service(last_error="starting container failed"), kept)) == (
        "task: non-zero exit (3)", "starting container failed")


def test_a_paused_update_fails_naming_the_pause():
    result = outcome(service(), service(NEW_ENV, "paused", "update paused due to failure of task x1"), 9.0)
    assert isinstance(result.error, UpdatePaused)
    assert str(result.error) == "update paused by Swarm: update paused due to failure of task x1"


def test_an_update_that_leaves_the_task_template_as_it_was_is_over_at_once():
    assert outcome(service(), service(MORE, None, running=1, desired=3), 0.0).over


def test_a_changed_template_whose_rollout_has_not_started_is_waited_for():
    assert not outcome(service(), service(NEW_ENV, None), QUIET_SECONDS - 0.5).over


def test_a_changed_template_swarm_replaces_no_task_for_is_over_once_quiet_with_every_task_running():
    assert outcome(service(), service(NEW_ENV, None), QUIET_SECONDS).over


def test_a_changed_template_with_tasks_still_starting_is_waited_for_even_when_quiet():
    assert not outcome(service(), service(NEW_ENV, None, running=0, desired=1), QUIET_SECONDS + 5).over


def test_the_rollback_reason_is_kept_from_the_rollback_in_progress():
    rolling = service(NEW_ENV, "rollback_started", "update rolled back due to failure of task x1")
    assert reason_seen(rolling, None) == "update rolled back due to failure of task x1"
    assert reason_seen(service(OLD, "rollback_completed", "rollback completed"), "earlier") == "earlier"
    assert reason_seen(service(NEW_ENV, "updating", "update in progress"), None) is None


def test_the_labels_of_the_spec_rolled_back_from_are_read_back_as_they_were_with_swarms_reason():
    failed = {"io.reconciler.spec-hash": "sha256:f", "io.reconciler.form": "4", "io.reconciler.service-keys": "{}",
              "io.reconciler.managed": "ns", "app": "web"}
    labels = {"io.reconciler.spec-hash": "sha256:ok", **rollback_labels(failed, "task: non-zero exit (3)")}
    assert failed_labels(labels) == {"io.reconciler.spec-hash": "sha256:f", "io.reconciler.form": "4",
                                     "io.reconciler.service-keys": "{}"}
    assert labels[LABEL_ROLLED_BACK_WHY] == "task: non-zero exit (3)"


def test_a_service_never_rolled_back_has_no_failed_labels():
    assert failed_labels({"io.reconciler.spec-hash": "sha256:ok"}) == {}


def test_the_task_error_seen_while_rolling_back_stays_once_the_rollback_is_over():
    blamed = task_error_seen(service(NEW_ENV, "rollback_started", "update rolled back due to failure or early "
                                     "termination of task x1", last_error="task: non-zero exit (7)"), None)
    over = service(OLD, "rollback_completed", "rollback completed", last_error="task: non-zero exit (4)")
    assert task_error_seen(over, blamed) == "task: non-zero exit (7)"
