"""plan: from changes to an ordered DAG of tasks, each a sequence of single engine calls. Pure.

A task is what one change needs, step by step, plus for each step the steps that undo a failure
there (the rollback of a replacement). Tasks name the tasks they run after; independent tasks run
in parallel. Everything is decided here, so the executor only carries it out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from reconciler import adoption, drift, grantfiles
from reconciler.changes import Cause, Change, ChangeKind, Reason
from reconciler.desired.references import referenced
from reconciler.hooks import post_start, pre_stop
from reconciler.model import FORM, LABEL_REVISION, ContainerSpec, NetworkSpec, Spec, VolumeSpec, resource_key
from reconciler.options import DEFAULT, PlanOptions
from reconciler.ownership import next_name, owned_labels, prev_name
from reconciler.tasks import Action, Plan, Step, Task


def plan(changes: Iterable[Change], namespace: str, options: PlanOptions = DEFAULT) -> Plan:
    """Order `changes` into tasks; decide what is blocked this pass and why (held by the agent, a
    frozen file, removals held back, a dependency not ready, a prerequisite that cannot proceed)."""
    changes = tuple(sorted((_healed(c, options) for c in changes), key=_order))
    by_key = {c.key: c for c in changes}
    waits = _dependency_waits(changes)
    frozen_ties = _frozen_ties(changes, options.invalid_files)
    tasks: dict[str, Task] = {}
    for change in changes:
        steps, rollback = _with_build(change, *_steps(change, namespace, waits.get(change.name),
                                                      options.retired.get(change.key)))
        steps, rollback = grantfiles.with_files(change, steps, rollback, options.files_folder)
        if steps:
            after = _after(change, by_key, changes)
            blocked = _blocked(change, by_key, options, frozen_ties) or grantfiles.blocked(
                change, options.files_folder, options.files_refused, options.files_owner)
            fallback = _fallback(change, namespace, waits.get(change.name), options.files_folder, after)
            tasks[change.key] = Task(change, steps, rollback, after, blocked, fallback)
    if options.form != FORM:
        tasks = {key: _at_form(task, namespace, options.form) for key, task in tasks.items()}
    if options.revision:
        tasks = {key: _stamped(task, options.revision) for key, task in tasks.items()}
    return Plan(changes, block_successors(_dependents_first(tasks)))


def _stamped(task: Task, revision: str) -> Task:
    """`task` with each resource it creates labelled with the git revision it was read at."""
    def stamp(action: Action) -> Action:
        if action.step not in (Step.CREATE, Step.CREATE_NETWORK, Step.CREATE_VOLUME):
            return action
        return dataclasses.replace(action, labels=tuple(sorted((*action.labels, (LABEL_REVISION, revision)))))

    fallback = _stamped(task.fallback, revision) if task.fallback is not None else None
    return dataclasses.replace(task, steps=tuple(map(stamp, task.steps)), fallback=fallback)


def _at_form(task: Task, namespace: str, form: int) -> Task:
    """`task` with the containers it creates hashed and labelled at canonical form `form`."""
    spec = task.change.spec

    def relabel(action: Action) -> Action:
        if action.step is not Step.CREATE or not isinstance(spec, ContainerSpec):
            return action
        return dataclasses.replace(action, labels=tuple(sorted(owned_labels(spec, namespace, form).items())))

    return dataclasses.replace(task, steps=tuple(map(relabel, task.steps)))


def _fallback(change: Change, namespace: str, wait_for: str | None, files_folder: str | None,
              after: frozenset[str]) -> Task | None:
    """For an in-place update, the replacement that runs when the engine refuses it (a memory
    limit under current use, or above the swap limit the container has): see reconciler.inplace."""
    if change.kind is not ChangeKind.UPDATE or not isinstance(change.spec, ContainerSpec):
        return None
    replace = dataclasses.replace(change, kind=ChangeKind.RECREATE, needs_start=change.spec.state != "stopped")
    steps, rollback = _steps(replace, namespace, wait_for)
    return Task(replace, *grantfiles.with_files(replace, steps, rollback, files_folder), after)


def _healed(change: Change, options: PlanOptions) -> Change:
    """A quarantined container that nothing holds any more (removed by hand) is made again from
    its last-applied spec, not from the quarantined one."""
    spec = options.last_applied.get(change.key)
    if change.kind is not ChangeKind.CREATE or change.key not in options.quarantined or spec is None:
        return change
    return dataclasses.replace(change, spec=spec, causes=(
        Cause(Reason.MISSING, "made again from its last-applied spec; the desired one is quarantined"),))


def _frozen_ties(changes: tuple[Change, ...], invalid: frozenset[str]) -> dict[str, str]:
    """Target container name -> the key of a frozen container (its file invalid) tied to it."""
    ties: dict[str, str] = {}
    for change in changes:
        if change.source in invalid:
            for cause in change.causes:
                if cause.reason is Reason.TIED:
                    ties.setdefault(cause.detail.split(" ", 1)[0], change.key)
    return ties


def _dependents_first(tasks: dict[str, Task]) -> dict[str, Task]:
    """A replaced (or leftover) container that containers replaced in this plan are tied to is
    removed after them: at the end of the last one's task, which runs after the others. Podman
    refuses to remove a container whose network stack another still shares (Docker does not)."""
    tied: dict[str, list[str]] = {}  # target container key -> keys of the tasks tied to it
    for key, task in tasks.items():
        spec = task.change.spec
        targets = {cause.detail.split(" ", 1)[0] for cause in task.change.causes if cause.reason is Reason.TIED}
        if isinstance(spec, ContainerSpec) and (spec.network_mode or "").startswith("container:"):
            targets.add(spec.network_mode.removeprefix("container:"))  # tied, and changed itself too
        for target in targets:
            tied.setdefault(resource_key("container", target), []).append(key)
    for target_key, dependents in tied.items():
        target = tasks.get(target_key)
        if target is None:
            continue
        retired = set(target.change.current) | set(target.change.leftovers)
        pairs = list(zip(target.steps, target.rollback or [()] * len(target.steps), strict=True))
        moved = [step for step, _ in pairs if step.step is Step.REMOVE and step.target in retired]
        if not moved or pairs[-1][0] not in moved:  # a run-to-completion target removes its old one mid-way
            continue
        kept = [(step, undo) for step, undo in pairs if step not in moved]
        tasks[target_key] = dataclasses.replace(target, steps=tuple(s for s, _ in kept),
                                                rollback=tuple(u for _, u in kept))
        last_key, *others = sorted(dependents, reverse=True)
        last = tasks[last_key]
        undo = (*(last.rollback or [()] * len(last.steps)), *[()] * len(moved))
        tasks[last_key] = dataclasses.replace(last, steps=(*last.steps, *moved), rollback=undo,
                                              after=last.after | set(others))
    return tasks


def block_successors(tasks: dict[str, Task]) -> tuple[Task, ...]:
    """Whatever comes after a blocked task is blocked too, transitively (the Swarm plan's rule too)."""
    again = True
    while again:
        again = False
        for key, task in tasks.items():
            stuck = sorted(k for k in task.after if k in tasks and tasks[k].blocked)
            if stuck and not task.blocked:
                tasks[key] = dataclasses.replace(task, blocked=f"{stuck[0]} is blocked")
                again = True
    return tuple(tasks.values())


_KIND_ORDER = {"image": 0, "network": 1, "volume": 2, "container": 3}


def _order(change: Change) -> tuple[int, int, str]:
    removing = change.kind is ChangeKind.REMOVE
    return (removing, _KIND_ORDER[change.resource] * (-1 if removing else 1), change.name)


def _dependency_waits(changes: tuple[Change, ...]) -> dict[str, str]:
    """The condition each dependency must reach before its dependents start, for the
    dependencies this plan starts; healthy or completed outrank started."""
    rank = {"started": 0, "healthy": 1, "completed": 2}
    waits: dict[str, str] = {}
    for change in changes:
        if isinstance(change.spec, ContainerSpec) and change.kind is not ChangeKind.REMOVE:
            for dep in change.spec.depends_on:
                if rank[dep.condition] > rank.get(waits.get(dep.name, "started"), 0):
                    waits[dep.name] = dep.condition
    return waits


def _prerequisites(change: Change) -> set[str]:
    """Keys of the resources a container needs before it is created (its image, networks,
    volumes, image volumes, and the containers it depends on, takes volumes from or shares a
    network stack with)."""
    spec = change.spec
    if not isinstance(spec, ContainerSpec):
        return set()
    keys = {resource_key(kind, name) for kind, _, name in referenced(spec)}
    return keys | {resource_key("volume", m.source) for m in change.extra_mounts} | {resource_key("image", spec.image)}


def _after(change: Change, by_key: dict[str, Change], changes: tuple[Change, ...]) -> frozenset[str]:
    """A removal of a network or volume runs after the containers that use it: those attached to
    it (`users`), those that declare it, and containers being removed (their mounts are unknown)."""
    if change.kind is ChangeKind.REMOVE and change.resource in ("network", "volume"):
        return frozenset(
            c.key for c in changes if c.resource == "container"
            and (c.kind is ChangeKind.REMOVE or c.key in change.users or change.key in _prerequisites(c))
        )
    return frozenset(k for k in _prerequisites(change) if k in by_key)


def _blocked(
    change: Change, by_key: dict[str, Change], options: PlanOptions, frozen_ties: dict[str, str]
) -> str | None:
    """Why this change cannot run this pass, or None: the first rule that holds it, in this order."""
    invalid = options.invalid_files
    if change.key in options.held:
        return options.held[change.key]
    if change.key in options.quarantined and change.spec is not options.last_applied.get(change.key):
        why = options.quarantined[change.key]
        return f"{why}; its last-applied spec cannot be made again" if change.kind is ChangeKind.CREATE else why
    if change.source in invalid:
        return f"its file {change.source} is invalid; the last valid content stays in force"
    if change.kind is ChangeKind.REMOVE and invalid:
        return f"removal held back while {', '.join(sorted(invalid))} is invalid"
    if change.resource == "container" and change.name in frozen_ties:
        return (f"{frozen_ties[change.name]} is tied to it and its file is invalid: replacing it would cut that "
                "container off")
    for cause in change.causes:
        if cause.reason in _BLOCKING:
            return _BLOCKING[cause.reason](cause.detail)
    for key in sorted(_prerequisites(change)):
        if key in by_key and by_key[key].kind in (ChangeKind.CONFLICT, ChangeKind.BLOCKED):
            return f"{key} is {'in conflict' if by_key[key].kind is ChangeKind.CONFLICT else 'blocked'}"
    return None


_BLOCKING = {
    Reason.IMAGE_MISSING: lambda ref: f"image {ref} is not available",
    Reason.NOT_READY: lambda detail: f"waiting: {detail}",
    Reason.BIND_MISSING: lambda where: f"bind source {where} does not exist on this host (the long form needs it)",
    Reason.UNSUPPORTED: lambda why: why,
    Reason.NOTHING_ACTIVE: lambda profiles: (f"refused: every container the files declare is in a profile not given "
                                             f"({profiles}; a missing --profile?); pass --allow-empty to remove them"),
    Reason.EMPTY_REFUSED: lambda detail: (f"refused: {detail}: the files declare containers for other hosts only "
                                          "(a mistyped --host-id?); pass --allow-empty to remove them" if detail else
                                          "refused: the desired state declares no container (an emptied directory "
                                          "or a wrong path?); pass --allow-empty to remove them"),
}


def _steps(change: Change, namespace: str, wait_for: str | None, retired: ContainerSpec | None = None):
    """(steps, rollback) of one change; `retired`: the last spec known of a container no longer
    declared, whose pre_stop hooks run before it is removed."""
    spec = change.spec
    if change.kind in (ChangeKind.CONFLICT, ChangeKind.RETAIN, ChangeKind.WARN, ChangeKind.BLOCKED):
        return (), ()
    if change.kind is ChangeKind.ADOPT and change.resource != "container":  # a record: written by the writer
        return (), ()
    if change.kind is ChangeKind.PUSH:
        return (Action(Step.PUSH, change.name),), ()
    if change.resource == "image":
        newer = any(cause.reason is Reason.PULL_NEWER for cause in change.causes)
        return (Action(Step.CHECK if newer else Step.PULL, change.name),), ()
    if change.resource == "network":
        return _network_steps(change, namespace), ()
    if change.resource == "volume":
        if change.kind is ChangeKind.REMOVE:
            return (Action(Step.REMOVE_VOLUME, change.name),), ()
        assert isinstance(spec, VolumeSpec)
        return (Action(Step.CREATE_VOLUME, change.name, spec=spec, labels=_labels(spec, namespace)),), ()
    if change.kind is ChangeKind.REMOVE:
        return tuple(a for cid in change.current for a in (*pre_stop(cid, retired), Action(Step.REMOVE, cid))), ()
    assert isinstance(spec, ContainerSpec)
    if spec.state == "completed":  # a run-to-completion container: the pass that runs it reports its run
        wait_for = "completed"
    steps, rollback = _container_steps(change, spec, namespace, wait_for == "completed")
    condition = _CONDITION.get(wait_for or "")
    if condition and change.needs_start and not any(a.step is Step.WAIT and a.condition == condition for a in steps):
        steps.append(Action(Step.WAIT, spec.name, condition=condition, timeout=spec.update.timeout))
    if change.adoptee and change.kind is not ChangeKind.ADOPT:  # an adoption interrupted: see adoption.finished
        steps.append(Action(Step.REMOVE_ADOPTED, change.adoptee, gone_ok=True))
    keeper = change.current[0] if change.current else None
    cleanup = [Action(Step.REMOVE, cid, keeper=keeper) for cid in change.leftovers]
    if change.kind is not ChangeKind.RECREATE:
        # The keeper stays: it takes the name (a leftover holding it is parked first) and runs
        # before any leftover goes, so the name always has a container, whatever else happens
        # meanwhile (a human removing the keeper makes the rename fail, and the leftovers stay).
        holder = change.name_holder
        park = [Action(Step.RENAME, holder, name=prev_name(spec.name, holder), gone_ok=True)] if holder else []
        undo = tuple([()] * len(park) + rollback + [()] * (len(steps) - len(rollback) + len(cleanup)))
        return tuple(park + steps + cleanup), undo if any(undo) else ()
    return tuple(cleanup + steps), tuple([()] * len(cleanup) + rollback + [()] * (len(steps) - len(rollback)))


_CONDITION = {"started": "running", "healthy": "healthy", "completed": "completed"}


def _with_build(change: Change, steps: tuple[Action, ...], rollback: tuple[tuple[Action, ...], ...]):
    """A container whose image is built first: the build (and with `push`, the push) are the first
    steps of its task, so a failed build is that container's failure and the old one keeps running."""
    spec = change.spec
    if not change.needs_build or not steps or not isinstance(spec, ContainerSpec):
        return steps, rollback
    first = [Action(Step.BUILD, spec.image, spec=spec)] + ([Action(Step.PUSH, spec.image)] if spec.push else [])
    return (*first, *steps), ((),) * len(first) + tuple(rollback) if rollback else ()


def _network_steps(change: Change, namespace: str) -> tuple[Action, ...]:
    spec = change.spec
    if change.kind is ChangeKind.REMOVE:
        return (Action(Step.REMOVE_NETWORK, change.current[0]),)
    assert isinstance(spec, NetworkSpec)
    create = Action(Step.CREATE_NETWORK, change.name, spec=spec, labels=_labels(spec, namespace))
    if change.kind is ChangeKind.RECREATE:
        detach = tuple(Action(Step.REMOVE, cid) for cid in change.leftovers)
        return (*detach, Action(Step.REMOVE_NETWORK, change.current[0]), create)
    return (create,)


def _container_steps(change: Change, spec: ContainerSpec, namespace: str, one_shot: bool):
    """(steps, rollback) for one container change, without the leftover clean-up. A `one_shot`
    (run-to-completion) container is waited for until it completes. A failing post_start hook
    stops the container it started again (the next pass starts it anew)."""
    name = spec.name
    create = Action(Step.CREATE, name, name=name, spec=_effective(change, spec), labels=_labels(spec, namespace))
    start = [Action(Step.START, name)] if change.needs_start else []
    hooks = post_start(name, spec) if change.needs_start else []
    halt = [(Action(Step.STOP, name, timeout=spec.stop_timeout),)] * len(hooks)
    if change.kind is ChangeKind.CREATE or _fresh(change):
        return [create, *start, *hooks], [(), *[()] * len(start), *halt]
    if change.kind is ChangeKind.ADOPT:
        condition = "healthy" if spec.healthcheck else "running"
        return adoption.steps(change, create, [*start, *hooks], _waits(name, condition, spec) if start else [])
    old = change.current[0]
    rename = [Action(Step.RENAME, old, name=name)] if change.current_name else []
    if change.kind is ChangeKind.START:
        return [*rename, *start, *hooks], [*[()] * len(rename + start), *halt]
    if change.kind is ChangeKind.STOP:
        return [*rename, *pre_stop(old, spec), Action(Step.STOP, old, timeout=spec.stop_timeout)], []
    if change.kind is ChangeKind.CLEANUP:
        return rename, []
    if change.kind is ChangeKind.UPDATE:
        return _update(change, spec, old, rename, start, hooks, halt)
    # an old container left parked (its keeper removed by hand) takes its name back first: parking
    # it again would rename it to the name it has, which the engine refuses
    steps, rollback = _replacement(change, spec, namespace, old, one_shot)
    return [*rename, *steps], [*[()] * len(rename), *rollback]


def _update(change: Change, spec: ContainerSpec, old: str, rename: list[Action], start: list[Action],
            hooks: list[Action], halt: list[tuple[Action, ...]]):
    """(steps, rollback) of an in-place update: the update call, then the start or the stop the
    container needs as well (a failing post_start hook stops it again, as for a start)."""
    update = [*rename, Action(Step.UPDATE, old, spec=spec)]
    if change.needs_start:
        return [*update, *start, *hooks], [*[()] * len(update + start), *halt]
    if spec.drift == drift.REVERT and any(cause.reason is Reason.WANT_STOPPED for cause in change.causes):
        return [*update, *pre_stop(old, spec), Action(Step.STOP, old, timeout=spec.stop_timeout)], []
    return update, []


def _effective(change: Change, spec: ContainerSpec) -> ContainerSpec:
    """What the engine is asked to create: the declared spec plus the owned volumes that hold
    the image's VOLUME paths. Labels (the spec hash) stay those of the declared spec."""
    if not change.extra_mounts:
        return spec
    return dataclasses.replace(spec, mounts=(*spec.mounts, *change.extra_mounts))


def _fresh(change: Change) -> bool:
    """A container whose network is recreated is removed with the network; it is created anew."""
    return any(c.reason is Reason.NETWORK_RECREATED for c in change.causes)


def _replacement(change: Change, spec: ContainerSpec, namespace: str, old: str, one_shot: bool):
    """Replace `old` by a container of `spec`, crash-safe: at every step the old container or the
    new one (or both, told apart by spec hash on the next pass) carries the name's label."""
    name, temp, parked = spec.name, next_name(spec.name, old), prev_name(spec.name, old)
    condition = "healthy" if spec.healthcheck else "running"
    create = Action(Step.CREATE, temp, name=temp, spec=_effective(change, spec), labels=_labels(spec, namespace))
    stop_old = Action(Step.STOP, old, timeout=spec.stop_timeout, gone_ok=True)
    park_old = Action(Step.RENAME, old, name=parked, gone_ok=True)
    promote = Action(Step.RENAME, temp, name=name)
    remove_old = Action(Step.REMOVE, old, gone_ok=True, keeper=name)
    restore = (Action(Step.RENAME, old, name=name),)
    # a rollback that starts the old container again runs no post_start hook: it may never have stopped
    restart_old = (Action(Step.START, old),) if change.needs_start else ()
    drop_temp = (Action(Step.REMOVE, temp),)
    hooks_old = pre_stop(old, spec)  # the old container is still running when one fails
    if one_shot and change.needs_start:
        # A new run of a run-to-completion container: the old one is the record of a run that
        # ended, so it goes before the new run starts (rolling back to it would run the previous
        # spec again), and a run that fails or outlasts update.timeout is kept with its logs
        # (never stopped or removed): reported, and the next pass runs it again or finds it done.
        start = [Action(Step.START, name), *post_start(name, spec)]
        wait = Action(Step.WAIT, name, condition="completed", timeout=spec.update.timeout)
        steps = [create, *hooks_old, stop_old, park_old, promote, remove_old, *start, wait]
        rollback = [(), *[drop_temp] * len(hooks_old), drop_temp, drop_temp, drop_temp + restore, (),
                    *[()] * len(start), ()]
    elif not change.needs_start:
        steps = [create, *hooks_old, stop_old, park_old, promote, remove_old]
        rollback = [(), *[drop_temp] * len(hooks_old), drop_temp, drop_temp, drop_temp + restore, ()]
    elif spec.update.order == "start-first" and not change.extra_mounts:
        start = [Action(Step.START, temp), *post_start(temp, spec)]
        waits = _waits(temp, condition, spec)
        steps = [create, *start, *waits, *hooks_old, stop_old, park_old, promote, remove_old]
        rollback = [(), *[drop_temp] * len(start), *[drop_temp] * len(waits),
                    *[drop_temp] * len(hooks_old), drop_temp + restart_old, drop_temp + restart_old,
                    drop_temp + restore + restart_old, ()]
    else:
        start = [Action(Step.START, name), *post_start(name, spec)]
        waits = _waits(name, condition, spec)
        drop_new = (Action(Step.REMOVE, name),)
        steps = [create, *hooks_old, stop_old, park_old, promote, *start, *waits, remove_old]
        rollback = [(), *[drop_temp] * len(hooks_old), drop_temp + restart_old,
                    drop_temp + restart_old, drop_temp + restore + restart_old,
                    *[drop_new + restore + restart_old] * len(start + waits), ()]
    return steps, rollback


def _waits(target: str, condition: str, spec: ContainerSpec) -> list[Action]:
    """The new container's gate: running (or healthy) within `update.timeout`, then still running
    after `update.monitor` (Swarm's monitor: a container that exits at once is rolled back)."""
    waits = [Action(Step.WAIT, target, condition=condition, timeout=spec.update.timeout)]
    if spec.update.monitor > 0:
        waits.append(Action(Step.WAIT, target, condition="stable", timeout=spec.update.monitor))
    return waits


def _labels(spec: Spec, namespace: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(owned_labels(spec, namespace).items()))
