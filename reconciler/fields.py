"""The parts a container spec is made of (ports, mounts, limits, healthcheck, hooks, secrets and
configs), with the markers that say which of their fields the canonical form leaves out
(`reconciler.model.canonical`): frozen and normalised, as the loader builds them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# The metadata of a field that is outside the canonical form (`reconciler.model.canonical`).
UNHASHED = {"hashed": False}
# The metadata of a field that is in the canonical form only while it differs from its default:
# every key added after the first release, so that a file which does not use it keeps its hash.
WHEN_SET = {"hashed": "when-set"}


@dataclass(frozen=True)
class PortMapping:
    container_port: int
    protocol: str = "tcp"
    host_ip: str | None = None
    host_port: int | None = None
    # how Swarm publishes it (--target swarm): "ingress" (the routing mesh, on every node) or
    # "host" (on the node the task runs on). One host publishes on itself either way: unhashed.
    mode: str = field(default="ingress", metadata=UNHASHED)


@dataclass(frozen=True)
class Mount:
    type: str  # volume | bind | tmpfs
    target: str
    source: str | None = None
    read_only: bool = False
    tmpfs_size: int | None = None
    tmpfs_mode: int | None = field(default=None, metadata=WHEN_SET)  # file mode bits of the tmpfs root
    labels: Mapping[str, str] = field(default_factory=dict, metadata=WHEN_SET)  # of a volume the mount creates
    nocopy: bool = field(default=False, metadata=WHEN_SET)  # do not copy the image's files into a new volume
    subpath: str | None = field(default=None, metadata=WHEN_SET)  # a folder inside the volume (API 1.45)
    propagation: str | None = field(default=None, metadata=WHEN_SET)  # bind propagation: rprivate, shared, ...
    selinux: str | None = field(default=None, metadata=WHEN_SET)  # a bind's SELinux relabel: z (shared), Z (private)
    # A bind written in the short form: the engine creates a missing host path (Compose's
    # bind.create_host_path). Unhashed: once created, the container is the same either way.
    create_host_path: bool = field(default=False, metadata=UNHASHED)
    # The line the mount is written on (its own, or that of `mounts`), for messages about it.
    # Unhashed and not compared: moving it to another line changes nothing.
    line: int | None = field(default=None, metadata=UNHASHED, compare=False)


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
    start_interval: float | None = field(default=None, metadata=WHEN_SET)


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
    cpu_shares: int | None = field(default=None, metadata=WHEN_SET)  # relative weight
    cpu_period: int | None = field(default=None, metadata=WHEN_SET)  # CFS period, microseconds
    cpu_quota: int | None = field(default=None, metadata=WHEN_SET)  # CFS quota, microseconds
    cpuset: str | None = field(default=None, metadata=WHEN_SET)  # CPUs allowed: "0-3", "0,1"
    cpu_rt_period: int | None = field(default=None, metadata=WHEN_SET)  # real-time period, microseconds
    cpu_rt_runtime: int | None = field(default=None, metadata=WHEN_SET)  # real-time runtime, microseconds
    mem_swappiness: int | None = field(default=None, metadata=WHEN_SET)  # 0-100
    memswap_limit: int | None = field(default=None, metadata=WHEN_SET)  # memory plus swap, bytes; -1 unlimited
    blkio: Blkio | None = field(default=None, metadata=WHEN_SET)


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
    # Swarm's update_config (--target swarm; one host replaces one container at a time):
    parallelism: int = 1  # tasks updated at once; 0: all at once
    delay: float = 0.0  # seconds between two batches
    failure_action: str = "rollback"  # rollback | pause | continue


@dataclass(frozen=True)
class Build:
    """An image built from a Dockerfile by the engine (Compose's `build`; see images.builds).

    It defines the container only through the image it yields: `tag` names that image by a hash of
    the files sent and the options, so the paths (which differ between checkouts) are unhashed."""

    context: str = field(metadata=UNHASHED)  # absolute path of the context folder
    tag: str = ""  # REPOSITORY:build-<16 hex>, see images.builds.build_tag
    dockerfile: str = field(default="Dockerfile", metadata=UNHASHED)  # absolute path
    args: Mapping[str, str] = field(default_factory=dict)
    target: str | None = None
    pull: bool = False  # pull the FROM images at each build, and build again when one moved (images.bases)
    # the images its Dockerfile's FROM lines name (images.bases.from_images): what `pull` checks;
    # the Dockerfile is hashed in the tag already
    bases: tuple[str, ...] = field(default=(), metadata=UNHASHED)


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
    value: Sealed | None = field(default=None, metadata=UNHASHED, compare=False, repr=False)
