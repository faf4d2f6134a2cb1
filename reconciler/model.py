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
_NOT_HASHED = frozenset({"name", "source", "depends_on", "update", "pull", "pull_interval", "state", "hosts", "push",
                         "profiles", "post_start", "pre_stop"})


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
# The metadata of a field that is in the canonical form only while it differs from its default:
# every key added after the first release, so that a file which does not use it keeps its hash.
_WHEN_SET = {"hashed": "when-set"}


@dataclass(frozen=True)
class Mount:
    type: str  # volume | bind | tmpfs
    target: str
    source: str | None = None
    read_only: bool = False
    tmpfs_size: int | None = None
    tmpfs_mode: int | None = field(default=None, metadata=_WHEN_SET)  # file mode bits of the tmpfs root
    labels: Mapping[str, str] = field(default_factory=dict, metadata=_WHEN_SET)  # of a volume the mount creates
    nocopy: bool = field(default=False, metadata=_WHEN_SET)  # do not copy the image's files into a new volume
    subpath: str | None = field(default=None, metadata=_WHEN_SET)  # a folder inside the volume (API 1.45)
    propagation: str | None = field(default=None, metadata=_WHEN_SET)  # bind propagation: rprivate, shared, ...
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
    # seconds between checks during start_period (Compose's start_interval; API 1.44); None: interval
    start_interval: float | None = field(default=None, metadata=_WHEN_SET)


@dataclass(frozen=True)
class Throttle:
    """A per-device block I/O setting (Compose `blkio_config.device_read_bps` and the like)."""

    path: str  # the device's absolute host path
    rate: int  # bytes per second, operations per second, or a weight (10-1000)


@dataclass(frozen=True)
class Blkio:
    """Compose's `blkio_config`: block I/O weight and per-device limits."""

    weight: int | None = None  # 10-1000
    weight_device: tuple[Throttle, ...] = ()
    device_read_bps: tuple[Throttle, ...] = ()
    device_write_bps: tuple[Throttle, ...] = ()
    device_read_iops: tuple[Throttle, ...] = ()
    device_write_iops: tuple[Throttle, ...] = ()


@dataclass(frozen=True)
class Resources:
    """The container's resource limits. `memory` to `shm_size` are written in the file's
    `resources` table; the others are Compose's top-level keys (`cpu_shares`, `blkio_config`, ...),
    grouped here because the engine sets them all in HostConfig."""

    memory: int | None = None
    memory_reservation: int | None = None
    cpus: float | None = None
    pids_limit: int | None = None
    shm_size: int | None = None
    cpu_shares: int | None = field(default=None, metadata=_WHEN_SET)  # relative weight
    cpu_period: int | None = field(default=None, metadata=_WHEN_SET)  # CFS period, microseconds
    cpu_quota: int | None = field(default=None, metadata=_WHEN_SET)  # CFS quota, microseconds
    cpuset: str | None = field(default=None, metadata=_WHEN_SET)  # CPUs allowed: "0-3", "0,1"
    cpu_rt_period: int | None = field(default=None, metadata=_WHEN_SET)  # real-time period, microseconds
    cpu_rt_runtime: int | None = field(default=None, metadata=_WHEN_SET)  # real-time runtime, microseconds
    mem_swappiness: int | None = field(default=None, metadata=_WHEN_SET)  # 0-100
    memswap_limit: int | None = field(default=None, metadata=_WHEN_SET)  # memory plus swap, bytes; -1 unlimited
    blkio: Blkio | None = field(default=None, metadata=_WHEN_SET)


