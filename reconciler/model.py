"""The desired state: frozen, normalised specs with a canonical form and a stable hash.

The loader turns every short and long form of the file format into these classes, with defaults
applied, so nothing downstream ever sees a raw TOML value. `spec_hash` is computed from the
canonical form only: reformatting a file or reordering its keys changes nothing. The parts a
container spec is made of (mounts, limits, hooks, ...) are in `reconciler.fields`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.fields import (
    UNHASHED,
    WHEN_SET,
    Build,
    Dependency,
    Device,
    FileGrant,
    GpuRequest,
    Healthcheck,
    Hook,
    Logging,
    Mount,
    NetworkAttachment,
    PortMapping,
    Resources,
    Sealed,
    Ulimit,
    UpdatePolicy,
)

LABEL_PREFIX = "io.reconciler."
LABEL_MANAGED = LABEL_PREFIX + "managed"
LABEL_NAME = LABEL_PREFIX + "name"
LABEL_SPEC_HASH = LABEL_PREFIX + "spec-hash"
LABEL_SPEC_KEYS = LABEL_PREFIX + "spec-keys"
LABEL_SOURCE = LABEL_PREFIX + "source"
LABEL_VOLUME_OF = LABEL_PREFIX + "volume-of"  # "container:/path" of an image-declared VOLUME it stands in for
LABEL_FORM = LABEL_PREFIX + "form"
LABEL_REVISION = LABEL_PREFIX + "revision"  # the git revision (full sha) a resource was created at

# The version of the canonical form the spec hash is computed over (DESIGN section 12; the
# history is in docs/format.md). 1: the first release. 2: devices parsed as `docker run --device`.
# 3: the fields of IN_PLACE left out (the engine updates them in place: reconciler.inplace).
# A resource without the label was made at form 1. FORM_CHANGES: the keys whose canonical value
# each form changed (a container made at an older form that uses one is replaced, saying why).
FORM = 3
FORM_CHANGES = {2: frozenset({"devices"}), 3: frozenset()}
# The form containers are made at on an engine without an update call (Podman 4.3): the last one
# that hashes the fields of IN_PLACE, so a change of them replaces the container through its hash.
FORM_WITHOUT_UPDATE = 2

# The container fields the engine changes on a running container (Docker's POST
# /containers/{id}/update), as paths in the spec: outside the canonical form from form 3 on, and
# compared with what inspect reports instead (reconciler.inplace).
IN_PLACE = ("resources.memory", "resources.memory_reservation", "resources.memswap_limit", "resources.cpus",
            "resources.cpu_shares", "resources.cpuset", "resources.pids_limit", "resources.blkio.weight", "restart")


def is_owned(labels: Mapping[str, str] | None, namespace: str) -> bool:
    """The ownership predicate, the one rule for every engine and stage: a resource belongs to
    `namespace` when its `io.reconciler.managed` label says so, and nothing else makes it ours;
    what Swarm holds (`held_by_swarm`) is never ours, even with our labels copied onto it."""
    return (labels or {}).get(LABEL_MANAGED) == namespace and held_by_swarm(labels) is None


# The label prefix Swarm's executor puts on what it makes on a node: a task's container carries
# com.docker.swarm.service.id, .service.name, .task.id, .task.name, .node.id (moby's
# daemon/cluster/executor/container). Declared labels may not use it (Docker reserves com.docker.*).
SWARM_LABEL_PREFIX = "com.docker.swarm."

# The mark of what the Swarm target (`--target swarm`) creates: its overlay networks, services,
# secrets and configs carry LABEL_TARGET = TARGET_SWARM (`reconciler.swarm.service_spec.marked`).
LABEL_TARGET = LABEL_PREFIX + "target"
TARGET_SWARM = "swarm"


def held_by_swarm(labels: Mapping[str, str] | None) -> str | None:
    """Why host mode never touches a container, volume or network (never owned, adopted, imported
    or acted on): "made by the Swarm target" for what carries its mark (LABEL_TARGET), "a Swarm
    task of service NAME" (a task's container) or "made by Swarm" when a `com.docker.swarm.` label
    marks it as Swarm's; None when none of these. The one rule for every host stage."""
    found = labels or {}
    if found.get(LABEL_TARGET) == TARGET_SWARM:
        return "made by the Swarm target"
    if not any(key.startswith(SWARM_LABEL_PREFIX) for key in found):
        return None
    if SWARM_LABEL_PREFIX + "task.id" not in found:
        return "made by Swarm"
    service = found.get(SWARM_LABEL_PREFIX + "service.name") or found.get(SWARM_LABEL_PREFIX + "service.id")
    return f"a Swarm task of service {service}"


