"""What an engine cannot honour in a container spec, asked before anything is created.

DESIGN section 13: a key an engine cannot honour is an error naming the engine and its version,
never dropped in silence. `container_refusal` runs each check of `CHECKS` over a spec and the
engine's `Capabilities`; the plan shows every refusal, joined with "; ", as the container's blocked
reason (so that a user fixes them all in one round), and the adapters refuse the create with it.
Pure but for `_blkio_devices`, which looks at the host's block devices when the engine is on this
host: every check is unit-tested without an engine.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable

from reconciler.model import ContainerSpec
from runtime.capabilities import PODMAN, Capabilities
from runtime.docker_specs import api_version_tuple

# The first Engine API versions that take a volume mount's Subpath (Docker 26), a healthcheck's
# StartInterval (Docker 25) and HostConfig.Annotations (Docker 24).
SUBPATH_API = (1, 45)
START_INTERVAL_API = (1, 44)
ANNOTATIONS_API = (1, 43)


def engine_name(capabilities: Capabilities) -> str:
    """"docker 20.10.24 (API 1.41)": how a refusal names the engine."""
    return f"{capabilities.kind} {capabilities.version} (API {capabilities.api_version})"


def _needs(capabilities: Capabilities, api: tuple[int, ...], what: str) -> str | None:
    if api_version_tuple(capabilities.api_version) >= api:
        return None
    return f"{engine_name(capabilities)} cannot {what}: that needs API {'.'.join(map(str, api))}"


def _subpath(spec: ContainerSpec, capabilities: Capabilities) -> str | None:
    """A volume mount's `subpath` needs API 1.45 (Mount.VolumeOptions.Subpath)."""
    at = [index for index, mount in enumerate(spec.mounts) if mount.subpath is not None]
    return _needs(capabilities, SUBPATH_API, f"mount a volume's subpath (mounts[{at[0]}])") if at else None


def _start_interval(spec: ContainerSpec, capabilities: Capabilities) -> str | None:
    """`healthcheck.start_interval` needs API 1.44 (HealthConfig.StartInterval)."""
    if spec.healthcheck is None or spec.healthcheck.start_interval is None:
        return None
    return _needs(capabilities, START_INTERVAL_API, "check health at a start interval (healthcheck.start_interval)")


def _annotations(spec: ContainerSpec, capabilities: Capabilities) -> str | None:
    """`annotations` need API 1.43 (HostConfig.Annotations); an older engine drops them silently."""
    return _needs(capabilities, ANNOTATIONS_API, "set OCI annotations (annotations)") if spec.annotations else None


# Storage drivers that limit a container's writable layer (storage_opt size): moby's btrfs, zfs and
# devicemapper graphdrivers do; overlay2 (and Podman's overlay) only on xfs mounted with pquota,
# which GET /info does not tell, so there the engine's own error speaks.
_SIZED_DRIVERS = frozenset({"btrfs", "zfs", "devicemapper"})
_XFS_QUOTA_DRIVERS = frozenset({"overlay2", "overlay"})


def _storage_size(spec: ContainerSpec, capabilities: Capabilities) -> str | None:
    """`storage_opt.size` needs a storage driver that limits a writable layer (GET /info `Driver`
    and its DriverStatus "Backing Filesystem")."""
    storage = capabilities.storage
    if "size" not in spec.storage_opt or storage is None or storage.driver in _SIZED_DRIVERS:
        return None
    if storage.driver in _XFS_QUOTA_DRIVERS and storage.backing_filesystem == "xfs":
        return None
    on = f" on {storage.backing_filesystem}" if storage.backing_filesystem else ""
    able = ("its overlay driver does on xfs mounted with pquota" if capabilities.kind == PODMAN
            else "overlay2 does on xfs with pquota; btrfs, zfs and devicemapper do")
    return (f"{engine_name(capabilities)} cannot limit a container's storage size (storage_opt.size): its storage"
            f" driver {storage.driver}{on} does not support it ({able})")


