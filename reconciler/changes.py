"""The vocabulary of a plan's lines: what kind of change, for what reasons. Data, no decisions."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.fielddiff import FieldDiff
from reconciler.fields import Mount
from reconciler.model import (
    FORM,
    FORM_CHANGES,
    ContainerSpec,
    Spec,
    changed_keys,
    form_of,
    resource_key,
    spec_keys,
)
from reconciler.ownership import recorded_keys


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
    PULL = "<"
    CHECK = "^"
    PUSH = "@"  # a built image sent to the registry of its `image` reference
    BLOCKED = "#"
    ADOPT = "&"  # take over an unowned resource holding a declared name (reconciler.adoption)
    UPDATE = "%"  # change the fields of `model.IN_PLACE` on the same container (reconciler.inplace)

    @property
    def verb(self) -> str:
        return self.name.lower()

    @property
    def pending(self) -> bool:
        """Something the engine still lacks: everything but what is only reported or checked."""
        return self not in (ChangeKind.RETAIN, ChangeKind.WARN, ChangeKind.CHECK)

    @property
    def actionable(self) -> bool:
        """A change made by engine calls (a check is not one: it changes nothing by itself)."""
        return self.pending and self not in (ChangeKind.CONFLICT, ChangeKind.BLOCKED)


class Reason(enum.Enum):
    MISSING = "missing"
    SPEC_CHANGED = "spec changed"
    IMAGE_MOVED = "image moved"
    IMAGE_REBUILT = "image rebuilt"
    STOPPED = "stopped by hand"
    EXITED = "exited"
    NEVER_STARTED = "created but never started"
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
    PULL_MISSING = "not on this host"
    PULL_ALWAYS = "pull = always"
    PULL_NEWER = "pull = newer"
    NOT_PUSHED = "not pushed yet"
    TIED = "tied to a replaced container"
    TIED_GONE = "tied to a container that no longer exists"
    NOT_READY = "waiting for a dependency"
    CRASH_LOOP = "crash loop"
    FAILED_RUN = "run failed"
    DATA_VOLUMES = "replaced stop-first"
    EMPTY_REFUSED = "would remove every owned container"
    FORM_CHANGED = "canonical form changed"
    BIND_MISSING = "bind source missing on this host"
    UNSUPPORTED = "not honoured by the engine"
    ANONYMOUS_KEPT = "keeps the data of its anonymous volume"
    PROFILE_INACTIVE = "profile not active"
    NOTHING_ACTIVE = "would remove every owned container: none is active"
    SECRET_CHANGED = "secret changed"  # a secret's value (its keyed hash), or how it is mounted
    CONFIG_CHANGED = "config changed"  # a config's value (its keyed hash), or how it is mounted
    ADOPT = "takes over"  # an unowned resource, as `adopt` asks (reconciler.adoption)
    ADOPT_DIFFERS = "differs"  # what the adopted resource has that the declared spec changes
    ADOPTED = "adopted; never recreated, emptied or removed"
    ADOPTED_KEPT = "no longer declared; adopted, kept"
    ADOPTION_VOID = "adoption record void"
    RELEASED = "no longer declared; adoption record dropped, network left in place"
    RESOURCES_CHANGED = "resources changed"  # fields of model.IN_PLACE, with their values (reconciler.inplace)
    NOT_UPDATABLE = "cannot update in place"  # the engine has no update call, or a limit is removed
    UPDATE_REFUSED = "update refused"  # the engine refused the update call: replaced instead
    CHANGED_BY_HAND = "changed out of band"  # fields that differ from the spec its hash label names (reconciler.drift)
    DRIFT_ALERT = 'drift = "alert": reported, not reverted'
    # --target swarm (reconciler.swarm.diff)
    REPLICAS = "replicas"  # the declared count changed: "replicas: 2 -> 3"
    MODE_CHANGED = "mode changed"  # Swarm cannot change a service's mode: it is made again
    NODES_CHANGED = "nodes changed"  # a node joined or left: the placement of `hosts` is another
    ROLLED_BACK = "rolled back by Swarm"  # quarantined until the files change, with Swarm's message
    ROLLBACK_CLEARED = "rollback record cleared"  # the files no longer declare the spec Swarm rolled back
    NO_DIGEST = "no registry digest"  # the nodes could not pull the same image
    NO_NODE = "hosts match no node of the swarm"
    SUPERSEDED = "an older value, no longer used"  # a Swarm secret or config replaced by a new value
    PER_NODE = "volumes are made by each node when a task mounts them"
    ROLLOUT_NOT_OVER = "Swarm's rolling update is not over"  # its state (updating, paused, ...), and whose
    ROLLBACK_TARGET = "kept for a rollback"  # a secret or config a service's PreviousSpec names
    IN_USE = "in use"  # a network services use, owned or not (Swarm refuses to remove it): which


@dataclass(frozen=True)
class Cause:
    reason: Reason
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.reason.value}: {self.detail}" if self.detail else self.reason.value


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    resource: str  # container | network | volume | image
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
    # the file that declares it, or for what is no longer declared, the file its labels name
    source: str | None = None
    # volumes the image declares (VOLUME), mounted as owned named volumes: see image_volume_mounts
    extra_mounts: tuple[Mount, ...] = ()
    # for a network or volume: keys of the owned containers the engine shows using it
    users: frozenset[str] = frozenset()
    # the leftover (an id of `leftovers`) that holds the desired name itself, when the keeper does not
    name_holder: str | None = None
    # a container whose image is built from its `build` first: the build's tag is not on the host
    needs_build: bool = False
    # the id of the unowned container an adoption takes over (removed once the new one runs), and
    # whether it was running (a failed adoption starts it again)
    adoptee: str | None = None
    adoptee_running: bool = False
    # what changes, field by field with values (reconciler.fielddiff): printed under the change line
    diff: tuple[FieldDiff, ...] = ()
    # --target swarm (reconciler.swarm.diff): a service's rendered ServiceSpec, and the observed
    # Version.Index an update names
    body: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)
    version: int | None = None

    @property
    def key(self) -> str:
        """"kind/name": how plans, backoff and status name a resource."""
        return resource_key(self.resource, self.name)

    def __str__(self) -> str:
        why = "; ".join(str(c) for c in self.causes)
        line = f"{self.kind.value} {self.kind.verb} {self.resource} {self.name}"
        return f"{line} ({why})" if why else line


_BUILT = frozenset({"build", "image"})  # what a rebuild changes: the build's tag, and `image` when it is that tag


def spec_changed(labels: Mapping[str, str], spec: Spec) -> Cause:
    """Why the spec hash differs: an edit, or a release that changed the canonical form."""
    form = str(form_of(labels))
    keys = changed_keys(recorded_keys(labels), spec_keys(spec, int(form)))
    if isinstance(spec, ContainerSpec) and spec.build is not None and "build" in keys and set(keys) <= _BUILT:
        return Cause(Reason.IMAGE_REBUILT, f"{spec.image} as {spec.build.tag.rpartition(':')[2]}")
    moved = set().union(*(FORM_CHANGES.get(v, ()) for v in range(int(form) + 1, FORM + 1)))
    if form != str(FORM) and set(keys) <= moved:
        return Cause(Reason.FORM_CHANGED, f"{form} -> {FORM}: {', '.join(keys)}")
    if keys and set(keys) <= {"secrets", "configs"}:
        return Cause(Reason.SECRET_CHANGED if "secrets" in keys else Reason.CONFIG_CHANGED, ", ".join(keys))
    return Cause(Reason.SPEC_CHANGED, ", ".join(keys))


def changed_key_list(labels: Mapping[str, str], spec: Spec) -> str:
    keys = changed_keys(recorded_keys(labels), spec_keys(spec, form_of(labels)))
    return ", ".join(keys)
