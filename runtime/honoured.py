"""What an engine cannot honour in a container spec, asked before anything is created.

DESIGN section 13: a key an engine cannot honour is an error naming the engine and its version,
never dropped in silence. `container_refusal` runs each check of `CHECKS` over a spec and the
engine's `Capabilities`; the plan shows the first refusal as the container's blocked reason, and
the adapters refuse the create with it. Pure: every check is unit-tested without an engine.
"""

from __future__ import annotations

from collections.abc import Callable

from reconciler.model import ContainerSpec
from runtime.capabilities import PODMAN, Capabilities

# The first Engine API versions that take a volume mount's Subpath (Docker 26), a healthcheck's
# StartInterval (Docker 25) and HostConfig.Annotations (Docker 24).
SUBPATH_API = (1, 45)
START_INTERVAL_API = (1, 44)
ANNOTATIONS_API = (1, 43)


def engine_name(capabilities: Capabilities) -> str:
    """"docker 20.10.24 (API 1.41)": how a refusal names the engine."""
    return f"{capabilities.kind} {capabilities.version} (API {capabilities.api_version})"


def _api(capabilities: Capabilities) -> tuple[int, ...]:
    return tuple(int(part) for part in capabilities.api_version.split(".") if part.isdigit())


def _needs(capabilities: Capabilities, api: tuple[int, ...], what: str) -> str | None:
    if _api(capabilities) >= api:
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
    return (f"{engine_name(capabilities)} cannot limit a container's storage size (storage_opt.size): its storage"
            f" driver {storage.driver}{on} does not support it (overlay2 does on xfs with pquota; btrfs, zfs and"
            " devicemapper do)")


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
}


def _podman_drops(spec: ContainerSpec, capabilities: Capabilities) -> str | None:
    """A key Podman 4.3 takes and drops in silence (`_PODMAN_DROPS`); `cgroup = "host"` is what it
    does anyway on cgroup v1, so only that is honoured."""
    if capabilities.kind != PODMAN:
        return None
    kernel = capabilities.kernel
    for key, sets in _PODMAN_DROPS.items():
        if key == "cgroup" and spec.cgroup == "host" and (kernel is None or kernel.cgroup_version == "1"):
            continue
        if sets(spec):
            return f"{engine_name(capabilities)} drops {key} in silence (its Docker-compatible API ignores it)"
    return None


CHECKS: tuple[Callable[[ContainerSpec, Capabilities], str | None], ...] = (
    _subpath, _start_interval, _annotations, _storage_size, _runtime, _podman_drops)


def container_refusal(spec: ContainerSpec, capabilities: Capabilities) -> str | None:
    """Why the engine cannot honour `spec` as declared, or None."""
    for check in CHECKS:
        refusal = check(spec, capabilities)
        if refusal:
            return refusal
    return None
