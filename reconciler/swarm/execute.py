"""Carry out a Swarm plan (`--target swarm`) on a `SwarmRuntime`. It decides nothing.

Tasks run in their `after` order, independent ones in parallel (`reconciler.execute.run_tasks`),
a failed task's successors skipped. Guards that belong to carrying out: a service is removed only
after its labels, read fresh, still say this namespace owns it; a remove that finds its target
gone is done; an update follows Swarm's rolling update to its end (`reconciler.swarm.rollout`), a
rollback being the task's failure with Swarm's reason. Secret and config values come from the
desired state (`SecretSpec.value`), never from the plan, and are never logged.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import structlog

from reconciler import masking
from reconciler.execute import Interrupted, NotOwned, TaskResult, run_tasks
from reconciler.model import LABEL_MANAGED, DesiredState, SecretSpec
from reconciler.swarm import rollout
from reconciler.tasks import Action, Plan, Step, Task
from runtime.base import Conflict, EngineError, EngineUnavailable, InvalidSpec, NotFound
from runtime.swarm_base import SwarmRuntime

log = structlog.get_logger("reconciler.swarm.execute")

WORKERS = 4


def execute(plan: Plan, runtime: SwarmRuntime, desired: DesiredState, namespace: str,
            should_stop: Callable[[], bool] = lambda: False) -> tuple[TaskResult, ...]:
    """Run every task of `plan` on `runtime` for `namespace`; one result per task, in completion
    order. What a failure says has each of `desired.secret_values` masked."""
    return tuple(run_tasks(plan, lambda task: _run_task(task, runtime, desired, namespace, should_stop),
                           WORKERS, should_stop))


def _run_task(task: Task, runtime: SwarmRuntime, desired: DesiredState, namespace: str,
              should_stop: Callable[[], bool]) -> TaskResult:
    change = task.change
    started = time.monotonic()
    for action in task.steps:
        try:
            if should_stop():
                raise Interrupted("agent stopping")
            _perform(action, task, runtime, desired, namespace, should_stop)
        except EngineError as error:
            said = masking.mask(str(error), desired.secret_values)
            event = "rolled_back" if isinstance(error, rollout.RolledBack) else "failed"
            log.error(f"{change.resource}.{event}", name=change.name, action=str(action), error=said)
            return TaskResult(task, ok=False, error=said, failed_step=action, retry=isinstance(error, Conflict),
                              unavailable=isinstance(error, EngineUnavailable), seconds=time.monotonic() - started)
    log.info(f"{change.resource}.{_past(change.kind.verb)}", name=change.name,
             reason="; ".join(str(c) for c in change.causes), seconds=round(time.monotonic() - started, 3))
    return TaskResult(task, ok=True, seconds=time.monotonic() - started)


def _perform(action: Action, task: Task, runtime: SwarmRuntime, desired: DesiredState, namespace: str,
             should_stop: Callable[[], bool]) -> None:
    step, target, labels = action.step, action.target, dict(action.labels)
    try:
        if step is Step.CREATE_SERVICE:
            runtime.create_service(_body(action))
        elif step is Step.UPDATE_SERVICE:
            _update(runtime, action, desired.secret_values, should_stop)
        elif step is Step.REMOVE_SERVICE:
            _remove_service(runtime, target, namespace, task.change.name)
        elif step is Step.CREATE_NETWORK:
            runtime.create_network(target, labels=labels, **_body(action))
        elif step is Step.REMOVE_NETWORK:
            runtime.remove_network(target)
        elif step is Step.CREATE_SECRET:
            runtime.create_secret(target, _value(desired.secrets, action), labels)
        elif step is Step.REMOVE_SECRET:
            runtime.remove_secret(target)
        elif step is Step.CREATE_CONFIG:
            runtime.create_config(target, _value(desired.configs, action), labels)
        elif step is Step.REMOVE_CONFIG:
            runtime.remove_config(target)
        else:
            raise InvalidSpec(f"{step.value} is not a step of the Swarm target")
    except NotFound:
        if step not in _GONE_IS_DONE:
            raise
        log.info("action.target_gone", action=str(action))


_GONE_IS_DONE = frozenset({Step.REMOVE_SERVICE, Step.REMOVE_NETWORK, Step.REMOVE_SECRET, Step.REMOVE_CONFIG})


def _body(action: Action) -> Mapping:
    if action.body is None:
        raise InvalidSpec(f"{action}: the plan carries no ServiceSpec")
    return action.body


def _update(runtime: SwarmRuntime, action: Action, secrets: frozenset[str], should_stop: Callable[[], bool]) -> None:
    """Update service `action.target` to the action's body (the whole rendered ServiceSpec) at its
    observed `version` (Conflict when it changed since), then, when the action gives a `timeout`,
    follow Swarm's rolling update until it is over (`rollout.outcome`): raises RolledBack /
    UpdatePaused with Swarm's reason (a rolled-back service is labelled with the spec that failed:
    `rollout.rollback_labels`), or EngineError when it is still going on after `timeout` seconds.
    `should_stop` is asked at every poll (it renews the lease of a long rolling update): True
    stops following it, Interrupted (Swarm carries the update on by itself)."""
    before = runtime.service(action.target)
    if action.version is None:
        raise InvalidSpec(f"{action}: the plan carries no observed version")
    runtime.update_service(action.target, action.version, _body(action))
    if action.timeout is None:
        return
    started, reason, task_error = time.monotonic(), None, None
    while True:
        elapsed = time.monotonic() - started
        now = runtime.service(action.target)
        reason, task_error = rollout.reason_seen(now, reason), rollout.task_error_seen(now, task_error)
        result = rollout.outcome(before, now, elapsed, reason, task_error)
        if result.over:
            if isinstance(result.error, rollout.RolledBack):
                _label_rolled_back(runtime, action, masking.mask(result.error.why, secrets))
            if result.error is not None:
                raise result.error
            return
        if elapsed >= action.timeout:
            raise EngineError(f"the rolling update is still {now.update_state or 'not started'} after "
                              f"{action.timeout:g}s" + (f": {reason}" if reason else ""))
        if should_stop():
            raise Interrupted(f"stopped following the rolling update (still {now.update_state or 'not started'}; "
                              "Swarm carries it on): agent stopping or lease lost")
        time.sleep(rollout.POLL_SECONDS)


def _label_rolled_back(runtime: SwarmRuntime, action: Action, why: str) -> None:
    """Label the service Swarm rolled back with the spec that failed (the action's body) and `why`:
    its spec as it now runs, labels added, so no task is replaced."""
    now = runtime.service(action.target)
    labels = {**(now.spec.get("Labels") or {}), **rollout.rollback_labels(_body(action).get("Labels") or {}, why)}
    runtime.update_service(action.target, now.version, {**now.spec, "Labels": labels})


def _remove_service(runtime: SwarmRuntime, service_id: str, namespace: str, name: str) -> None:
    """Remove the service after reading its labels again: one no longer owned is left alone."""
    if runtime.service(service_id).labels.get(LABEL_MANAGED) != namespace:
        raise NotOwned(f"service {name} ({service_id[:12]}) does not carry the label of namespace {namespace!r}; "
                       "left alone")
    runtime.remove_service(service_id)


def _value(declared: Mapping[str, SecretSpec], action: Action) -> bytes:
    """The value of the secret or config the action names (its declared name), from the desired state."""
    spec = declared.get(action.name or "")
    if spec is None or spec.value is None:
        raise InvalidSpec(f"{action}: the desired state holds no value for {action.name}")
    return spec.value.reveal()


def _past(verb: str) -> str:
    return verb.rstrip("e") + "ed"
