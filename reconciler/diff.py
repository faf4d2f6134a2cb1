"""diff: from (desired, observed) to the list of changes, each with its reasons. Pure: no I/O."""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from reconciler.model import (
    LABEL_SPEC_HASH,
    ContainerSpec,
    DesiredState,
    NetworkSpec,
    Spec,
    VolumeSpec,
    changed_keys,
    spec_hash,
    spec_keys,
)
from reconciler.ownership import logical_name, recorded_keys, winner
from runtime.base import ObservedContainer, ObservedNetwork, ObservedState, ObservedVolume


class ChangeKind(enum.Enum):
    CREATE = "+"
    RECREATE = "~"
    START = ">"
    STOP = "."
    CLEANUP = "*"
    REMOVE = "-"
    CONFLICT = "!"
    RETAIN = "="
    WARN = "?"

    @property
    def verb(self) -> str:
        return self.name.lower()

    @property
    def pending(self) -> bool:
        """Something the engine still lacks: everything but what is only reported."""
        return self not in (ChangeKind.RETAIN, ChangeKind.WARN)


class Reason(enum.Enum):
    MISSING = "missing"
    SPEC_CHANGED = "spec changed"
    IMAGE_MOVED = "image moved"
    STOPPED = "stopped by hand"
    EXITED = "exited"
    DEAD = "dead"
    PAUSED = "paused by hand"
    NETWORK_DETACHED = "network detached"
    NETWORK_ATTACHED = "network attached by hand"
    NETWORK_RECREATED = "its network is recreated"
    WANT_STOPPED = "declared stopped"
    INTERRUPTED = "interrupted replacement"
    NOT_DECLARED = "no longer declared"
    NAME_TAKEN = "name held by a resource this namespace does not own"
    NO_SPEC_HASH = "owned but has no spec-hash label; left alone"
    VOLUME_CHANGED = "spec changed; volumes are never recreated"
    PRUNE = "no longer declared; --prune-volumes"
    KEEP_VOLUME = "no longer declared; kept, --prune-volumes removes it"
    IMAGE_MISSING = "image not available"


@dataclass(frozen=True)
class Cause:
    reason: Reason
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.reason.value}: {self.detail}" if self.detail else self.reason.value


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    resource: str  # container | network | volume
    name: str
    causes: tuple[Cause, ...] = ()
    spec: Spec | None = None
    # observed ids: the current holder of the name first, then leftovers to clean up
    current: tuple[str, ...] = ()
    # ids removed along the way: duplicates of an interrupted replacement, or for a network that
    # is recreated, the owned containers attached to it
    leftovers: tuple[str, ...] = ()
    current_name: str | None = None  # the engine name of `current[0]`, when it is not `name`
    needs_start: bool = False

    @property
    def key(self) -> str:
        """"kind/name": how plans, backoff and status name a resource."""
        return f"{self.resource}/{self.name}"

    def __str__(self) -> str:
        why = "; ".join(str(c) for c in self.causes)
        line = f"{self.kind.value} {self.kind.verb} {self.resource} {self.name}"
        return f"{line} ({why})" if why else line


def diff(desired: DesiredState, observed: ObservedState, prune_volumes: bool = False) -> list[Change]:
    """Every change needed to make `observed` match `desired`, in a stable order."""
    networks = _diff_networks(desired.networks, observed)
    recreated = frozenset(c.name for c in networks if c.kind is ChangeKind.RECREATE)
    return [
        *networks,
        *_diff_volumes(desired.volumes, observed, prune_volumes),
        *_diff_containers(desired, observed, recreated),
    ]


def _absent(spec: Spec, held: frozenset[str]) -> Change:
    """A declared resource that this namespace does not have: create it, unless the name is taken."""
    if spec.name in held:
        return Change(ChangeKind.CONFLICT, spec.kind, spec.name, (Cause(Reason.NAME_TAKEN),), spec)
    return Change(ChangeKind.CREATE, spec.kind, spec.name, (Cause(Reason.MISSING),), spec)


def _diff_networks(desired: Mapping[str, NetworkSpec], observed: ObservedState) -> list[Change]:
    changes = []
    held = observed.unowned.get("network", frozenset())
    owned: dict[str, ObservedNetwork] = {n.name: n for n in observed.networks}
    for name, spec in sorted(desired.items()):
        have = owned.get(name)
        if have is None:
            changes.append(_absent(spec, held))
        elif LABEL_SPEC_HASH not in have.labels:
            changes.append(Change(ChangeKind.WARN, "network", name, (Cause(Reason.NO_SPEC_HASH),)))
        elif have.labels[LABEL_SPEC_HASH] != spec_hash(spec):
            cause = Cause(Reason.SPEC_CHANGED, _keys(have.labels, spec))
            attached = tuple(sorted(c.id for c in observed.containers if name in c.networks))
            changes.append(Change(ChangeKind.RECREATE, "network", name, (cause,), spec, (have.id,), attached))
    for name, have in sorted(owned.items()):
        if name not in desired:
            changes.append(Change(ChangeKind.REMOVE, "network", name, (Cause(Reason.NOT_DECLARED),),
                                  current=(have.id,)))
    return changes


