"""execute: carry out a plan on the engine. The only module that changes the engine.

It decides nothing: it runs each task's steps in order, runs the task's rollback for the step
that failed, and runs independent tasks in parallel on a bounded pool once the tasks they come
after have succeeded. Two guards belong to carrying out, not to deciding: a resource is removed
only after its labels, read fresh, still say this namespace owns it; and a remove that finds the
resource gone counts as done.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

import structlog

from reconciler import grantfiles, masking
from reconciler.changes import Cause, Change, Reason
from reconciler.hooks import run_hook
from reconciler.images.transfers import logged_pull
from reconciler.model import LABEL_MANAGED, ContainerSpec, held_by_swarm, is_owned
from reconciler.tasks import Action, Plan, Step, Task
from runtime.base import Conflict, EngineError, EngineUnavailable, InvalidSpec, NotFound, ProgressCallback, Runtime

log = structlog.get_logger("reconciler.execute")


class NotOwned(EngineError):
    """The resource no longer carries this namespace's label: it is left alone."""


class KeeperGone(Conflict):
    """The container that holds a name is gone (removed by hand meanwhile): the leftover or the
    replaced container stays, and the next pass, observing afresh, gives the name a container."""


class Interrupted(EngineError):
    """The agent was asked to stop before this step."""


@dataclass(frozen=True)
class TaskResult:
    task: Task
    ok: bool
    error: str | None = None
    failed_step: Action | None = None
    rolled_back: bool = False
    skipped: bool = False
    # the engine answered 409, or became unreachable: the next pass re-observes and retries
    retry: bool = False
    unavailable: bool = False
    seconds: float = 0.0

    def __str__(self) -> str:
        change = self.task.change
        head = f"{change.kind.verb} {change.resource} {change.name}"
        if self.ok:
            return f"{head}: done"
        what = "skipped" if self.skipped else f"failed at '{self.failed_step}'"
        tail = ", rolled back" if self.rolled_back else ""
        return f"{head}: {what}: {self.error}{tail}"


def execute(
    plan: Plan,
    runtime: Runtime,
    namespace: str,
    workers: int = 8,
    should_stop: Callable[[], bool] = lambda: False,
    progress: ProgressCallback | None = None,
    secrets: frozenset[str] = frozenset(),
) -> list[TaskResult]:
    """Run every task of `plan`; return one result per task, in completion order. A blocked
    task, and one after a task that failed or was skipped, is skipped with the reason. Each of
    `secrets` (`DesiredState.secret_values`), and the texts of a container's own secrets, is
    masked in what a failure says (the engine's or a hook's output may show them)."""
    return run_tasks(plan, lambda task: _run_task(task, runtime, namespace, should_stop, progress, secrets),
                     workers, should_stop)


def run_tasks(plan: Plan, run: Callable[[Task], TaskResult], workers: int,
              should_stop: Callable[[], bool]) -> list[TaskResult]:
    """Run each task of `plan` with `run` on a pool of `workers` threads, a task only once the
    tasks it comes `after` have succeeded; return one result per task, in completion order. A
    blocked task, one after a task that failed or was skipped, and every task once `should_stop`
    says so, is skipped with the reason (logged `task.skipped`)."""
    results: dict[str, TaskResult] = {}
    pending = {task.key: task for task in plan.tasks}
    running: dict[Future[TaskResult], str] = {}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="execute") as pool:
        while pending or running:
            while (task := _ready(pending, set(running.values()))) is not None:
                del pending[task.key]
                why = _why_skip(task, results, should_stop)
                if why:
                    results[task.key] = _skip(task, why)
                else:
                    running[pool.submit(run, task)] = task.key
            if not running:
                for key, task in pending.items():
                    results[key] = _skip(task, "tasks wait on each other")
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                results[running.pop(future)] = future.result()
    return list(results.values())


def _ready(pending: dict[str, Task], running: set[str]) -> Task | None:
    """A pending task none of whose predecessors is still pending or running."""
    busy = pending.keys() | running
    return next((t for t in pending.values() if not t.after & busy), None)


