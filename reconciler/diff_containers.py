"""diff, for containers: each declared container against what the engine holds for its name. Pure.

The rules of DESIGN sections 5 and 6a that concern containers live here: the stable winner among
duplicates, replacement causes, containers tied to another by id, run-to-completion containers,
dependency conditions checked on every pass, crash loops the engine runs, the owned volumes
that stand in for image-declared VOLUME paths, and the anonymous volumes a replacement keeps.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Mapping

from reconciler import adoption, drift, inplace
from reconciler.changes import Cause, Change, ChangeKind, Reason, spec_changed
from reconciler.fielddiff import FieldDiff, observed_diff
from reconciler.fields import Mount
from reconciler.model import (
    LABEL_SOURCE,
    LABEL_SPEC_HASH,
    LABEL_VOLUME_OF,
    ContainerSpec,
    DesiredState,
    Source,
    VolumeSpec,
    hash_matches,
    spec_hashes,
)
from reconciler.options import PlanOptions
from reconciler.ownership import image_volume_name, logical_name, winner
from runtime.base import ObservedContainer, ObservedState
from runtime.unowned import anonymous


def image_volumes(desired: DesiredState, observed: ObservedState) -> dict[str, VolumeSpec]:
    """The owned named volumes that stand in for the anonymous volumes of image-declared `VOLUME`
    paths no declared mount covers, by volume name. Known once the image is on the host."""
    groups = _groups(observed)
    volumes = {}
    for spec in desired.containers.values():
        have = winner(groups[spec.name], spec) if spec.name in groups else None
        for mount in image_volume_mounts(spec, observed, have):
            if mount.source == image_volume_name(spec.name, mount.target):
                volumes[mount.source] = VolumeSpec(
                    name=mount.source, source=spec.source, labels={LABEL_VOLUME_OF: f"{spec.name}:{mount.target}"},
                )
    return volumes


def image_volume_mounts(
    spec: ContainerSpec, observed: ObservedState, have: ObservedContainer | None = None
) -> tuple[Mount, ...]:
    """A volume mount for each image-declared VOLUME path no declared mount covers: the owned
    volume named for the container and the path, or, where the current container keeps that
    path's data in an anonymous volume (it was made before image volumes were owned), that one,
    so its data moves to the replacement."""
    covered = {m.target.rstrip("/") for m in spec.mounts}
    kept = {path: name for path, name in (have.volumes if have else {}).items() if anonymous(name)}
    paths = observed.image_volumes.get(spec.image, ())
    return tuple(
        Mount("volume", path, kept.get(path) or image_volume_name(spec.name, path))
        for path in paths if path.rstrip("/") not in covered
    )


def data_mounts(
    spec: ContainerSpec, observed: ObservedState, have: ObservedContainer | None = None
) -> tuple[Mount, ...]:
    """What a new container of `spec` that replaces `have` (the current container, owned or
    adopted; None for a first create) mounts besides its declared mounts, so no data is left
    behind (DESIGN: "a replacement never deletes data: anonymous volumes move to the new
    container"): the image volumes (`image_volume_mounts`), then, by path, each anonymous volume
    of `have` at a path that no declared mount, tmpfs, secret or config covers and that it does
    not take from a `volumes_from` container (that container's replacement keeps it). The spec
    hash never holds them: they are the same container's data, not its spec."""
    image = image_volume_mounts(spec, observed, have)
    covered = {path.rstrip("/") for path in (*(m.target for m in (*spec.mounts, *image)), *spec.tmpfs,
                                             *(g.target for g in (*spec.secrets, *spec.configs)))}
    lent = _lent(spec, observed)
    kept = tuple(Mount("volume", path, name) for path, name in sorted((have.volumes if have else {}).items())
                 if anonymous(name) and name not in lent and path.rstrip("/") not in covered)
    return (*image, *kept)


def _lent(spec: ContainerSpec, observed: ObservedState) -> frozenset[str]:
    """The volumes `spec`'s `volumes_from` containers hold now: the engine mounts them anew."""
    sources = {entry.split(":", 1)[0] for entry in spec.volumes_from}
    holders = [*observed.containers, *(u.observed for u in observed.unowned_containers)]
    return frozenset(name for c in holders if logical_name(c.labels, c.name) in sources for name in c.volumes.values())


def _groups(observed: ObservedState) -> dict[str, list[ObservedContainer]]:
    """The containers that stand for each declared name (several after an interrupted replacement)."""
    groups: dict[str, list[ObservedContainer]] = defaultdict(list)
    for c in observed.containers:
        groups[logical_name(c.labels, c.name)].append(c)
    return groups


def diff_containers(
    desired: DesiredState, observed: ObservedState, recreated_networks: frozenset[str], options: PlanOptions
) -> list[Change]:
    groups = _groups(observed)
    held = observed.unowned.get("container", frozenset())
    one_shots = run_to_completion(desired)
    changes: dict[str, Change] = {}
    for name, spec in sorted(desired.containers.items()):
        group = groups.get(name, [])
        holder = adoption.holder(spec, observed) if adoption.requested(spec, options) else None
        taken = adoption.foreign(holder.observed.labels) if holder is not None else None
        if not group and holder is not None and taken is None:
            changes[name] = adoption.container_change(spec, holder, _create(spec, observed, options),
                                                      data_mounts(spec, observed, holder.observed))
        elif not group and name in held:
            changes[name] = Change(ChangeKind.CONFLICT, "container", name, (taken or Cause(Reason.NAME_TAKEN),),
                                   spec, source=spec.source.file)
        elif not group:
            if name not in one_shots or options.completed.get(name) not in spec_hashes(spec):
                changes[name] = _create(spec, observed, options)
        elif (change := drift.governed(spec, _compare(spec, group, observed, recreated_networks, name in one_shots,
                                                      options))) is not None:
            changes[name] = _drift_values(change, spec, group, desired.secret_values)
        if group and holder is not None and (change := adoption.finished(
                changes.get(name), spec, observed, winner(group, spec).id)):
            changes[name] = change
    _replace_tied(desired, observed, groups, changes, recreated_networks, one_shots, options)
    _hold_for_dependencies(desired, observed, groups, changes, options)
    refused = []
    if not desired.containers and not options.allow_empty and desired.inactive:
        refused.append(Cause(Reason.NOTHING_ACTIVE, ", ".join(sorted({p for ps in desired.inactive.values()
                                                                       for p in ps}))))
    elif not desired.containers and not options.allow_empty:
        host = desired.selected_for
        refused.append(Cause(Reason.EMPTY_REFUSED, f"the selection for host {host!r} is empty" if host else ""))
    for name in sorted(groups.keys() - desired.containers.keys()):
        ids = tuple(c.id for c in sorted(groups[name], key=lambda c: c.id))
        source = winner(groups[name], None).labels.get(LABEL_SOURCE)
        profiles = desired.inactive.get(name)
        why = Cause(Reason.PROFILE_INACTIVE, ", ".join(profiles)) if profiles else Cause(Reason.NOT_DECLARED)
        changes[name] = Change(ChangeKind.REMOVE, "container", name, (why, *refused), current=ids, source=source)
    return [changes[name] for name in sorted(changes)]


def run_to_completion(desired: DesiredState) -> frozenset[str]:
    """Containers that run once per spec: declared `state = "completed"`, or waited on as
    `depends_on = { x = "completed" }` (Quadlet's Type=oneshot, a Kubernetes Job)."""
    targets = {d.name for c in desired.containers.values() for d in c.depends_on if d.condition == "completed"}
    return frozenset(targets | {c.name for c in desired.containers.values() if c.state == "completed"})


def _stack_target(network_mode: str | None) -> str | None:
    """X of `container:X` (a name in a spec, an id on the engine): whose network stack is shared."""
    mode = network_mode or ""
    return mode.removeprefix("container:") if mode.startswith("container:") else None


def _tied_to(spec: ContainerSpec) -> list[str]:
    """The containers whose id this one is bound to at create: `network_mode = "container:X"`,
    `ipc`/`pid = "container:X"` and `volumes_from = ["X", "X:ro"]`, each named once."""
    stack = _stack_target(spec.network_mode)
    shared = [target for target in map(_stack_target, (spec.ipc, spec.pid)) if target]
    return list(dict.fromkeys([entry.split(":", 1)[0] for entry in spec.volumes_from] + ([stack] if stack else [])
                              + shared))


def _replace_tied(
    desired: DesiredState,
    observed: ObservedState,
    groups: Mapping[str, list[ObservedContainer]],
    changes: dict[str, Change],
    recreated_networks: frozenset[str],
    one_shots: frozenset[str],
    options: PlanOptions,
) -> None:
    """A container tied to another by id is replaced with it (its namespace or volumes would stay
    those of the removed container), and so is one pinned to an id that no longer exists."""
    again = True
    while again:
        again = False
        for name, spec in sorted(desired.containers.items()):
            group = groups.get(name)
            current = changes.get(name)
            if not group or (current is not None and current.kind not in (ChangeKind.START, ChangeKind.CLEANUP,
                                                                            ChangeKind.UPDATE)):
                continue
            causes = _tie_causes(spec, winner(group, spec), groups, changes)
            if causes:
                changes[name] = _compare(spec, group, observed, recreated_networks, name in one_shots, options, causes)
                again = True


def _tie_causes(
    spec: ContainerSpec,
    have: ObservedContainer,
    groups: Mapping[str, list[ObservedContainer]],
    changes: Mapping[str, Change],
) -> list[Cause]:
    causes = []
    stack, pinned = _stack_target(spec.network_mode), _stack_target(have.network_mode)
    for target in _tied_to(spec):
        change = changes.get(target)
        if change is not None and change.kind in (ChangeKind.CREATE, ChangeKind.RECREATE):
            causes.append(Cause(Reason.TIED, target))
        elif target == stack and _started_again(have, groups.get(target, ()), change):
            causes.append(Cause(Reason.TIED, f"{target} (started again: a new network namespace)"))
    if stack and pinned and not causes and pinned not in {c.id for c in groups.get(stack, ())}:
        causes.append(Cause(Reason.TIED_GONE, f"network_mode container:{pinned[:12]}"))
    return causes


def _started_again(have: ObservedContainer, group: Iterable[ObservedContainer], change: Change | None) -> bool:
    """The container whose network stack `have` shares is started in this plan, or was started
    (by the engine's restart policy, by hand) after `have` was: `have` is in a namespace that no
    longer exists. Judged by uptimes, which order the two starts."""
    if change is not None and change.kind is ChangeKind.START:
        return True
    running = [c.up_seconds for c in group if c.up_seconds is not None]
    return have.up_seconds is not None and bool(running) and max(running) < have.up_seconds


def _hold_for_dependencies(
    desired: DesiredState,
    observed: ObservedState,
    groups: Mapping[str, list[ObservedContainer]],
    changes: dict[str, Change],
    options: PlanOptions,
) -> None:
    """A container is started only when each dependency is started, healthy or completed as
    asked, or started in the same plan (which then waits for it): on every pass, not once."""
    for name, change in list(changes.items()):
        spec = change.spec
        if not change.needs_start or not isinstance(spec, ContainerSpec):
            continue
        waiting = []
        for dep in spec.depends_on:
            upstream = changes.get(dep.name)
            if upstream is not None and (upstream.needs_start or upstream.kind is ChangeKind.CONFLICT):
                continue
            dep_spec = desired.containers.get(dep.name)
            if dep_spec is not None and not _satisfied(dep_spec, dep.condition, groups.get(dep.name), options):
                waiting.append(Cause(Reason.NOT_READY, f"{dep.name} is not {dep.condition}"))
        if waiting:
            changes[name] = dataclasses.replace(change, causes=(*change.causes, *waiting))


def _satisfied(
    spec: ContainerSpec, condition: str, group: list[ObservedContainer] | None, options: PlanOptions
) -> bool:
    if condition == "completed" and options.completed.get(spec.name) in spec_hashes(spec):
        return True
    if not group:
        return False
    have = winner(group, spec)
    if condition == "completed":
        return have.state == "exited" and have.exit_code == 0 and hash_matches(have.labels, spec)
    if condition == "healthy":
        return have.state == "running" and have.health == "healthy"
    return have.state == "running"


def _image_missing(spec: ContainerSpec, observed: ObservedState, options: PlanOptions) -> list[Cause]:
    """The image is not on the host and no pull will bring it: `pull = "never"`, or its pull was
    tried in this pass already. A built image is brought by its container's own build step."""
    if spec.build is not None:
        return []
    if spec.image in observed.images or (spec.pull != "never" and spec.image not in options.pulled):
        return []
    return [Cause(Reason.IMAGE_MISSING, spec.image if spec.pull != "never" else f"{spec.image} (pull = never)")]


def _missing_sources(spec: ContainerSpec, options: PlanOptions) -> list[Cause]:
    return [Cause(Reason.BIND_MISSING, f"{m.source}, declared at {_declared_at(spec, m)}") for m in spec.mounts
            if m.type == "bind" and m.source in options.missing_paths]


def _unsupported(spec: ContainerSpec, observed: ObservedState) -> list[Cause]:
    """What the engine cannot honour in `spec` (observe asked `Runtime.refused`): a blocking cause."""
    refused = observed.refused.get(spec.key)
    return [Cause(Reason.UNSUPPORTED, refused)] if refused else []


def _declared_at(spec: ContainerSpec, mount: Mount) -> Source:
    """The file and line a mount is written on (the container's line when the loader gave none)."""
    return Source(spec.source.file, mount.line or spec.source.line)


def needs_build(spec: ContainerSpec, observed: ObservedState, options: PlanOptions) -> bool:
    """A built image is built (again) when the image its build's tag names is not on the host, or
    `image` names another one (retagged since): the tag holds the hash of the files and options;
    or when a `FROM` image of a `build.pull = true` build moved (`options.rebuild`)."""
    if spec.build is None:
        return False
    if spec.build.tag in options.rebuild:
        return True
    built = observed.images.get(spec.build.tag)
    return built is None or observed.images.get(spec.image) != built


def _create(spec: ContainerSpec, observed: ObservedState, options: PlanOptions) -> Change:
    causes = [Cause(Reason.MISSING), *_image_missing(spec, observed, options), *_missing_sources(spec, options),
              *_unsupported(spec, observed)]
    return Change(ChangeKind.CREATE, "container", spec.name, tuple(causes), spec,
                  needs_start=spec.state != "stopped", source=spec.source.file,
                  extra_mounts=data_mounts(spec, observed), needs_build=needs_build(spec, observed, options))


CRASH_LOOP_RESTARTS = 3  # restarts by the engine's restart policy, while recently up, that make a crash loop


def _compare(
    spec: ContainerSpec,
    group: list[ObservedContainer],
    observed: ObservedState,
    recreated_networks: frozenset[str],
    one_shot: bool,
    options: PlanOptions,
    tied: list[Cause] = (),
) -> Change | None:
    keep = winner(group, spec)
    leftovers = tuple(c.id for c in sorted(group, key=lambda c: c.id) if c.id != keep.id)
    renamed = keep.name if keep.name != spec.name else None
    holder = next((c.id for c in group if c.id != keep.id and c.name == spec.name), None)
    source = spec.source.file
    if LABEL_SPEC_HASH not in keep.labels:
        return Change(ChangeKind.WARN, "container", spec.name, (Cause(Reason.NO_SPEC_HASH),), source=source)

    recreate = [*_recreate_causes(spec, keep, observed, recreated_networks, options.moved),
                *_base_moved(spec, options), *tied]
    found = inplace.differences(spec, keep, bool(observed.cannot_update))
    hand = drift.set_by_hand(spec, keep, found, options.applied_records)
    resources, by_hand = drift.limits(spec, found, hand)
    blocked = inplace.not_updatable(resources, observed.cannot_update, hand) if resources else None
    left = drift.left_alone(spec, recreate) if resources and not blocked else []
    recreate = [c for c in recreate if c not in left]
    if resources and (recreate or blocked):
        recreate += [*drift.limit_causes(resources, hand), *([blocked] if blocked else [])]
    if recreate:
        recreate += [*_image_missing(spec, observed, options), *_missing_sources(spec, options),
                     *_unsupported(spec, observed)]
        extra = data_mounts(spec, observed, keep)
        if extra and spec.update.order == "start-first":
            kind = "image" if image_volume_mounts(spec, observed, keep) else "anonymous"
            recreate.append(Cause(Reason.DATA_VOLUMES, f"it keeps data in {kind} volumes"))
        recreate += [Cause(Reason.ANONYMOUS_KEPT, f"{m.target} in {m.source[:12]}") for m in extra
                     if anonymous(m.source)]
        return Change(ChangeKind.RECREATE, "container", spec.name, tuple(recreate), spec,
                      (keep.id,), leftovers, renamed, needs_start=spec.state != "stopped", source=source,
                      extra_mounts=extra, needs_build=needs_build(spec, observed, options),
                      diff=_field_diff(spec, keep, options) or inplace.field_diffs(resources))

    causes = [*by_hand, *left]
    if leftovers or renamed:
        causes.append(Cause(Reason.INTERRUPTED, f"{len(leftovers)} leftover(s)" if leftovers else "renamed"))
    if keep.state == "restarting" or keep.restart_count >= CRASH_LOOP_RESTARTS:
        causes.append(Cause(Reason.CRASH_LOOP, f"restarted {keep.restart_count} times by the engine"))
        return Change(ChangeKind.BLOCKED, "container", spec.name, tuple(causes), spec, (keep.id,), leftovers,
                      renamed, source=source)
    running = keep.state == "running"
    if spec.state != "stopped" and not running and not (one_shot and keep.state == "exited" and keep.exit_code == 0):
        causes.append(_why_not_running(keep, one_shot))
        kind = ChangeKind.START
    elif spec.state == "stopped" and running:
        causes.append(Cause(Reason.WANT_STOPPED))
        kind = ChangeKind.STOP
    else:
        kind = ChangeKind.CLEANUP
    if resources:  # in place; a start or stop it needs follows the update
        causes[0:0] = drift.limit_causes(resources, hand)
    elif not causes:
        return None
    return Change(ChangeKind.UPDATE if resources else kind, "container", spec.name, tuple(causes), spec, (keep.id,),
                  leftovers, renamed, needs_start=kind is ChangeKind.START, source=source, name_holder=holder,
                  diff=inplace.field_diffs(resources))


def _field_diff(spec: ContainerSpec, have: ObservedContainer, options: PlanOptions) -> tuple[FieldDiff, ...]:
    """What changes field by field when the spec hash changed, from `have`'s last-applied record."""
    if options.applied_records is None or hash_matches(have.labels, spec):
        return ()
    return options.applied_records.diff(have.id, have.labels.get(LABEL_SPEC_HASH), spec)


def _drift_values(change: Change, spec: ContainerSpec, group: list[ObservedContainer],
                  secrets: frozenset[str]) -> Change:
    """A change that undoes (or, under `drift = "alert"`, reports) a container changed by hand
    carries what drifted value by value: from what its inspect says to the spec (`drift`), its
    secrets hidden (`fielddiff.observed_diff`)."""
    have = next((c for c in group if change.current[:1] == (c.id,)), None)
    if change.diff or have is None or have.config is None or not any(
            c.reason is Reason.CHANGED_BY_HAND for c in change.causes):
        return change
    paths = drift.changed_fields(spec, have.config)
    env = {path.removeprefix("env."): have.config.env.get(path.removeprefix("env.")) for path in paths
           if path.startswith("env.")}
    seen = {path: getattr(have.config, path) for path in paths if not path.startswith("env.")}
    return dataclasses.replace(change, diff=observed_diff({**seen, **({"env": env} if env else {})}, spec, secrets,
                                                          b""))


def _recreate_causes(
    spec: ContainerSpec,
    have: ObservedContainer,
    observed: ObservedState,
    recreated_networks: frozenset[str],
    moved: Mapping[str, str],
) -> list[Cause]:
    causes = []
    if not hash_matches(have.labels, spec):
        causes.append(spec_changed(have.labels, spec))
    image_id = observed.images.get(spec.image)
    if image_id and have.image_id and image_id != have.image_id and spec.build is None:
        moved_to = moved.get(spec.image) or f"{spec.image} is now {image_id.removeprefix('sha256:')[:12]}"
        causes.append(Cause(Reason.IMAGE_MOVED, moved_to))
    if have.state == "dead":
        causes.append(Cause(Reason.DEAD))
    elif have.state == "paused":
        causes.append(Cause(Reason.PAUSED))
    if have.state in ("running", "restarting", "paused") and spec.network_mode in (None, "bridge"):
        wanted = {n.name for n in spec.networks} or {"bridge"}
        detached = sorted(wanted - have.networks)
        attached = sorted(have.networks - wanted)
        if detached:
            causes.append(Cause(Reason.NETWORK_DETACHED, ", ".join(detached)))
        if attached:
            causes.append(Cause(Reason.NETWORK_ATTACHED, ", ".join(attached)))
    hit = sorted(recreated_networks & {n.name for n in spec.networks})
    if hit:
        causes.append(Cause(Reason.NETWORK_RECREATED, ", ".join(hit)))
    return causes + drift.out_of_band(spec, have)


def _base_moved(spec: ContainerSpec, options: PlanOptions) -> list[Cause]:
    """A `build.pull = true` build whose `FROM` image moved since it was built is made again and its
    container replaced (issue 16: "image rebuilt: base REF moved OLD -> NEW")."""
    moved = options.rebuild.get(spec.build.tag) if spec.build is not None else None
    return [Cause(Reason.IMAGE_REBUILT, moved)] if moved else []


def _why_not_running(have: ObservedContainer, one_shot: bool) -> Cause:
    """Ended by a signal (SIGKILL 137, SIGTERM 143: `docker stop`/`kill`) is "stopped by hand";
    created and never started (its start failed) is said so; any other exit, 0 included, is the
    container's own doing: for a run-to-completion container, a failed run."""
    if have.state == "created":
        return Cause(Reason.NEVER_STARTED)
    if have.state == "exited" and have.exit_code not in (None, 137, 143):
        return Cause(Reason.FAILED_RUN if one_shot else Reason.EXITED, f"code {have.exit_code}")
    return Cause(Reason.STOPPED)