@dataclass(frozen=True)
class GpuRequest:
    """Compose's `gpus` entry, the engine's DeviceRequest: which GPUs the container gets."""

    driver: str | None = None  # "nvidia"; None: the engine's choice
    count: int | None = None  # -1: all; None: those of device_ids
    device_ids: tuple[str, ...] = ()
    capabilities: tuple[str, ...] = ("gpu",)
    options: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Hook:
    """Compose's `post_start` / `pre_stop` entry: a command run with exec in the container right
    after it starts, or right before it is stopped."""

    command: tuple[str, ...]
    user: str | None = None
    privileged: bool = False
    working_dir: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)  # Compose `environment`


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
    # OCI annotations (HostConfig.Annotations, API 1.43), for runtimes and tools that read them
    annotations: Mapping[str, str] = field(default_factory=dict, metadata=_WHEN_SET)
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
    secrets: tuple[FileGrant, ...] = field(default=(), metadata=_WHEN_SET)  # Compose `secrets`, see FileGrant
    configs: tuple[FileGrant, ...] = field(default=(), metadata=_WHEN_SET)  # Compose `configs`
    hosts: tuple[str, ...] = ()  # host id patterns (globs) of the hosts it is for; () is every host
    # the image is built from a Dockerfile, tagged `image` and `build.tag`
    build: Build | None = field(default=None, metadata=_WHEN_SET)
    push: bool = False  # push `image` to its registry after a build
    # Compose keys added after the first release (docs/format.md has each one's engine field)
    dns_search: tuple[str, ...] = field(default=(), metadata=_WHEN_SET)
    dns_opt: tuple[str, ...] = field(default=(), metadata=_WHEN_SET)
    domainname: str | None = field(default=None, metadata=_WHEN_SET)
    expose: tuple[str, ...] = field(default=(), metadata=_WHEN_SET)  # "PORT/PROTOCOL", one per port
    group_add: tuple[str, ...] = field(default=(), metadata=_WHEN_SET)
    ipc: str | None = field(default=None, metadata=_WHEN_SET)  # private | shareable | host | none | container:NAME
    pid: str | None = field(default=None, metadata=_WHEN_SET)  # host | container:NAME
    uts: str | None = field(default=None, metadata=_WHEN_SET)  # host
    userns_mode: str | None = field(default=None, metadata=_WHEN_SET)  # host
    cgroup: str | None = field(default=None, metadata=_WHEN_SET)  # host | private (cgroup namespace)
    cgroup_parent: str | None = field(default=None, metadata=_WHEN_SET)
    mac_address: str | None = field(default=None, metadata=_WHEN_SET)
    stdin_open: bool = field(default=False, metadata=_WHEN_SET)
    platform: str | None = field(default=None, metadata=_WHEN_SET)  # os[/arch[/variant]]
    runtime: str | None = field(default=None, metadata=_WHEN_SET)  # an OCI runtime the engine knows
    gpus: tuple[GpuRequest, ...] = field(default=(), metadata=_WHEN_SET)
    storage_opt: Mapping[str, str] = field(default_factory=dict, metadata=_WHEN_SET)
    tmpfs: Mapping[str, str] = field(default_factory=dict, metadata=_WHEN_SET)  # path -> mount options
    device_cgroup_rules: tuple[str, ...] = field(default=(), metadata=_WHEN_SET)  # "c 1:3 mr"
    oom_kill_disable: bool = field(default=False, metadata=_WHEN_SET)
    oom_score_adj: int | None = field(default=None, metadata=_WHEN_SET)  # -1000 to 1000
    # steer the reconciler, not the engine object (outside the hash)
    profiles: tuple[str, ...] = ()  # active only when one of them is given (--profile); () always
    post_start: tuple[Hook, ...] = ()
    pre_stop: tuple[Hook, ...] = ()

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


class Sealed:
    """A secret's or config's value (bytes), never shown: its repr and str are "(secret)"."""

    __slots__ = ("_data",)

    def __init__(self, data: bytes) -> None:
        self._data = data

    def reveal(self) -> bytes:
        return self._data

    def __repr__(self) -> str:
        return "(secret)"

    __str__ = __repr__


@dataclass(frozen=True)
class FileGrant:
    """A secret or config mounted read-only into a container (Compose's long form `{ source,
    target, uid, gid, mode }`). `digest` is the keyed hash of the declared value ("hmac-sha256:HEX",
    keyed with the state directory's key), set when the files are combined: it is what the spec
    hash holds, so a changed value replaces the container. `value` travels to the executor, which
    writes it; it is outside the hash, the comparison and every repr."""

    source: str  # the declared name
    target: str  # absolute path in the container
    uid: int = 0
    gid: int = 0
    mode: int = 0o400  # 0o444 for a config
    digest: str = ""
    value: Sealed | None = field(default=None, metadata=_UNHASHED, compare=False, repr=False)


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
    value: Sealed | None = field(default=None, metadata=_UNHASHED, compare=False, repr=False)
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
    """Whether a field with this value is part of the canonical form (see `_UNHASHED`, `_WHEN_SET`)."""
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


def canonical(spec: Spec) -> dict[str, Any]:
    """The parts of a spec that define the engine object, as plain JSON-able data: every field
    but those of `_NOT_HASHED`, those marked `_UNHASHED` (which only steer how the object is
    created), and those marked `_WHEN_SET` while they hold their default."""
    return {
        f.name: _plain(getattr(spec, f.name))
        for f in dataclasses.fields(spec)
        if f.name not in _NOT_HASHED and _hashed(f, getattr(spec, f.name))
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