def _runtime(spec: ContainerSpec, capabilities: Capabilities) -> str | None:
    """A `runtime` the engine lists (GET /info `Runtimes`); Podman 4.3's compat API ignores
    HostConfig.Runtime and runs its default runtime (`DefaultRuntime`), so only that one."""
    storage = capabilities.storage
    if spec.runtime is None or storage is None:
        return None
    if capabilities.kind == PODMAN and spec.runtime != storage.default_runtime:
        return (f"{engine_name(capabilities)} ignores runtime = \"{spec.runtime}\" and runs its default"
                f" runtime {storage.default_runtime}")
    if capabilities.kind != PODMAN and spec.runtime not in storage.runtimes:
        return (f"{engine_name(capabilities)} has no runtime \"{spec.runtime}\": it lists"
                f" {', '.join(storage.runtimes)}")
    return None


# What Podman 4.3's compat API accepts and drops in silence (each found by create and inspect):
# key -> whether a spec sets it.
_PODMAN_DROPS: dict[str, Callable[[ContainerSpec], bool]] = {
    "domainname": lambda spec: spec.domainname is not None,
    "mac_address": lambda spec: spec.mac_address is not None,
    "cgroup": lambda spec: spec.cgroup is not None,
    "device_cgroup_rules": lambda spec: bool(spec.device_cgroup_rules),
    "gpus": lambda spec: bool(spec.gpus),
    "mounts.nocopy": lambda spec: any(mount.nocopy for mount in spec.mounts),
    "platform": lambda spec: spec.platform is not None,
}


def _podman_drops(spec: ContainerSpec, capabilities: Capabilities) -> str | None:
    """The keys Podman 4.3 takes and drops in silence (`_PODMAN_DROPS`), all named in one refusal;
    `cgroup = "host"` is what it does anyway on cgroup v1, so only that is honoured."""
    if capabilities.kind != PODMAN:
        return None
    kernel = capabilities.kernel
    host_cgroup = spec.cgroup == "host" and (kernel is None or kernel.cgroup_version == "1")
    dropped = [key for key, sets in _PODMAN_DROPS.items() if sets(spec) and not (key == "cgroup" and host_cgroup)]
    if not dropped:
        return None
    return f"{engine_name(capabilities)} drops {', '.join(dropped)} in silence (its Docker-compatible API ignores it)"


# A limit key -> the `Kernel` flag it needs and what the kernel then lacks: the engine accepts the
# key and drops it with a warning (moby daemon_unix.go verifyPlatformContainerResources)
_KERNEL_FLAGS = {"cpu_shares": ("cpu_shares", "CPU shares"), "cpu_period": ("cpu_cfs_period", "CFS period"),
                 "cpu_quota": ("cpu_cfs_quota", "CFS quota"), "cpuset": ("cpuset", "cpusets"),
                 "memswap_limit": ("swap_limit", "swap limit support"),
                 "mem_swappiness": ("swap_limit", "swap accounting")}


def _kernel_flags(spec: ContainerSpec, capabilities: Capabilities) -> str | None:
    """Each limit key whose `GET /info` flag says the kernel lacks it (`_KERNEL_FLAGS`, and the
    container's `oom_kill_disable`), joined with "; "."""
    kernel = capabilities.kernel
    if kernel is None:
        return None
    engine = engine_name(capabilities)
    refusals = [f"{engine} cannot honour {key}: its kernel has no {what} (GET /info)"
                for key, (flag, what) in _KERNEL_FLAGS.items()
                if getattr(spec.resources, key) is not None and not getattr(kernel, flag)]
    if spec.oom_kill_disable and not kernel.oom_kill_disable:
        refusals.append(f"{engine} cannot honour oom_kill_disable: its kernel cannot disable the OOM killer")
    return "; ".join(refusals) or None


