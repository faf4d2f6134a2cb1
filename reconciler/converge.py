"""One reconcile pass: observe, pull, diff, plan, execute, verify. Used by `apply` and the agent.

The steps are the pipeline's own functions; this module only strings them together, and retries
a pass whose create met a name the engine already holds (409): re-observe, never escalate.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import structlog

from reconciler.diff import diff
from reconciler.execute import TaskResult, execute
from reconciler.model import DesiredState
from reconciler.plan import Plan, plan
from runtime.base import EngineError, EngineUnavailable, ObservedState, ProgressCallback, Runtime

log = structlog.get_logger("reconciler.converge")

MAX_ATTEMPTS = 3


class Refused(Exception):
    """The pass would do something only an explicit flag allows."""


@dataclass(frozen=True)
class PassReport:
    plan: Plan
    results: tuple[TaskResult, ...]
    remaining: Plan  # what a fresh observation still finds to do after executing
    pull_errors: Mapping[str, str] = field(default_factory=dict)

    @property
    def failures(self) -> tuple[TaskResult, ...]:
        return tuple(r for r in self.results if not r.ok)

    @property
    def unavailable(self) -> bool:
        return any(r.unavailable for r in self.results)

    @property
    def converged(self) -> bool:
        return not self.failures and not self.remaining.has_changes


def observe(runtime: Runtime, namespace: str, desired: DesiredState) -> ObservedState:
    names = {
        "container": tuple(desired.containers),
        "network": tuple(desired.networks),
        "volume": tuple(desired.volumes),
    }
    return runtime.observe(namespace, names, desired.images)


def make_plan(
    desired: DesiredState,
    observed: ObservedState,
    namespace: str,
    prune_volumes: bool = False,
    allow_empty: bool = False,
) -> Plan:
    if not allow_empty and not desired.containers and observed.containers:
        raise Refused(
            f"the desired state declares no container while {len(observed.containers)} owned container(s) "
            "exist: refusing to remove them all (an emptied directory or a wrong path?); "
            "pass --allow-empty to do it"
        )
    return plan(diff(desired, observed, prune_volumes), namespace)


def images_to_pull(desired: DesiredState, observed: ObservedState) -> list[str]:
    refs = set()
    for spec in desired.containers.values():
        if spec.pull == "always" or (spec.pull == "missing" and spec.image not in observed.images):
            refs.add(spec.image)
    return sorted(refs)


def pull_images(runtime: Runtime, refs: list[str], progress: ProgressCallback | None = None) -> dict[str, str]:
    """Pull in parallel; returns ref -> error for the pulls that failed."""

    def pull(ref: str) -> tuple[str, str | None]:
        try:
            runtime.pull_image(ref, progress)
            log.info("image.pulled", image=ref)
            return ref, None
        except EngineUnavailable:
            raise
        except EngineError as error:
            log.error("image.pull_failed", image=ref, error=str(error))
            return ref, str(error)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return {ref: error for ref, error in pool.map(pull, refs) if error}


def converge(
    runtime: Runtime,
    desired: DesiredState,
    namespace: str,
    prune_volumes: bool = False,
    allow_empty: bool = False,
    progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    workers: int = 8,
    hold: Collection[str] = (),
) -> PassReport:
    """One pass. Tasks whose key ("container/web") is in `hold` wait for a later pass (their
    change stays pending). Raises Refused, or EngineUnavailable when the engine cannot be reached."""
    results: list[TaskResult] = []
    plans: list[Plan] = []
    observed = observe(runtime, namespace, desired)
    refs = images_to_pull(desired, observed)
    pull_errors = pull_images(runtime, refs, progress) if refs else {}
    for attempt in range(MAX_ATTEMPTS):
        if attempt or refs:
            observed = observe(runtime, namespace, desired)
        plans.append(make_plan(desired, observed, namespace, prune_volumes, allow_empty))
        runnable = tuple(task for task in plans[-1].tasks if task.key not in hold)
        attempt = execute(dataclasses.replace(plans[-1], tasks=runnable), runtime, namespace, workers, should_stop)
        results.extend(attempt)
        if not any(r.retry for r in attempt) or should_stop():
            break
        log.warning("pass.reobserve", reason="the engine answered 409 for a name this namespace owns")
    if results:
        remaining = make_plan(desired, observe(runtime, namespace, desired), namespace, prune_volumes, True)
    else:  # nothing was done: the engine is as last observed, and the last plan is what remains
        remaining = plans[-1]
    report = PassReport(plans[0], _last_per_task(results), remaining, pull_errors)
    left = [str(c) for c in remaining.changes if c.kind.pending]
    log.info("pass.done", converged=report.converged, actions=len(results), failures=len(report.failures),
             remaining=left)
    return report


def _last_per_task(results: list[TaskResult]) -> tuple[TaskResult, ...]:
    """When a pass was retried, each task's last attempt is the one that counts."""
    last = {r.task.key: r for r in results}
    return tuple(last.values())