def made_by_swarm_target(labels: Mapping[str, str] | None, namespace: str) -> bool:
    """The Swarm target's ownership of a network: labelled for `namespace` and carrying the Swarm
    target's mark, so that each target owns exactly the networks it made, even in one namespace on
    one engine (a host-target overlay network on a manager stays the host target's)."""
    found = labels or {}
    return found.get(LABEL_MANAGED) == namespace and found.get(LABEL_TARGET) == TARGET_SWARM


# Fields that never reach the engine object itself: they steer the reconciler (order, pulls,
# replacement strategy, running or stopped, which hosts it is for) or record provenance, so
# changing them must not recreate anything.
NOT_HASHED = frozenset({"name", "source", "depends_on", "update", "pull", "pull_interval", "state", "hosts", "push",
                        "profiles", "post_start", "pre_stop", "adopt", "drift", "replicas", "mode"})


@dataclass(frozen=True)
class Source:
    """Where a spec was declared: the file (relative to the desired-state directory) and line."""

    file: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


def resource_key(kind: str, name: str) -> str:
    """"kind/name": how plans, backoff, holds and status name a resource (`container/web`)."""
    return f"{kind}/{name}"


class _Resource:
    kind: str
    name: str

    @property
    def key(self) -> str:
        """"kind/name": how plans, backoff and status name a resource."""
        return resource_key(self.kind, self.name)


