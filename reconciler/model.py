"""The desired state: frozen, normalised specs with a canonical form and a stable hash.

The loader turns every short and long form of the file format into these classes, with defaults
applied, so nothing downstream ever sees a raw TOML value. `spec_hash` is computed from the
canonical form only: reformatting a file or reordering its keys changes nothing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

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
# A resource without the label was made at form 1. FORM_CHANGES: the keys each form changed.
FORM = 2
FORM_CHANGES = {2: frozenset({"devices"})}


def is_owned(labels: Mapping[str, str] | None, namespace: str) -> bool:
    """The ownership predicate, the one rule for every engine and stage: a resource belongs to
    `namespace` when its `io.reconciler.managed` label says so, and nothing else makes it ours."""
    return (labels or {}).get(LABEL_MANAGED) == namespace


# Fields that never reach the engine object itself: they steer the reconciler (order, pulls,
# replacement strategy, running or stopped, which hosts it is for) or record provenance, so
# changing them must not recreate anything.
_NOT_HASHED = frozenset({"name", "source", "depends_on", "update", "pull", "pull_interval", "state", "hosts", "push"})
# Fields left out of the canonical form while unset (None), so that adding them changed no hash.
_HASHED_WHEN_SET = frozenset({"build"})


@dataclass(frozen=True)
class Source:
    """Where a spec was declared: the file (relative to the desired-state directory) and line."""

    file: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True)
class PortMapping:
    container_port: int
    protocol: str = "tcp"
    host_ip: str | None = None
    host_port: int | None = None


# The metadata of a field that is outside the canonical form (see `canonical`).
_UNHASHED = {"hashed": False}


@dataclass(frozen=True)
class Mount:
    type: str  # volume | bind | tmpfs
    target: str
    source: str | None = None
    read_only: bool = False
    tmpfs_size: int | None = None
    # A bind written in the short form: the engine creates a missing host path (Compose's
    # bind.create_host_path). Unhashed: once created, the container is the same either way.
    create_host_path: bool = field(default=False, metadata=_UNHASHED)
    # The line the mount is written on (its own, or that of `mounts`), for messages about it.
    # Unhashed and not compared: moving it to another line changes nothing.
    line: int | None = field(default=None, metadata=_UNHASHED, compare=False)


@dataclass(frozen=True)
class Device:
    """A host device in the container, as `docker run --device` gives it."""

    host: str  # absolute path on the host
    container: str  # absolute path in the container
    permissions: str = "rwm"  # cgroup permissions: r (read), w (write), m (mknod), in that order


@dataclass(frozen=True)
class NetworkAttachment:
    name: str
    aliases: tuple[str, ...] = ()
    ipv4_address: str | None = None


@dataclass(frozen=True)
class Dependency:
    name: str
    condition: str = "started"  # started | healthy | completed


@dataclass(frozen=True)
class Healthcheck:
    test: tuple[str, ...]
    interval: float = 30.0
    timeout: float = 30.0
    retries: int = 3
    start_period: float = 0.0


@dataclass(frozen=True)
class Resources:
    memory: int | None = None
    memory_reservation: int | None = None
    cpus: float | None = None
    pids_limit: int | None = None
    shm_size: int | None = None


@dataclass(frozen=True)
class Ulimit:
    name: str
    soft: int
    hard: int


@dataclass(frozen=True)
class Logging:
    driver: str
    options: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class UpdatePolicy:
    order: str = "stop-first"  # stop-first | start-first
    timeout: float = 60.0  # seconds for the new container to run (or be healthy) before rollback
    # seconds the new container must then keep running (no exit, no restart) before the old one
    # goes: Swarm's `update_config.monitor`; a container that exits at once is rolled back. 0: none
    monitor: float = 1.0


@dataclass(frozen=True)
class Build:
    """An image built from a Dockerfile by the engine (Compose's `build`; see images.builds).

    It defines the container only through the image it yields: `tag` names that image by a hash of
    the files sent and the options, so the paths (which differ between checkouts) are unhashed."""

    context: str = field(metadata=_UNHASHED)  # absolute path of the context folder
    tag: str = ""  # REPOSITORY:build-<16 hex>, see images.builds.build_tag
    dockerfile: str = field(default="Dockerfile", metadata=_UNHASHED)  # absolute path
    args: Mapping[str, str] = field(default_factory=dict)
    target: str | None = None
    pull: bool = False  # pull the FROM images at each build, and build again when one moved (images.bases)
    # the images its Dockerfile's FROM lines name (images.bases.from_images): what `pull` checks;
    # the Dockerfile is hashed in the tag already
    bases: tuple[str, ...] = field(default=(), metadata=_UNHASHED)


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
    hosts: tuple[str, ...] = ()  # host id patterns (globs) of the hosts it is for; () is every host
    build: Build | None = None  # the image is built from a Dockerfile, tagged `image` and `build.tag`
    push: bool = False  # push `image` to its registry after a build

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

    @property
    def kind(self) -> str:
        return "volume"


Spec = ContainerSpec | NetworkSpec | VolumeSpec


@dataclass(frozen=True)
class DesiredState:
    containers: Mapping[str, ContainerSpec] = field(default_factory=dict)
    networks: Mapping[str, NetworkSpec] = field(default_factory=dict)
    volumes: Mapping[str, VolumeSpec] = field(default_factory=dict)
    # the host id whose view this is (`desired.hosts.select`), when that view left out a container
    # the files declare for other hosts: an empty view is then refused naming the host
    selected_for: str | None = None

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


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                if f.metadata.get("hashed", True)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def canonical(spec: Spec) -> dict[str, Any]:
    """The parts of a spec that define the engine object, as plain JSON-able data: every field
    but those of `_NOT_HASHED` and, in nested values, those marked `_UNHASHED` (which only steer
    how the object is created)."""
    return {
        f.name: _plain(getattr(spec, f.name))
        for f in dataclasses.fields(spec)
        if f.name not in _NOT_HASHED and not (f.name in _HASHED_WHEN_SET and getattr(spec, f.name) is None)
    }


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def spec_hash(spec: Spec) -> str:
    """sha256 of the canonical form: stable under formatting, changed by any meaningful edit.
    Computed once per spec (specs are frozen; kept beside the fields, as `cached_property` does)."""
    found = spec.__dict__.get("_spec_hash")
    if found is None:
        found = _digest({"kind": spec.kind, **canonical(spec)})
        object.__setattr__(spec, "_spec_hash", found)
    return found


def spec_keys(spec: Spec) -> dict[str, str]:
    """A short hash per top-level key, so a later pass can say which keys changed."""
    return {key: _digest(value)[:12] for key, value in canonical(spec).items()}


def changed_keys(old: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
    return sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