def _why_skip(task: Task, results: dict[str, TaskResult], should_stop: Callable[[], bool]) -> str | None:
    failed = sorted(k for k in task.after if k in results and not results[k].ok)
    if task.blocked:
        return task.blocked
    if failed:
        return f"{failed[0]} {'was skipped' if results[failed[0]].skipped else 'failed'}"
    return "agent stopping" if should_stop() else None


def _skip(task: Task, why: str) -> TaskResult:
    change = task.change
    log.warning("task.skipped", resource=change.resource, name=change.name, reason=why)
    return TaskResult(task, ok=False, error=why, skipped=True)


def _run_task(
    task: Task, runtime: Runtime, namespace: str, should_stop: Callable[[], bool], progress: ProgressCallback | None,
    secrets: frozenset[str],
) -> TaskResult:
    change = task.change
    started = time.monotonic()
    secrets = secrets | masking.of_spec(change.spec)
    for index, action in enumerate(task.steps):
        try:
            if should_stop():
                raise Interrupted("agent stopping")
            _perform(action, runtime, namespace, secrets, progress)
            log.debug("action.done", resource=change.resource, name=change.name, action=str(action))
        except EngineError as error:
            if action.step is Step.UPDATE and task.fallback is not None and isinstance(error, InvalidSpec):
                return _fall_back(task.fallback, masking.mask(str(error), secrets), runtime, namespace,
                                  should_stop, progress, secrets)
            rollback = task.rollback[index] if index < len(task.rollback) else ()
            rolled_back = bool(rollback) and _roll_back(rollback, runtime, namespace, change.name, secrets)
            said = masking.mask(str(error), secrets)
            log.error(
                f"{change.resource}.failed", name=change.name, action=str(action),
                error=said, rolled_back=rolled_back, **_diff_logged(change, secrets),
            )
            return TaskResult(
                task, ok=False, error=said, failed_step=action,
                rolled_back=rolled_back, retry=isinstance(error, Conflict),
                unavailable=isinstance(error, EngineUnavailable), seconds=time.monotonic() - started,
            )
    log.info(
        f"{change.resource}.{_past(change.kind.verb)}", name=change.name,
        reason="; ".join(str(c) for c in change.causes), seconds=round(time.monotonic() - started, 3),
        **_diff_logged(change, secrets),
    )
    return TaskResult(task, ok=True, seconds=time.monotonic() - started)


def _fall_back(fallback: Task, refused: str, runtime: Runtime, namespace: str, should_stop: Callable[[], bool],
               progress: ProgressCallback | None, secrets: frozenset[str]) -> TaskResult:
    """The engine refused an in-place update (`refused`, masked): run the replacement the plan
    holds for it, whose result carries the refusal among its causes."""
    change = fallback.change
    log.warning(f"{change.resource}.update_refused", name=change.name, error=refused, then=change.kind.verb)
    causes = (*change.causes, Cause(Reason.UPDATE_REFUSED, refused))
    task = dataclasses.replace(fallback, change=dataclasses.replace(change, causes=causes))
    return _run_task(task, runtime, namespace, should_stop, progress, secrets)


def _diff_logged(change: Change, secrets: frozenset[str]) -> dict[str, list[str]]:
    """The `diff` a change's log line carries: its per-field diff as `plan` prints it (none when empty)."""
    return {"diff": [masking.mask(str(d), secrets) for d in change.diff]} if change.diff else {}


def _roll_back(actions: tuple[Action, ...], runtime: Runtime, namespace: str, name: str,
               secrets: frozenset[str]) -> bool:
    ok = True
    for action in actions:
        try:
            _perform(action, runtime, namespace, secrets)
        except EngineError as error:
            log.error("rollback.failed", name=name, action=str(action), error=masking.mask(str(error), secrets))
            ok = False
    return ok


def _perform(action: Action, runtime: Runtime, namespace: str, secrets: frozenset[str],
             progress: ProgressCallback | None = None) -> None:
    try:
        _call(action, runtime, namespace, secrets, progress)
    except NotFound:
        if not action.gone_ok:
            raise
        log.info("action.target_gone", action=str(action))