def _diff_volumes(desired: Mapping[str, VolumeSpec], observed: ObservedState, prune: bool) -> list[Change]:
    changes = []
    held = observed.unowned.get("volume", frozenset())
    owned: dict[str, ObservedVolume] = {v.name: v for v in observed.volumes}
    for name, spec in sorted(desired.items()):
        have = owned.get(name)
        if have is None:
            changes.append(_absent(spec, held))
        elif have.labels.get(LABEL_SPEC_HASH) not in (None, spec_hash(spec)):
            cause = Cause(Reason.VOLUME_CHANGED, _keys(have.labels, spec))
            changes.append(Change(ChangeKind.RETAIN, "volume", name, (cause,)))
    for name in sorted(owned.keys() - desired.keys()):
        if prune:
            changes.append(Change(ChangeKind.REMOVE, "volume", name, (Cause(Reason.PRUNE),), current=(name,)))
        else:
            changes.append(Change(ChangeKind.RETAIN, "volume", name, (Cause(Reason.KEEP_VOLUME),)))
    return changes


def _diff_containers(
    desired: DesiredState, observed: ObservedState, recreated_networks: frozenset[str]
) -> list[Change]:
    groups: dict[str, list[ObservedContainer]] = defaultdict(list)
    for c in observed.containers:
        groups[logical_name(c.labels, c.name)].append(c)
    held = observed.unowned.get("container", frozenset())
    one_shots = {d.name for c in desired.containers.values() for d in c.depends_on if d.condition == "completed"}
    changes = []
    for name, spec in sorted(desired.containers.items()):
        group = groups.get(name, [])
        if not group and name in held:
            changes.append(Change(ChangeKind.CONFLICT, "container", name, (Cause(Reason.NAME_TAKEN),), spec))
        elif not group:
            changes.append(_create(spec, observed))
        else:
            change = _compare(spec, group, observed, recreated_networks, name in one_shots)
            if change is not None:
                changes.append(change)
    for name in sorted(groups.keys() - desired.containers.keys()):
        ids = tuple(c.id for c in sorted(groups[name], key=lambda c: c.id))
        changes.append(Change(ChangeKind.REMOVE, "container", name, (Cause(Reason.NOT_DECLARED),), current=ids))
    return changes


def _create(spec: ContainerSpec, observed: ObservedState) -> Change:
    causes = [Cause(Reason.MISSING)]
    if spec.image not in observed.images:
        causes.append(Cause(Reason.IMAGE_MISSING, spec.image))
    return Change(ChangeKind.CREATE, "container", spec.name, tuple(causes), spec,
                  needs_start=spec.state == "running")


def _compare(
    spec: ContainerSpec,
    group: list[ObservedContainer],
    observed: ObservedState,
    recreated_networks: frozenset[str],
    one_shot: bool,
) -> Change | None:
    want = spec_hash(spec)
    keep = winner(group, want)
    leftovers = tuple(c.id for c in sorted(group, key=lambda c: c.id) if c.id != keep.id)
    renamed = keep.name if keep.name != spec.name else None
    if LABEL_SPEC_HASH not in keep.labels:
        return Change(ChangeKind.WARN, "container", spec.name, (Cause(Reason.NO_SPEC_HASH),))

    recreate = _recreate_causes(spec, keep, want, observed, recreated_networks)
    if recreate and spec.image not in observed.images:
        recreate.append(Cause(Reason.IMAGE_MISSING, spec.image))
    if recreate:
        return Change(ChangeKind.RECREATE, "container", spec.name, tuple(recreate), spec,
                      (keep.id,), leftovers, renamed, needs_start=spec.state == "running")

    running = keep.state in ("running", "restarting")
    done = one_shot and keep.state == "exited" and keep.exit_code == 0
    causes = []
    if leftovers or renamed:
        causes.append(Cause(Reason.INTERRUPTED, f"{len(leftovers)} leftover(s)" if leftovers else "renamed"))
    if spec.state == "running" and not running and not done:
        causes.append(_why_not_running(keep))
        kind = ChangeKind.START
    elif spec.state == "stopped" and running:
        causes.append(Cause(Reason.WANT_STOPPED))
        kind = ChangeKind.STOP
    elif causes:
        kind = ChangeKind.CLEANUP
    else:
        return None
    return Change(kind, "container", spec.name, tuple(causes), spec, (keep.id,), leftovers, renamed,
                  needs_start=kind is ChangeKind.START)


def _recreate_causes(
    spec: ContainerSpec,
    have: ObservedContainer,
    want: str,
    observed: ObservedState,
    recreated_networks: frozenset[str],
) -> list[Cause]:
    causes = []
    if have.labels.get(LABEL_SPEC_HASH) != want:
        causes.append(Cause(Reason.SPEC_CHANGED, _keys(have.labels, spec)))
    image_id = observed.images.get(spec.image)
    if image_id and have.image_id and image_id != have.image_id:
        causes.append(Cause(Reason.IMAGE_MOVED, f"{spec.image} is now {image_id.removeprefix('sha256:')[:12]}"))
    if have.state == "dead":
        causes.append(Cause(Reason.DEAD))
    elif have.state == "paused":
        causes.append(Cause(Reason.PAUSED))
    if have.state in ("running", "restarting", "paused") and spec.network_mode is None:
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
    return causes


def _why_not_running(have: ObservedContainer) -> Cause:
    """Ended by a signal (SIGKILL 137, SIGTERM 143: `docker stop`/`kill`) or never started is
    "stopped by hand"; any other exit, 0 included, is the container's own doing."""
    if have.state == "exited" and have.exit_code not in (None, 137, 143):
        return Cause(Reason.EXITED, f"code {have.exit_code}")
    return Cause(Reason.STOPPED)


def _keys(labels: Mapping[str, str], spec: Spec) -> str:
    keys = changed_keys(recorded_keys(labels), spec_keys(spec))
    return ", ".join(keys)
