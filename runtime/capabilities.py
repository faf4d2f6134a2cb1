"""What the engine behind a Docker-compatible API is, and what it can do (docs/engines.md).

`probe` reads the engine's own answers (`GET /version`, `GET /info`, and Podman's `GET /libpod/info`)
into `Capabilities`; the adapter asks once, on first contact, and handles every difference it finds
in one place. Pure: no I/O here, so each engine's answer is unit-tested as recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

DOCKER = "docker"
PODMAN = "podman"
MEMORY = "memory"
PODMAN_DEFAULT_NETWORK = "podman"  # containers.conf `default_network`


@dataclass(frozen=True)
class Kernel:
    """What the engine's kernel and cgroups can limit: its `GET /info` answer (moby's sysinfo, which
    Podman's compat API answers too), and the real-time budget read from the host (`runtime.host_cgroups`).
    A False flag means the engine accepts the key and drops it with a warning (moby `daemon_unix.go`
    verifyPlatformContainerResources), so the key is refused here instead (`runtime.honoured`)."""

    cgroup_version: str  # "1" | "2"
    ncpu: int  # CPUs the engine sees: cpuset may name 0 to ncpu-1
    swap_limit: bool  # memswap_limit, mem_swappiness
    cpu_cfs_period: bool  # cpu_period
    cpu_cfs_quota: bool  # cpu_quota, cpus
    cpu_shares: bool  # cpu_shares
    cpuset: bool  # cpuset
    oom_kill_disable: bool  # oom_kill_disable
    pids_limit: bool  # resources.pids_limit
    # real-time group scheduling (CONFIG_RT_GROUP_SCHED, cgroup v1 only): None when unknown
    realtime: bool | None = None
    # the real-time runtime (microseconds per period) the engine's parent cgroup grants its
    # containers: cpu_rt_runtime may not exceed it. None when unknown (a remote engine)
    realtime_runtime: int | None = None
    # the blkio controller's proportional weight (blkio.weight, or blkio.bfq.weight): None when unknown
    blkio_weight: bool | None = None


def kernel_of(info: Mapping[str, Any], realtime: tuple[bool | None, int | None] = (None, None),
              blkio_weight: bool | None = None) -> Kernel:
    """The `Kernel` of a `GET /info` answer; `realtime` is `host_cgroups.realtime`'s answer, else
    Podman's `CPURealtimeRuntime` (Docker's /info has none). A flag missing from the answer counts
    as present: the engine's own error then speaks at apply."""
    return Kernel(
        cgroup_version=str(info.get("CgroupVersion") or "1"),
        ncpu=int(info.get("NCPU") or 0),
        swap_limit=info.get("SwapLimit") is not False,
        cpu_cfs_period=info.get("CpuCfsPeriod") is not False,
        cpu_cfs_quota=info.get("CpuCfsQuota") is not False,
        cpu_shares=info.get("CPUShares") is not False,
        cpuset=info.get("CPUSet") is not False,
        oom_kill_disable=info.get("OomKillDisable") is not False,
        pids_limit=info.get("PidsLimit") is not False,
        realtime=realtime[0] if realtime[0] is not None else info.get("CPURealtimeRuntime"),
        realtime_runtime=realtime[1],
        blkio_weight=blkio_weight,
    )


@dataclass(frozen=True)
class Storage:
    """The engine's storage driver and OCI runtimes, from its `GET /info` answer."""

    driver: str  # "overlay2", "btrfs", ...
    backing_filesystem: str  # DriverStatus "Backing Filesystem": "extfs", "xfs", ...
    runtimes: tuple[str, ...]  # the names in `Runtimes`
    default_runtime: str  # `DefaultRuntime`


def storage_of(info: Mapping[str, Any]) -> Storage:
    """The `Storage` of a `GET /info` answer (Docker's and Podman's compat API answer alike)."""
    status = {str(pair[0]): str(pair[1]) for pair in info.get("DriverStatus") or () if len(pair) == 2}
    return Storage(driver=str(info.get("Driver") or ""), backing_filesystem=status.get("Backing Filesystem", ""),
                   runtimes=tuple(sorted(info.get("Runtimes") or ())),
                   default_runtime=str(info.get("DefaultRuntime") or ""))