def _call(action: Action, runtime: Runtime, namespace: str, secrets: frozenset[str],
          progress: ProgressCallback | None) -> None:
    step, target = action.step, action.target
    if step is Step.PULL:
        with logged_pull(target, progress) as tally:
            runtime.pull_image(target, tally)
    elif step is Step.BUILD:
        _build(action, runtime, progress)
    elif step is Step.PUSH:
        started = time.monotonic()
        digest = runtime.push_image(target, progress)
        log.info("image.pushed", ref=target, digest=digest, seconds=round(time.monotonic() - started, 3))
    elif step is Step.WRITE_FILES:
        assert isinstance(action.spec, ContainerSpec) and action.name is not None
        grantfiles.write(action.spec, action.name)
    elif step is Step.CREATE:
        runtime.create_container(action.spec, action.name, dict(action.labels))
    elif step is Step.UPDATE:
        runtime.update_container(target, action.spec)
    elif step is Step.START:
        runtime.start_container(target)
    elif step is Step.STOP:
        runtime.stop_container(target, action.timeout)
    elif step is Step.RENAME:
        runtime.rename_container(target, action.name)
    elif step is Step.WAIT:
        runtime.wait_container(target, action.condition, action.timeout)
    elif step in (Step.POST_START, Step.PRE_STOP):
        run_hook(action, runtime, secrets)
    elif step is Step.REMOVE:
        if action.keeper is not None:
            _check_keeper(runtime, action.keeper)
        _remove(runtime.container_labels, runtime.remove_container, target, namespace)
    elif step is Step.REMOVE_ADOPTED:
        _remove_adopted(runtime, target)
    elif step is Step.CREATE_NETWORK:
        runtime.create_network(action.spec, dict(action.labels))
    elif step is Step.REMOVE_NETWORK:
        _remove(runtime.network_labels, runtime.remove_network, target, namespace)
    elif step is Step.CREATE_VOLUME:
        runtime.create_volume(action.spec, dict(action.labels))
    elif step is Step.REMOVE_VOLUME:
        _remove(runtime.volume_labels, runtime.remove_volume, target, namespace)


def _build(action: Action, runtime: Runtime, progress: ProgressCallback | None) -> None:
    """Build the image of the container spec `action.spec`, tagged its `image` and its build's tag."""
    spec = action.spec
    assert isinstance(spec, ContainerSpec) and spec.build is not None
    started = time.monotonic()
    tags = tuple(dict.fromkeys((spec.image, spec.build.tag)))
    image_id = runtime.build_image(spec.build, tags, progress)
    log.info("image.built", ref=spec.image, tag=spec.build.tag, id=image_id[:19],
             seconds=round(time.monotonic() - started, 3))


def _remove(labels: Callable[[str], object], remove: Callable[[str], None], target: str, namespace: str) -> None:
    try:
        if not is_owned(labels(target), namespace):
            raise NotOwned(f"{target} does not carry the label of namespace {namespace!r}; left alone")
        remove(target)
    except NotFound:
        return


def _check_keeper(runtime: Runtime, keeper: str) -> None:
    """Raise KeeperGone unless the container `keeper` (a name or an id) exists: removing another
    container of its name now would leave the name without any (DESIGN.md §6a: a replacement's
    old container goes only once the new one exists; a keeper removed by hand meanwhile counts)."""
    try:
        runtime.container_labels(keeper)
    except NotFound:
        raise KeeperGone(f"container {keeper[:12] if len(keeper) == 64 else keeper} is gone: this one stays "
                         "until a new one holds the name") from None


def _remove_adopted(runtime: Runtime, container_id: str) -> None:
    """Remove the unowned container an adoption took over, by its id, after reading its labels
    again: one that now carries a namespace's label is not the container the plan adopted."""
    labels = runtime.container_labels(container_id)
    if (swarm := held_by_swarm(labels)) is not None:
        raise NotOwned(f"{container_id[:12]} is {swarm}; left alone")
    if LABEL_MANAGED in labels:
        raise NotOwned(f"{container_id[:12]} now carries the label of namespace {labels[LABEL_MANAGED]!r}; left alone")
    runtime.remove_container(container_id)
    log.info("container.adopted_removed", id=container_id[:12])


def _past(verb: str) -> str:
    return {"stop": "stopped", "cleanup": "cleaned_up", "build": "built"}.get(verb, verb.rstrip("e") + "ed")