@dataclass(frozen=True)
class ContainerSpec(_Resource):
    name: str
    image: str
    source: Source = Source("<memory>")
    pull: str = "missing"  # missing | always | never | newer
    pull_interval: float = 0.0  # seconds between two `newer` checks of the image at its registry; 0: every pass
    command: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    working_dir: str | None = None
    user: str | None = None
    hostname: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    # OCI annotations (HostConfig.Annotations, API 1.43), for runtimes and tools that read them
    annotations: Mapping[str, str] = field(default_factory=dict, metadata=WHEN_SET)
    ports: tuple[PortMapping, ...] = ()
    mounts: tuple[Mount, ...] = ()
    networks: tuple[NetworkAttachment, ...] = ()
    network_mode: str | None = None  # bridge | host | none | container:NAME
    restart: str = "no"  # no | always | unless-stopped | on-failure[:N]
    state: str = "running"  # running | stopped
    depends_on: tuple[Dependency, ...] = ()
    update: UpdatePolicy = UpdatePolicy()
    healthcheck: Healthcheck | None = None
    resources: Resources = Resources()
    extra_hosts: tuple[str, ...] = ()
    dns: tuple[str, ...] = ()
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    privileged: bool = False
    read_only: bool = False
    security_opt: tuple[str, ...] = ()
    devices: tuple[Device, ...] = ()
    sysctls: Mapping[str, str] = field(default_factory=dict)
    ulimits: tuple[Ulimit, ...] = ()
    init: bool = False
    tty: bool = False
    stop_signal: str | None = None
    stop_timeout: int | None = None
    logging: Logging | None = None
    volumes_from: tuple[str, ...] = ()
    secrets: tuple[FileGrant, ...] = field(default=(), metadata=WHEN_SET)  # Compose `secrets`, see FileGrant
    configs: tuple[FileGrant, ...] = field(default=(), metadata=WHEN_SET)  # Compose `configs`
    hosts: tuple[str, ...] = ()  # host id patterns (globs) of the hosts it is for; () is every host
    # the image is built from a Dockerfile, tagged `image` and `build.tag`
    build: Build | None = field(default=None, metadata=WHEN_SET)
    push: bool = False  # push `image` to its registry after a build
    # Compose keys added after the first release (docs/format.md has each one's engine field)
    dns_search: tuple[str, ...] = field(default=(), metadata=WHEN_SET)
    dns_opt: tuple[str, ...] = field(default=(), metadata=WHEN_SET)
    domainname: str | None = field(default=None, metadata=WHEN_SET)
    expose: tuple[str, ...] = field(default=(), metadata=WHEN_SET)  # "PORT/PROTOCOL", one per port
    group_add: tuple[str, ...] = field(default=(), metadata=WHEN_SET)
    ipc: str | None = field(default=None, metadata=WHEN_SET)  # private | shareable | host | none | container:NAME
    pid: str | None = field(default=None, metadata=WHEN_SET)  # host | container:NAME
    uts: str | None = field(default=None, metadata=WHEN_SET)  # host
    userns_mode: str | None = field(default=None, metadata=WHEN_SET)  # host
    cgroup: str | None = field(default=None, metadata=WHEN_SET)  # host | private (cgroup namespace)
    cgroup_parent: str | None = field(default=None, metadata=WHEN_SET)
    mac_address: str | None = field(default=None, metadata=WHEN_SET)
    stdin_open: bool = field(default=False, metadata=WHEN_SET)
    platform: str | None = field(default=None, metadata=WHEN_SET)  # os[/arch[/variant]]
    runtime: str | None = field(default=None, metadata=WHEN_SET)  # an OCI runtime the engine knows
    gpus: tuple[GpuRequest, ...] = field(default=(), metadata=WHEN_SET)
    storage_opt: Mapping[str, str] = field(default_factory=dict, metadata=WHEN_SET)
    tmpfs: Mapping[str, str] = field(default_factory=dict, metadata=WHEN_SET)  # path -> mount options
    device_cgroup_rules: tuple[str, ...] = field(default=(), metadata=WHEN_SET)  # "c 1:3 mr"
    oom_kill_disable: bool = field(default=False, metadata=WHEN_SET)
    oom_score_adj: int | None = field(default=None, metadata=WHEN_SET)  # -1000 to 1000
    # steer the reconciler, not the engine object (outside the hash)
    profiles: tuple[str, ...] = ()  # active only when one of them is given (--profile); () always
    post_start: tuple[Hook, ...] = ()
    pre_stop: tuple[Hook, ...] = ()
    adopt: bool = False  # take over the unowned container holding the name (docs/adoption.md)
    drift: str = "revert"  # revert | alert | ignore: what a pass does with out-of-band changes (reconciler.drift)
    # how many tasks Swarm runs (--target swarm, docs/swarm.md); one host runs exactly one container
    replicas: int = 1
    mode: str = "replicated"  # replicated | global (one task per node): Swarm's service mode

    @property
    def kind(self) -> str:
        return "container"


@dataclass(frozen=True)
class NetworkSpec(_Resource):
    name: str
    source: Source = Source("<memory>")
    driver: str = "bridge"
    subnet: str | None = None
    gateway: str | None = None
    ip_range: str | None = None
    internal: bool = False
    attachable: bool = False
    options: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    hosts: tuple[str, ...] = ()  # as for containers
    adopt: bool = False  # record the unowned network holding the name as adopted (docs/adoption.md)

    @property
    def kind(self) -> str:
        return "network"


@dataclass(frozen=True)
class VolumeSpec(_Resource):
    name: str
    source: Source = Source("<memory>")
    driver: str = "local"
    options: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    hosts: tuple[str, ...] = ()  # as for containers
    adopt: bool = False  # record the unowned volume holding the name as adopted (docs/adoption.md)

    @property
    def kind(self) -> str:
        return "volume"