@dataclass(frozen=True)
class Capabilities:
    kind: str  # docker | podman | memory
    version: str  # the engine's own version: "20.10.24", "4.3.1"
    api_version: str  # the Docker Engine API version it serves: "1.41"
    # what the engine calls the network a container joins when none is named: Docker's
    # `bridge`, Podman's `podman` (containers.conf `default_network`)
    default_network: str = "bridge"
    # POST /containers/{id}/update: resource limits changed without a restart
    in_place_update: bool = True
    # GET /distribution/{name}/json: a tag's registry digest asked through the engine
    distribution: bool = True
    # whether the engine itself runs declared healthchecks at their interval; Podman does only
    # through systemd timers, so with another cgroup manager the reconciler runs them (with exec)
    runs_healthchecks: bool = True
    # whether `unless-stopped` differs from `always`; Podman treats the two alike
    unless_stopped: bool = True
    # a rootless Podman (not yet supported: docs/engines.md)
    rootless: bool = False
    # what its kernel can limit (`GET /info`); None when not asked (the in-memory engine)
    kernel: Kernel | None = None
    # its storage (`GET /info`, `storage_of`); None when not asked
    storage: Storage | None = None
    # the engine runs on this host (a unix socket): its host paths (block devices) are this host's
    local: bool = False

    def describe(self) -> dict[str, Any]:
        """The fields as a JSON-ready mapping, for status and logs."""
        return asdict(self)


def _podman_component(version: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for component in version.get("Components") or ():
        if component.get("Name") == "Podman Engine":
            return component
    return None


def probe(version: Mapping[str, Any], podman_info: Mapping[str, Any] | None = None,
          info: Mapping[str, Any] | None = None,
          realtime: tuple[bool | None, int | None] = (None, None), blkio_weight: bool | None = None,
          local: bool = False) -> Capabilities:
    """The capabilities of the engine whose `GET /version` answer is `version`; for Podman,
    `podman_info` is its `GET /libpod/info` answer (None before it was asked); `info` is its
    `GET /info` answer (None: not asked, nothing known of its kernel), `realtime` and `blkio_weight`
    what `host_cgroups` read on its host, `local` whether it runs on this host. Podman's compat API
    answers /version with a "Podman Engine" component; Docker's has none."""
    api_version = str(version.get("ApiVersion") or "")
    kernel = None if info is None else kernel_of(info, realtime, blkio_weight)
    storage = None if info is None else storage_of(info)
    podman = _podman_component(version)
    if podman is None:
        return Capabilities(kind=DOCKER, version=str(version.get("Version") or ""), api_version=api_version,
                            kernel=kernel, storage=storage, local=local)
    host = (podman_info or {}).get("host") or {}
    return Capabilities(
        kind=PODMAN,
        version=str(podman.get("Version") or version.get("Version") or ""),
        api_version=api_version,
        default_network=PODMAN_DEFAULT_NETWORK,
        in_place_update=False,
        distribution=False,
        runs_healthchecks=host.get("cgroupManager") == "systemd",
        unless_stopped=False,
        rootless=bool((host.get("security") or {}).get("rootless")),
        kernel=kernel,
        storage=storage,
        local=local,
    )


def is_podman(version: Mapping[str, Any]) -> bool:
    """Whether a `GET /version` answer comes from Podman (which then has `GET /libpod/info`)."""
    return _podman_component(version) is not None


def update_refusal(capabilities: Capabilities) -> str:
    """Why the engine cannot update a container in place ("" when it can), naming it and its
    version: Podman 4.3's compatible API has no `POST /containers/{id}/update` (docs/engines.md)."""
    if capabilities.in_place_update:
        return ""
    return f"{capabilities.kind} {capabilities.version} has no update call (POST /containers/{{id}}/update)"
