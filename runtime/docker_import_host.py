"""HostConfig's limits, privileges and namespaces -> desired-state keys, for `docker_import`.

Pure. Each function returns the keys the container sets apart from the engine's defaults
(`engine_defaults`), in Compose's names and forms (compose-spec 05-services.md), and adds what it
cannot carry to `skipped` as (key, why). The HostConfig field of each key: docs/format.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runtime.docker_specs import NANOS
from runtime.engine_defaults import EngineDefaults

_CAP_PREFIX = "CAP_"
_DEVICE_PERMISSIONS = "rwm"
_SIZE_UNITS = (("g", 1024**3), ("m", 1024**2), ("k", 1024))
# HostConfig fields with no key here: field -> why
_NOT_CARRIED = {
    "AutoRemove": "`docker run --rm` has no key here: the reconciler keeps the containers it declares",
    "Links": "legacy links have no key here: put both containers on a user network",
    "PublishAllPorts": "`-P` has no key here: publish each port in `ports`",
    "DeviceRequests": "not read back by import: write `gpus` by hand",
    "BlkioWeight": "not read back by import: write `blkio_config` by hand",
    "BlkioWeightDevice": "not read back by import: write `blkio_config` by hand",
    "BlkioDeviceReadBps": "not read back by import: write `blkio_config` by hand",
    "BlkioDeviceWriteBps": "not read back by import: write `blkio_config` by hand",
    "BlkioDeviceReadIOps": "not read back by import: write `blkio_config` by hand",
    "BlkioDeviceWriteIOps": "not read back by import: write `blkio_config` by hand",
    "CpuRealtimePeriod": "not read back by import: write `cpu_rt_period` by hand",
    "CpuRealtimeRuntime": "not read back by import: write `cpu_rt_runtime` by hand",
    "StorageOpt": "not read back by import: write `storage_opt` by hand",
}


def size(value: int) -> str | int:
    """Bytes as our size form: "64m" where a unit divides it, else the integer."""
    for unit, factor in _SIZE_UNITS:
        if value % factor == 0:
            return f"{value // factor}{unit}"
    return value


def resources(host: Mapping[str, Any], defaults: EngineDefaults) -> dict[str, Any]:
    """`resources` (memory, memory_reservation, cpus, pids_limit, shm_size) as a table, or {}."""
    table: dict[str, Any] = {}
    if host.get("Memory"):
        table["memory"] = size(host["Memory"])
    if host.get("MemoryReservation"):
        table["memory_reservation"] = size(host["MemoryReservation"])
    if host.get("NanoCpus"):
        table["cpus"] = host["NanoCpus"] / NANOS
    if (host.get("PidsLimit") or 0) > 0:
        table["pids_limit"] = host["PidsLimit"]
    if host.get("ShmSize") and host["ShmSize"] != defaults.shm_size:
        table["shm_size"] = size(host["ShmSize"])
    return {"resources": table} if table else {}


def cpu_and_swap(host: Mapping[str, Any], defaults: EngineDefaults) -> dict[str, Any]:
    """cpu_shares, cpu_period and cpu_quota (those Podman derives from NanoCpus left out),
    cpuset, mem_swappiness, memswap_limit (the engine's twice `memory` left out), oom keys."""
    keys: dict[str, Any] = {}
    if host.get("CpuShares"):
        keys["cpu_shares"] = host["CpuShares"]
    if not host.get("NanoCpus"):
        keys.update({key: host[field] for key, field in (("cpu_period", "CpuPeriod"), ("cpu_quota", "CpuQuota"))
                     if host.get(field)})
    if host.get("CpusetCpus"):
        keys["cpuset"] = host["CpusetCpus"]
    if host.get("MemorySwappiness") is not None and host["MemorySwappiness"] not in defaults.swappiness:
        keys["mem_swappiness"] = host["MemorySwappiness"]
    swap = host.get("MemorySwap") or 0
    if swap and swap != 2 * (host.get("Memory") or 0):
        keys["memswap_limit"] = -1 if swap < 0 else size(swap)
    if host.get("OomKillDisable"):
        keys["oom_kill_disable"] = True
    if host.get("OomScoreAdj"):
        keys["oom_score_adj"] = host["OomScoreAdj"]
    return keys


def privileges(host: Mapping[str, Any]) -> dict[str, Any]:
    """cap_add and cap_drop (without Docker's `CAP_` prefix, as the loader stores them), privileged,
    read_only, init, security_opt, devices (permissions left out when rwm), device_cgroup_rules."""
    keys: dict[str, Any] = {}
    for key, field in (("cap_add", "CapAdd"), ("cap_drop", "CapDrop")):
        if host.get(field):
            keys[key] = sorted(cap.removeprefix(_CAP_PREFIX) for cap in host[field])
    keys.update({key: True for key, field in (("privileged", "Privileged"), ("read_only", "ReadonlyRootfs"),
                                              ("init", "Init")) if host.get(field)})
    if host.get("SecurityOpt"):
        keys["security_opt"] = list(host["SecurityOpt"])
    devices = []
    for device in host.get("Devices") or ():
        entry = f"{device['PathOnHost']}:{device['PathInContainer']}"
        permissions = device.get("CgroupPermissions") or _DEVICE_PERMISSIONS
        devices.append(entry if permissions == _DEVICE_PERMISSIONS else f"{entry}:{permissions}")
    if devices:
        keys["devices"] = devices
    if host.get("DeviceCgroupRules"):
        keys["device_cgroup_rules"] = list(host["DeviceCgroupRules"])
    return keys


def ulimit_name(name: str) -> str:
    """An inspected ulimit's name as Compose and `docker run --ulimit` write it: Docker keeps `nofile`,
    Podman 4.3's compat inspect says `RLIMIT_NOFILE`."""
    return name.lower().removeprefix("rlimit_")


def system(host: Mapping[str, Any]) -> dict[str, Any]:
    """sysctls, ulimits (`name = N` when soft equals hard, named as `ulimit_name`), extra_hosts, dns,
    dns_search, dns_opt, group_add, cgroup_parent, volumes_from, as the engine keeps them."""
    keys: dict[str, Any] = {}
    if host.get("Sysctls"):
        keys["sysctls"] = dict(sorted(host["Sysctls"].items()))
    ulimits = {
        ulimit_name(u["Name"]): u["Soft"] if u["Soft"] == u["Hard"] else {"soft": u["Soft"], "hard": u["Hard"]}
        for u in host.get("Ulimits") or ()}
    if ulimits:
        keys["ulimits"] = ulimits
    for key, field in (("extra_hosts", "ExtraHosts"), ("dns", "Dns"), ("dns_search", "DnsSearch"),
                       ("dns_opt", "DnsOptions"), ("group_add", "GroupAdd"), ("volumes_from", "VolumesFrom")):
        if host.get(field):
            keys[key] = list(host[field])
    if host.get("CgroupParent"):
        keys["cgroup_parent"] = host["CgroupParent"]
    return keys


def namespaces(host: Mapping[str, Any], defaults: EngineDefaults, names: Mapping[str, str]) -> dict[str, Any]:
    """ipc, pid, uts, userns_mode, cgroup and runtime where they are not the engine's own;
    `container:<id>` named by the container's name."""
    keys: dict[str, Any] = {}
    for key, field in (("ipc", "IpcMode"), ("pid", "PidMode"), ("uts", "UTSMode"), ("userns_mode", "UsernsMode")):
        mode = host.get(field) or ""
        if mode not in defaults.namespace_modes:
            other = mode.removeprefix("container:")
            keys[key] = f"container:{names.get(other, other)}" if mode.startswith("container:") else mode
    if (host.get("CgroupnsMode") or "") not in ("", defaults.cgroupns):
        keys["cgroup"] = host["CgroupnsMode"]
    if host.get("Runtime") and host["Runtime"] not in defaults.runtimes:
        keys["runtime"] = host["Runtime"]
    return keys


def logging(host: Mapping[str, Any], defaults: EngineDefaults) -> dict[str, Any]:
    """`logging` unless the engine's default driver with no options."""
    config = host.get("LogConfig") or {}
    driver, options = config.get("Type") or defaults.log_driver, dict(config.get("Config") or {})
    if driver == defaults.log_driver and not options:
        return {}
    return {"logging": {"driver": driver, **({"options": dict(sorted(options.items()))} if options else {})}}


def not_carried(host: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(HostConfig field, why) for each field set that has no key here."""
    return [(field, why) for field, why in _NOT_CARRIED.items() if host.get(field)]
