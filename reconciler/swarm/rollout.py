"""Following Swarm's rolling update of one service: when it is over, and how it ended. Pure
rules; `reconciler.swarm.execute` polls the engine with them.

Swarm (swarmkit's updater) resets a service's `UpdateStatus` when its spec is updated, sets its
state to `updating` once it starts replacing tasks, and ends in `completed`, `paused` (the
update's `failure_action = "pause"`), `rollback_completed` (`failure_action = "rollback"`: the
previous spec runs again) or `rollback_paused`. An update that leaves every task as it is (a
change of replicas, of labels, of a placement the tasks' nodes still satisfy) starts no rollout:
its state stays unset.

Swarm keeps nothing of the spec it rolled back from (its rollback empties `PreviousSpec`), so the
executor labels the service, once rolled back, with that spec's hash labels under
ROLLED_BACK_PREFIX and Swarm's reason (`rollback_labels`): what `reconciler.swarm.diff` reads
(`failed_labels`) to hold that spec back until the files change.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from reconciler.model import LABEL_FORM, LABEL_PREFIX, LABEL_SPEC_HASH, ContainerSpec
from reconciler.swarm.service_spec import LABEL_SERVICE_KEYS
from runtime.base import EngineError
from runtime.swarm_base import ObservedService

POLL_SECONDS = 0.5
# seconds an unset update state may stay unset while the tasks run before the update counts as one
# Swarm found no task to replace for (its updater starts within milliseconds of the update)
QUIET_SECONDS = 3.0

DONE = "completed"
ROLLED_BACK = "rollback_completed"
ROLLING_BACK = "rollback_started"
PAUSED = ("paused", "rollback_paused")
# update states while Swarm may still run tasks of the spec before the update (PreviousSpec) and start new ones
NOT_OVER = ("updating", ROLLING_BACK, *PAUSED)
# parts of a ServiceSpec whose change makes Swarm replace tasks
ROLLED = ("TaskTemplate", "EndpointSpec")

# seconds a task gets at least to start in `bound`, whatever `update.timeout` says (Swarm does not bound it)
START_FLOOR_SECONDS = 5.0
# seconds Docker gives a container to stop when the file sets no stop_timeout (Swarm's StopGracePeriod default)
STOP_GRACE_SECONDS = 10.0
# seconds `bound` adds for the engine's own pace (scheduling, the polls)
MARGIN_SECONDS = 10.0

# the labels of the spec Swarm rolled back from, each under this prefix, and Swarm's reason
ROLLED_BACK_PREFIX = LABEL_PREFIX + "rolled-back."
LABEL_ROLLED_BACK_WHY = LABEL_PREFIX + "rolled-back-why"
_KEPT = (LABEL_SPEC_HASH, LABEL_FORM, LABEL_SERVICE_KEYS)


class RolledBack(EngineError):
    """Swarm rolled the update back (its failure action); `why` is Swarm's reason."""

    def __init__(self, why: str) -> None:
        super().__init__(f"rolled back by Swarm: {why}")
        self.why = why


class UpdatePaused(EngineError):
    """Swarm paused the update (`failure_action = "pause"`, or a rollback that failed in turn)."""


@dataclass(frozen=True)
class Outcome:
    """How a followed update stands: `over` once it needs no more polling; `error`, when over,
    what went wrong (None: it completed)."""

    over: bool
    error: EngineError | None = None


WAITING = Outcome(over=False)


def outcome(before: ObservedService, now: ObservedService, elapsed: float, reason: str | None = None,
            task_error: str | None = None) -> Outcome:
    """How the update of service `before` (as read right before the update call) stands, `now`
    being the service read `elapsed` seconds after the call; `reason` is Swarm's reason for a
    rollback seen earlier in this rollout (`reason_seen`), which the final state no longer says, and
    `task_error` the last task error seen on an earlier poll (`task_error_seen`): the failed task may
    be gone from the task list by the time the rollback is over."""
    state = now.update_state
    error = task_error_seen(now, task_error)
    last = f"last task error: {error}" if error else None
    why = "; ".join(part for part in (reason or now.update_message, last) if part) or "no reason given"
    if state == DONE:
        return Outcome(over=True)
    if state == ROLLED_BACK:
        return Outcome(over=True, error=RolledBack(why))
    if state in PAUSED:
        return Outcome(over=True, error=UpdatePaused(f"update {state} by Swarm: {why}"))
    if state is not None:
        return WAITING
    if all(before.spec.get(part) == now.spec.get(part) for part in ROLLED):
        return Outcome(over=True)
    quiet = elapsed >= QUIET_SECONDS and now.tasks.running >= now.tasks.desired
    return Outcome(over=True) if quiet else WAITING


