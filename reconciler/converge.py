"""One reconcile pass: observe, plan, execute, verify. Used by `apply` and the agent.

The steps are the pipeline's own functions; this module only strings them together:
- when the plan pulls or checks images, those run first; then the engine is observed again and
  planned again, since a pulled image brings its declared volumes and a checked one may have
  moved (the replacement a `pull = "always"` check leads to is that second plan's work); a
  `pull = "newer"` check asks the registry (`reconciler.images.newer`) and pulls only an image
  whose tag moved, whose replacements that second plan gives the reason "image moved: OLD -> NEW";
- a `build.pull = true` build whose `FROM` image moved at its registry (`reconciler.images.bases`,
  asked before the first plan) is built again and its containers replaced ("image rebuilt: ...");
- a `push = true` built image on the host that was not pushed as that image id (its push failed
  after the build) is pushed by an image change of its own (`images.pushes`), with the pulls;
- a pass whose create met a name the engine already holds (409) re-observes and runs what is
  still runnable, never escalating.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import structlog

from reconciler import adoption, grantfiles
from reconciler.changes import Cause, Change, ChangeKind, Reason
from reconciler.diff import diff
from reconciler.diff_containers import image_volumes
from reconciler.execute import TaskResult, execute
from reconciler.images import pushes
from reconciler.images.bases import BaseChecks
from reconciler.images.newer import MOVED, NewerChecks
from reconciler.model import FORM_WITHOUT_UPDATE, LABEL_SPEC_HASH, DesiredState
from reconciler.options import DEFAULT, PlanOptions
from reconciler.ownership import logical_name
from reconciler.plan import plan
from reconciler.tasks import Action, Plan, Step, Task
from runtime.base import ObservedState, ProgressCallback, Runtime
from runtime.capabilities import update_refusal
from runtime.registry import RegistryError

log = structlog.get_logger("reconciler.converge")

MAX_ATTEMPTS = 3


class Outcome:
    """What a pass's report says of its `results` and `remaining` plan: the one reading of them,
    for the host's `PassReport` and the Swarm's `reconciler.swarm.converge.SwarmReport`."""

    results: tuple[TaskResult, ...]
    remaining: Plan

    @property
    def ran(self) -> tuple[TaskResult, ...]:
        """The tasks that made engine calls, or tried to: not those the plan blocked."""
        return tuple(r for r in self.results if not r.task.blocked)

    @property
    def failures(self) -> tuple[TaskResult, ...]:
        """Tasks that failed, or were skipped after a failure; a task the plan blocked is not one."""
        return tuple(r for r in self.results if not r.ok and not r.task.blocked)

    @property
    def unavailable(self) -> bool:
        return any(r.unavailable for r in self.results)

    @property
    def converged(self) -> bool:
        """True when the next plan holds no change, nothing blocked and no crash loop (DESIGN 7)."""
        return not self.failures and not self.remaining.has_changes


@dataclass(frozen=True)
class PassReport(Outcome):
    plan: Plan
    results: tuple[TaskResult, ...]
    remaining: Plan  # what a fresh observation still finds to do after executing
    completed: dict[str, str]  # run-to-completion containers done (exit 0), name -> spec hash
    # the plans made again in the pass (after pulls and checks, after a 409) that were executed
    followed: tuple[Plan, ...] = ()
    # the owned volumes that hold image-declared VOLUME paths, as last observed
    image_volumes: tuple[str, ...] = ()
    observed: ObservedState = field(default_factory=ObservedState)  # the engine as last observed
    # the adoption records after the pass ("volume/data" -> id, see `reconciler.adoption`): what
    # the writer (apply, the agent) keeps in the state directory
    adopted: Mapping[str, str] = field(default_factory=dict)


def observe(runtime: Runtime, namespace: str, desired: DesiredState, options: PlanOptions = DEFAULT) -> ObservedState:
    """The engine as the plan needs it: owned resources, the unowned holders of declared names
    (in full for the containers to adopt), and the adopted volumes the records hold."""
    names = {
        "container": tuple(desired.containers),
        "network": tuple(desired.networks),
        "volume": tuple(dict.fromkeys((*desired.volumes, *adoption.recorded_volumes(options)))),
    }
    if adopting := adoption.asked(desired, options):
        names["adopt"] = adopting
    observed = runtime.observe(namespace, names, desired.images)
    refused = {spec.key: why for spec in (*desired.networks.values(), *desired.containers.values())
               if (why := runtime.refused(spec))}
    observed = dataclasses.replace(observed, refused=refused) if refused else observed
    cannot_update = update_refusal(runtime.capabilities)
    return dataclasses.replace(observed, cannot_update=cannot_update) if cannot_update else observed


def make_plan(desired: DesiredState, observed: ObservedState, namespace: str,
              options: PlanOptions = DEFAULT) -> Plan:
    if observed.cannot_update:  # the updatable fields stay in the hash of what is created there
        options = dataclasses.replace(options, form=FORM_WITHOUT_UPDATE)
    return plan(diff(desired, observed, options), namespace, options)


def completions(desired: DesiredState, observed: ObservedState) -> dict[str, str]:
    """name -> spec hash of each declared container that exited 0 with its current spec: the
    records that keep a run-to-completion container from running again."""
    done = {}
    for c in observed.containers:
        spec = desired.containers.get(logical_name(c.labels, c.name))
        if spec is not None and c.state == "exited" and c.exit_code == 0:
            done[spec.name] = c.labels.get(LABEL_SPEC_HASH, "")
    return {name: spec_hash for name, spec_hash in done.items() if spec_hash}


def converge(
    runtime: Runtime,
    desired: DesiredState,
    namespace: str,
    options: PlanOptions = DEFAULT,
    progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    workers: int = 8,
    checks: NewerChecks | None = None,
) -> PassReport:
    """One pass; raises EngineUnavailable when the engine cannot be reached. `checks` runs the
    `pull = "newer"` checks (its records say which are due); without it, a fresh one checks them all."""
    results: list[TaskResult] = []
    observed = observe(runtime, namespace, desired, options)
    grantfiles.prune(options.files_folder, (path for c in observed.containers for path in c.binds))
    if checks is not None:
        options = dataclasses.replace(options, not_due=options.not_due | checks.not_due(desired))
    bases = BaseChecks(checks or NewerChecks())
    options = dataclasses.replace(options, rebuild={**options.rebuild, **bases.check(desired)})
    first = make_plan(desired, observed, namespace, options)
    images = tuple(t for t in first.tasks if t.change.resource == "image")
    current, followed = first, []
    if images:
        newer = tuple(t for t in images if t.steps[0].step is Step.CHECK)
        results.extend(execute(dataclasses.replace(first, tasks=tuple(t for t in images if t not in newer)), runtime,
                               namespace, workers, should_stop, progress, desired.secret_values))
        moved: dict[str, str] = {}
        if newer:
            results.extend(_check_newer(checks or NewerChecks(), newer, observed, runtime, namespace, moved,
                                        should_stop, progress))
        pulled = frozenset(t.change.name for t in images)
        options = dataclasses.replace(options, pulled=options.pulled | pulled, moved={**options.moved, **moved})
        observed = observe(runtime, namespace, desired, options)
        current = make_plan(desired, observed, namespace, options)
        followed.append(current)
    for attempt in range(MAX_ATTEMPTS):
        if attempt:
            observed = observe(runtime, namespace, desired, options)
            current = make_plan(desired, observed, namespace, options)
            followed.append(current)
        done = execute(current, runtime, namespace, workers, should_stop, progress, desired.secret_values)
        results.extend(done)
        options = dataclasses.replace(options, adopted=adoption.records(current.changes))
        options = _rebuilt(options, done, bases)
        options = dataclasses.replace(options, pulled=options.pulled | pushes.refs(done))  # pushed: done this pass
        if not any(r.retry for r in done) or should_stop():
            break
        log.warning("pass.reobserve", reason="the engine answered 409 for a name this namespace owns")
    if any(r.task.runnable for r in results):
        observed = observe(runtime, namespace, desired, options)
        # again at the end: the files of the containers this pass replaced or removed go with them
        grantfiles.prune(options.files_folder, (path for c in observed.containers for path in c.binds))
        remaining = make_plan(desired, observed, namespace, dataclasses.replace(
            options, pulled=frozenset(), pushed={**options.pushed, **pushes.pushed(results, observed)}))
    elif any(c.kind is ChangeKind.ADOPT for c in current.changes):  # only adoption records: planned with them
        remaining = make_plan(desired, observed, namespace, options)
    else:  # nothing was done: the engine is as last observed, and the last plan is what remains
        remaining = current
    report = PassReport(first, _last_per_task(results), remaining, completions(desired, observed), tuple(followed),
                        tuple(sorted(image_volumes(desired, observed))), observed, adoption.records(remaining.changes))
    log.debug("pass.done", converged=report.converged, actions=len(report.ran), failures=len(report.failures),
              remaining=[str(c) for c in remaining.changes if c.kind.pending])
    return report


def _check_newer(checks: NewerChecks, tasks: tuple[Task, ...], observed: ObservedState, runtime: Runtime,
                 namespace: str, moved: dict[str, str], should_stop: Callable[[], bool],
                 progress: ProgressCallback | None) -> list[TaskResult]:
    """Run the `newer` checks `tasks` stand for and pull the images that moved; fills `moved` with
    ref -> "OLD -> NEW" for each one pulled. A check the registry did not answer is that image's
    failure, tried again after a growing wait (`NewerChecks`): its containers keep running."""
    found = checks.check([t.change.name for t in tasks], observed.images, runtime)
    results, pulls = [], {}
    for task in tasks:
        verdict = found[task.change.name]
        if isinstance(verdict, RegistryError):  # that image's failure; the engine answers (not "unavailable")
            results.append(TaskResult(task, ok=False, error=str(verdict), failed_step=task.steps[0]))
        elif verdict.outcome == MOVED:
            change = Change(ChangeKind.PULL, "image", verdict.ref, (Cause(Reason.IMAGE_MOVED, verdict.moved),))
            pulls[verdict.ref] = (Task(change, (Action(Step.PULL, verdict.ref),)), verdict)
        else:
            results.append(TaskResult(task, ok=True))
    if pulls:
        done = execute(Plan(tuple(t.change for t, _ in pulls.values()), tuple(t for t, _ in pulls.values())), runtime,
                       namespace, should_stop=should_stop, progress=progress)
        for result in done:
            _, verdict = pulls[result.task.change.name]
            if result.ok:
                checks.pulled(verdict.ref, runtime.resolve_image(verdict.ref) or "", verdict.remote)
                moved[verdict.ref] = verdict.moved
        results.extend(done)
    return results


def _rebuilt(options: PlanOptions, done: list[TaskResult], bases: BaseChecks) -> PlanOptions:
    """After `done` ran: the builds it made with their containers are recorded as made from their
    bases' latest digests, and are no longer to be made again in this pass."""
    tags = {a.spec.build.tag for r in done if r.ok for a in r.task.steps if a.step is Step.BUILD and a.spec.build}
    bases.built(tags)
    return dataclasses.replace(options, rebuild={t: why for t, why in options.rebuild.items() if t not in tags})


def preview(runtime: Runtime, desired: DesiredState, namespace: str, options: PlanOptions = DEFAULT) -> PassReport:
    """A pass that changes nothing (a suspended agent's): observe and plan; the plan is what remains."""
    observed = observe(runtime, namespace, desired, options)
    current = make_plan(desired, observed, namespace, options)
    return PassReport(current, (), current, completions(desired, observed),
                      image_volumes=tuple(sorted(image_volumes(desired, observed))), observed=observed,
                      adopted=dict(options.adopted))


def _last_per_task(results: list[TaskResult]) -> tuple[TaskResult, ...]:
    """When a pass was retried, each task's last attempt is the one that counts."""
    last = {r.task.key: r for r in results}
    return tuple(last.values())