@dataclass(frozen=True)
class SecretSpec(_Resource):
    """A top-level `[secret.NAME]` (DESIGN section 11): a value from exactly one of `file` (an
    absolute path), `environment` (a variable's name) or, for a config, `content`. Engine-neutral:
    on one host it is written to a file and bind-mounted; on Swarm it is a Swarm secret."""

    name: str
    source: Source = Source("<memory>")
    file: str | None = None
    environment: str | None = None
    content: str | None = None  # configs only
    digest: str = ""  # keyed hash of the value, as on FileGrant
    value: Sealed | None = field(default=None, metadata=UNHASHED, compare=False, repr=False)
    hosts: tuple[str, ...] = ()  # as for containers

    @property
    def kind(self) -> str:
        return "secret"


@dataclass(frozen=True)
class ConfigSpec(SecretSpec):
    """A top-level `[config.NAME]`: declared as a secret is, but not secret."""

    @property
    def kind(self) -> str:
        return "config"


Spec = ContainerSpec | NetworkSpec | VolumeSpec


@dataclass(frozen=True)
class DesiredState:
    containers: Mapping[str, ContainerSpec] = field(default_factory=dict)
    networks: Mapping[str, NetworkSpec] = field(default_factory=dict)
    volumes: Mapping[str, VolumeSpec] = field(default_factory=dict)
    # the host id whose view this is (`desired.hosts.select`), when that view left out a container
    # the files declare for other hosts: an empty view is then refused naming the host
    selected_for: str | None = None
    # the containers the files declare that the view of the profiles given leaves out
    # (`desired.profiles.select`), name -> their profiles: the plan removes them with that reason
    inactive: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    secrets: Mapping[str, SecretSpec] = field(default_factory=dict)
    configs: Mapping[str, ConfigSpec] = field(default_factory=dict)
    # the texts of the declared secrets and the env-file values the files use: masked in every
    # message (`reconciler.masking`)
    secret_values: frozenset[str] = field(default=frozenset(), repr=False, compare=False)

    def specs(self) -> list[Spec]:
        return [*self.networks.values(), *self.volumes.values(), *self.containers.values()]

    @property
    def images(self) -> frozenset[str]:
        built = (c.build.tag for c in self.containers.values() if c.build is not None)
        return frozenset((*(c.image for c in self.containers.values()), *built))

    def digest(self) -> str:
        """sha256 over every spec's hash: one value that names this whole desired state."""
        parts = sorted(f"{s.kind}/{s.name}={spec_hash(s)}" for s in self.specs())
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _hashed(f: dataclasses.Field, value: Any) -> bool:
    """Whether a field with this value is part of the canonical form (see `UNHASHED`, `WHEN_SET`)."""
    hashed = f.metadata.get("hashed", True)
    if hashed == "when-set":
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        return value != default
    return bool(hashed)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                if _hashed(f, getattr(value, f.name))}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def canonical(spec: Spec, form: int = FORM) -> dict[str, Any]:
    """The parts of a spec that define the engine object, as plain JSON-able data: every field
    but those of `NOT_HASHED`, those marked `UNHASHED` (which only steer how the object is
    created), and those marked `WHEN_SET` while they hold their default; from `form` 3 on, a
    container's fields of `IN_PLACE` are left out too (a `blkio` table left empty with them)."""
    parts = {
        f.name: _plain(getattr(spec, f.name))
        for f in dataclasses.fields(spec)
        if f.name not in NOT_HASHED and _hashed(f, getattr(spec, f.name))
    }
    return _without_in_place(parts) if form >= 3 and isinstance(spec, ContainerSpec) else parts


def in_place_values(spec: ContainerSpec) -> dict[str, Any]:
    """Path of `IN_PLACE` -> the declared value (None: not declared), in that order."""
    blkio = spec.resources.blkio
    values = {path: getattr(spec.resources, path.removeprefix("resources."))
              for path in IN_PLACE if path.count(".") == 1}
    values["resources.blkio.weight"] = blkio.weight if blkio else None
    return {**values, "restart": spec.restart}