def bound(spec: ContainerSpec) -> float:
    """Seconds the rolling update of `spec` may take before the executor stops following it: what
    Swarm does at most (swarmkit's manager/orchestrator/update/updater.go) plus MARGIN_SECONDS.
    Swarm updates the tasks in batches of `update.parallelism` (0: all at once); per batch it stops
    the old task first (`order = "stop-first"`: up to the stop grace period, `stop_timeout`),
    waits for the new one to run, which it does not bound (allowed `update.timeout`, at least
    START_FLOOR_SECONDS, and with a declared `healthcheck` until Swarm knows it healthy or not:
    moby's cluster executor starts a task only once its container is healthy, which Docker decides
    at most `start_period` + `retries` x (`interval` + `timeout`) after its start), then sleeps
    `update.delay`, after the last batch too; then it monitors
    the tasks for `update.monitor`. Measured on Docker 20.10 it also waits one more `delay` before
    it marks the update completed (1 replica, delay 15 s: 33 s). A global service counts
    `replicas` tasks (the nodes are not known here)."""
    update = spec.update
    batches = max(1, math.ceil(spec.replicas / update.parallelism) if update.parallelism else 1)
    stop = 0.0 if update.order == "start-first" else (spec.stop_timeout if spec.stop_timeout is not None
                                                      else STOP_GRACE_SECONDS)
    check = spec.healthcheck
    health = (check.start_period + check.retries * (check.interval + check.timeout)
              if check is not None and check.test[0] != "NONE" else 0.0)
    per_batch = stop + max(update.timeout, START_FLOOR_SECONDS) + health + update.delay
    return batches * per_batch + update.delay + update.monitor + MARGIN_SECONDS


def reason_seen(now: ObservedService, earlier: str | None) -> str | None:
    """Swarm's reason for rolling back, kept across polls: while the rollback runs its message says
    why ("update rolled back due to failure or early termination of task ..."); once it is over
    the message is only "rollback completed"."""
    return now.update_message if now.update_state == ROLLING_BACK and now.update_message else earlier


def task_error_seen(now: ObservedService, earlier: str | None) -> str | None:
    """The task error of this rollout, kept across polls: the most recent one seen while Swarm
    updates or rolls back (while it rolls back, the adapter's is the error of the task Swarm's
    message blames: `runtime.swarm_observe.last_error`); once the update is over, the one seen
    before, if any: Swarm prunes a failed task from the task list (its history of 5 per slot)
    while the rollback runs, and its message no longer names it."""
    if earlier is not None and now.update_state in (ROLLED_BACK, *PAUSED):
        return earlier
    return now.tasks.last_error or earlier


def rollback_labels(failed: Mapping[str, str], why: str) -> dict[str, str]:
    """The labels that record, on a rolled-back service, the spec that failed (from its labels
    `failed`: spec hash, canonical form, service keys) and Swarm's reason `why`."""
    kept = {ROLLED_BACK_PREFIX + key.removeprefix(LABEL_PREFIX): failed[key] for key in _KEPT if key in failed}
    return {**kept, LABEL_ROLLED_BACK_WHY: why}


def failed_labels(labels: Mapping[str, str]) -> dict[str, str]:
    """The labels of the spec Swarm rolled this service back from, as `rollback_labels` recorded
    them (empty when it was not rolled back since its last update)."""
    return {LABEL_PREFIX + key.removeprefix(ROLLED_BACK_PREFIX): value for key, value in labels.items()
            if key.startswith(ROLLED_BACK_PREFIX)}