def _cpuset(spec: ContainerSpec, capabilities: Capabilities) -> str | None:
    """A cpuset naming a CPU the engine does not have (moby's "Requested CPUs are not available");
    the cpuset is a checked list of numbers and ranges ("0-1,3")."""
    kernel, cpuset = capabilities.kernel, spec.resources.cpuset
    if kernel is None or cpuset is None or not kernel.ncpu or max(map(int, re.split("[,-]", cpuset))) < kernel.ncpu:
        return None
    return (f"{engine_name(capabilities)} cannot honour cpuset {cpuset!r}: it has {kernel.ncpu} CPUs, "
            f"0 to {kernel.ncpu - 1}")


def _realtime(spec: ContainerSpec, capabilities: Capabilities) -> str | None:
    """`cpu_rt_*` need real-time group scheduling, and `cpu_rt_runtime` fits in what the engine's
    parent cgroup grants (`runtime.host_cgroups`); unknown on a remote engine, whose error speaks."""
    kernel, res = capabilities.kernel, spec.resources
    if kernel is None or (res.cpu_rt_period is None and res.cpu_rt_runtime is None):
        return None
    if kernel.realtime is False:
        return (f"{engine_name(capabilities)} cannot honour cpu_rt_period/cpu_rt_runtime: its kernel has no "
                "real-time group scheduling (cgroup v1 with CONFIG_RT_GROUP_SCHED)")
    budget = kernel.realtime_runtime
    if res.cpu_rt_runtime and budget is not None and res.cpu_rt_runtime > budget:
        return (f"{engine_name(capabilities)} cannot honour cpu_rt_runtime = {res.cpu_rt_runtime}: the cgroup "
                f"it puts containers in grants {budget}us of real-time runtime (cpu.rt_runtime_us)")
    return None


def _blkio_weight(spec: ContainerSpec, capabilities: Capabilities) -> str | None:
    """`blkio_config.weight` and `weight_device` need the blkio controller's weight (Docker drops
    them with a warning, Podman 4.3 in silence: `runtime.host_cgroups.blkio_weight`)."""
    blkio, kernel = spec.resources.blkio, capabilities.kernel
    if blkio is None or kernel is None or kernel.blkio_weight is not False:
        return None
    key = "blkio_config.weight" if blkio.weight is not None else "blkio_config.weight_device" \
        if blkio.weight_device else None
    if key is None:
        return None
    return f"{engine_name(capabilities)} cannot honour {key}: its kernel's blkio controller has no weight"


_BLKIO_DEVICE_KEYS = ("weight_device", "device_read_bps", "device_write_bps", "device_read_iops", "device_write_iops")


def _block_device(path: str) -> bool:
    try:
        return stat.S_ISBLK(os.stat(path).st_mode)
    except OSError:
        return False


def _blkio_devices(spec: ContainerSpec, capabilities: Capabilities) -> str | None:
    """Each `blkio_config` device path that is not a block device on the engine's host: the engine
    creates the container and its start fails ("stat /dev/x: no such file or directory", or the
    cgroup's "no such device"). Read here only for an engine on this host (`Capabilities.local`); a
    remote engine's own error speaks at apply."""
    blkio = spec.resources.blkio
    if blkio is None or not capabilities.local:
        return None
    missing = [f"blkio_config.{key}[{index}] {throttle.path}" for key in _BLKIO_DEVICE_KEYS
               for index, throttle in enumerate(getattr(blkio, key)) if not _block_device(throttle.path)]
    if not missing:
        return None
    return f"{engine_name(capabilities)} has no such block device on its host: {', '.join(missing)}"


CHECKS: tuple[Callable[[ContainerSpec, Capabilities], str | None], ...] = (
    _subpath, _start_interval, _annotations, _storage_size, _runtime, _podman_drops, _kernel_flags, _cpuset, _realtime,
    _blkio_weight, _blkio_devices)


def container_refusal(spec: ContainerSpec, capabilities: Capabilities) -> str | None:
    """Why the engine cannot honour `spec` as declared: every refusal of `CHECKS`, joined with "; ",
    or None."""
    return "; ".join(filter(None, (check(spec, capabilities) for check in CHECKS))) or None
