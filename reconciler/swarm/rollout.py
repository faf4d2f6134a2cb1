"""Following Swarm's rolling update of one service: when it is over, and how it ended. Pure
rules; `reconciler.swarm.execute` polls the engine with them.

Swarm (swarmkit's updater) resets a service's `UpdateStatus` when its spec is updated, sets its
state to `updating` once it starts replacing tasks, and ends in `completed`, `paused` (the
update's `failure_action = "pause"`), `rollback_completed` (`failure_action = "rollback"`: the
previous spec runs again) or `rollback_paused`. An update that leaves every task as it is (a
change of replicas, of labels, of a placement the tasks' nodes still satisfy) starts no rollout:
its state stays unset.
"""

from __future__ import annotations

from dataclasses import dataclass

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
# parts of a ServiceSpec whose change makes Swarm replace tasks
ROLLED = ("TaskTemplate", "EndpointSpec")


class RolledBack(EngineError):
    """Swarm rolled the update back (its failure action); the message is Swarm's reason."""


class UpdatePaused(EngineError):
    """Swarm paused the update (`failure_action = "pause"`, or a rollback that failed in turn)."""


@dataclass(frozen=True)
class Outcome:
    """How a followed update stands: `over` once it needs no more polling; `error`, when over,
    what went wrong (None: it completed)."""

    over: bool
    error: EngineError | None = None


WAITING = Outcome(over=False)


def outcome(before: ObservedService, now: ObservedService, elapsed: float, reason: str | None = None) -> Outcome:
    """How the update of service `before` (as read right before the update call) stands, `now`
    being the service read `elapsed` seconds after the call; `reason` is Swarm's reason for a
    rollback seen earlier in this rollout (`reason_seen`), which the final state no longer says."""
    state = now.update_state
    why = "; ".join(part for part in (reason or now.update_message, _task_error(now)) if part) or "no reason given"
    if state == DONE:
        return Outcome(over=True)
    if state == ROLLED_BACK:
        return Outcome(over=True, error=RolledBack(f"rolled back by Swarm: {why}"))
    if state in PAUSED:
        return Outcome(over=True, error=UpdatePaused(f"update {state} by Swarm: {why}"))
    if state is not None:
        return WAITING
    if all(before.spec.get(part) == now.spec.get(part) for part in ROLLED):
        return Outcome(over=True)
    quiet = elapsed >= QUIET_SECONDS and now.tasks.running >= now.tasks.desired
    return Outcome(over=True) if quiet else WAITING


def reason_seen(now: ObservedService, earlier: str | None) -> str | None:
    """Swarm's reason for rolling back, kept across polls: while the rollback runs its message says
    why ("update rolled back due to failure or early termination of task ..."); once it is over
    the message is only "rollback completed"."""
    return now.update_message if now.update_state == ROLLING_BACK and now.update_message else earlier


def _task_error(service: ObservedService) -> str | None:
    error = service.tasks.last_error
    return f"last task error: {error}" if error else None