def _without_in_place(parts: dict[str, Any]) -> dict[str, Any]:
    parts.pop("restart", None)
    resources = dict(parts.get("resources") or {})
    for path in IN_PLACE:
        head, _, rest = path.partition(".")
        if head == "resources" and "." not in rest:
            resources.pop(rest, None)
    blkio = dict(resources.get("blkio") or {})
    blkio.pop("weight", None)
    if blkio and any(blkio.values()):
        resources["blkio"] = blkio
    else:
        resources.pop("blkio", None)
    return {**parts, "resources": resources}


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def spec_hash(spec: Spec) -> str:
    """sha256 of the canonical form: stable under formatting, changed by any meaningful edit.
    Computed once per spec (specs are frozen; kept beside the fields, as `cached_property` does)."""
    found = spec.__dict__.get("_spec_hash")
    if found is None:
        found = _digest({"kind": spec.kind, **_canonical_at(spec, FORM)})
        object.__setattr__(spec, "_spec_hash", found)
    return found


def _canonical_at(spec: Spec, form: int) -> dict[str, Any]:
    """`canonical(spec, form)`, computed once per spec at the current form (its hash and its keys
    both need it: a Swarm plan renders both for every service). Callers must not change it."""
    if form != FORM:
        return canonical(spec, form)
    found = spec.__dict__.get("_canonical")
    if found is None:
        found = canonical(spec)
        object.__setattr__(spec, "_canonical", found)
    return found


def form_of(labels: Mapping[str, str]) -> int:
    """The canonical form a resource was made at, from its `io.reconciler.form` label (none: 1;
    one this release does not know is read as the current form)."""
    form = labels.get(LABEL_FORM, "1")
    return int(form) if form.isdigit() and int(form) <= FORM else FORM


def spec_hash_at(spec: Spec, form: int) -> str:
    """The spec hash as form `form` computed it: forms 1 and 2 hashed the fields of `IN_PLACE`
    (their other differences are changes of parsing, not of the canonical form's shape)."""
    return spec_hash(spec) if form >= 3 else _digest({"kind": spec.kind, **canonical(spec, form)})


def spec_hashes(spec: Spec) -> frozenset[str]:
    """The hashes `spec` had at each form this release reads: what a record kept by hash (a
    completed run) may hold for it."""
    return frozenset(spec_hash_at(spec, form) for form in range(1, FORM + 1))


def hash_matches(labels: Mapping[str, str], spec: Spec) -> bool:
    """Whether the resource carrying `labels` was made from `spec`, as the form it was made at
    hashes it: a container made at form 2 whose declared spec did not change matches."""
    recorded = labels.get(LABEL_SPEC_HASH)
    return recorded is not None and recorded == spec_hash_at(spec, form_of(labels))


# The limits the model keeps in `Resources` that the file writes at the container's top level, as
# Compose does: field -> the key the file writes (and the plan names).
TOP_LEVEL_LIMITS = {"cpu_shares": "cpu_shares", "cpu_period": "cpu_period", "cpu_quota": "cpu_quota",
                    "cpuset": "cpuset", "cpu_rt_period": "cpu_rt_period", "cpu_rt_runtime": "cpu_rt_runtime",
                    "mem_swappiness": "mem_swappiness", "memswap_limit": "memswap_limit", "blkio": "blkio_config"}


def spec_keys(spec: Spec, form: int = FORM) -> dict[str, str]:
    """A short hash per top-level key of the file, so a later pass can say which keys changed. The
    limits written at the top level (`cpu_shares`, `blkio_config`, ...) are keys of their own, so
    `resources` holds what its table does, as it always has; `form` as for `canonical`."""
    parts = dict(_canonical_at(spec, form))
    resources = dict(parts.get("resources") or {})
    for field_name, key in TOP_LEVEL_LIMITS.items():
        if field_name in resources:
            parts[key] = resources.pop(field_name)
    if "resources" in parts:
        parts["resources"] = resources
    return {key: _digest(value)[:12] for key, value in parts.items()}


def changed_keys(old: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
    return sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
