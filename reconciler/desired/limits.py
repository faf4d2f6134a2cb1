"""Compose's CPU, memory-swap, block I/O and OOM keys of a container, checked by the engine's rules.

The keys are written at the container's top level with Compose's names and forms (`cpu_shares`,
`cpu_period`, `cpuset`, `blkio_config`, ...; Compose specification 05-services.md); the model
groups all but the OOM keys in `Resources`. Each rule the engine applies at create is applied here
first, so a file the engine would refuse (or silently clamp) is reported at its line instead.
The schema holds the plain integer ranges; these functions hold the value forms and the rules
that join two keys. Each function raises ValueError with the message for the key's line.
"""

from __future__ import annotations

import re
from typing import Any

from reconciler.desired.resource import Resource
from reconciler.desired.units import duration, size
from reconciler.fields import Blkio, Throttle

# moby daemon/daemon_unix.go verifyPlatformContainerResources: the CFS period is 1ms to 1s and
# the quota at least 1ms, in microseconds
MIN_CFS, MAX_CFS_PERIOD = 1_000, 1_000_000
_CPU_LIST = re.compile(r"[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*")
_MICROSECOND_KEYS = ("cpu_period", "cpu_quota", "cpu_rt_period", "cpu_rt_runtime")
_THROTTLES = ("device_read_bps", "device_write_bps", "device_read_iops", "device_write_iops")


def microseconds(value: str | int) -> int:
    """Microseconds in Compose's form of `cpu_period`, `cpu_quota` and `cpu_rt_*`: an integer number
    of microseconds, or a duration string such as "400ms" (compose-go's `types.Duration` of these
    keys). ValueError for anything else or a fraction of a microsecond."""
    if isinstance(value, int):
        return value
    micros = duration(value) * 1_000_000
    whole = round(micros)
    if abs(micros - whole) > 0.001:  # what is left beyond float rounding
        raise ValueError(f"{value!r} is not a whole number of microseconds")
    return whole


def cpu_list(value: str) -> str:
    """A cpuset as the engine takes it (moby pkg/parsers ParseUintList): comma-separated CPU numbers
    or ranges "N-M" with N <= M, such as "0-3" or "0,2". Returned as written: the engine keeps it so."""
    if not _CPU_LIST.fullmatch(value):
        raise ValueError(f'{value!r} is not a CPU list such as "0-3" or "0,2"')
    for part in value.split(","):
        low, _, high = part.partition("-")
        if high and int(low) > int(high):
            raise ValueError(f"the range {part} goes backwards")
    return value


def device_path(value: str) -> str:
    """A block device's host path in `blkio_config`: absolute and under /dev (moby opts
    ValidateThrottleBpsDevice / ValidateWeightDevice: "bad format for device path")."""
    if not value.startswith("/dev/"):
        raise ValueError(f"{value!r} must be a device's absolute path under /dev/")
    return value


def _cfs(r: Resource, values: dict[str, int]) -> None:
    """The CFS rules of moby's verifyPlatformContainerResources: period 1ms-1s, quota at least 1ms
    (or -1, the kernel's "no quota"), and neither with `resources.cpus` (NanoCpus), which the engine
    refuses: "Conflicting options: Nano CPUs and CPU Period cannot both be set"."""
    period, quota = values.get("cpu_period"), values.get("cpu_quota")
    if period is not None and not MIN_CFS <= period <= MAX_CFS_PERIOD:
        r.error("cpu_period", "must be from 1ms (1000) to 1s (1000000): the engine refuses other CFS periods")
    if quota is not None and quota != -1 and quota < MIN_CFS:
        r.error("cpu_quota", "must be at least 1ms (1000), or -1 for no quota: the engine refuses less")
    cpus = r.body.get("resources", {}).get("cpus")
    for key in ("cpu_period", "cpu_quota"):
        if cpus is not None and key in values:
            r.error(key, f"{key} and resources.cpus exclude each other: the engine refuses both "
                         "(cpus sets the quota over a period of its own)")


def _realtime(r: Resource, values: dict[str, int]) -> None:
    """moby's verifyPlatformContainerResources: "cpu-rt-runtime cannot be higher than cpu-rt-period"."""
    period, runtime = values.get("cpu_rt_period"), values.get("cpu_rt_runtime")
    for key in ("cpu_rt_period", "cpu_rt_runtime"):
        if values.get(key) is not None and values[key] < 0:
            r.error(key, "must not be negative")
    if period is not None and runtime is not None and runtime > period:
        r.error("cpu_rt_runtime", f"must not be more than cpu_rt_period ({period}us): the engine refuses it")


def _memswap(r: Resource) -> dict[str, int]:
    """`memswap_limit`: a size, or -1 for unlimited swap. A limit needs `resources.memory` and is at
    least it (moby's verifyPlatformContainerResources: "You should always set the Memory limit when
    using Memoryswap limit", "Minimum memoryswap limit should be larger than memory limit"); 0 is
    what Compose ignores, so it is refused rather than meaning two things."""
    if "memswap_limit" not in r.body:
        return {}
    value = -1 if r.body["memswap_limit"] == -1 else r.convert("memswap_limit", size)
    if value is None:
        return {}
    memory = r.convert(("resources", "memory"), size) if "memory" in r.body.get("resources", {}) else None
    if value == 0:
        r.error("memswap_limit", "0 sets nothing: leave memswap_limit out, or give a size or -1 (unlimited)")
    elif value > 0 and memory is None:
        r.error("memswap_limit", "needs resources.memory: it limits memory and swap together")
    elif value > 0 and memory is not None and value < memory:
        r.error("memswap_limit", f"must be at least resources.memory ({memory} bytes): it counts memory and swap")
    return {"memswap_limit": value}


def _throttles(r: Resource, key: str, field: str, rate: Any) -> tuple[Throttle, ...]:
    throttles = []
    for index in range(len(r.body["blkio_config"].get(key, ()))):
        path = r.convert(("blkio_config", key, index, "path"), device_path)
        value = r.convert(("blkio_config", key, index, field), rate)
        if path is not None and value is not None:
            throttles.append(Throttle(path, value))
    return tuple(throttles)


def _blkio(r: Resource) -> dict[str, Blkio]:
    """Compose's `blkio_config`: `weight` and `weight_device[].weight` 10-1000 (in the schema: moby
    "Range of blkio weight is from 10 to 1000"), `device_read_bps`/`device_write_bps` rates as
    sizes per second, `device_read_iops`/`device_write_iops` operations per second."""
    if "blkio_config" not in r.body:
        return {}
    body = r.body["blkio_config"]
    blkio = Blkio(weight=body.get("weight"), weight_device=_throttles(r, "weight_device", "weight", int),
                  **{key: _throttles(r, key, "rate", size if key.endswith("bps") else int) for key in _THROTTLES})
    return {"blkio": blkio}


def resource_limits(r: Resource) -> dict[str, Any]:
    """The `Resources` fields of Compose's top-level CPU, swap and block I/O keys of the container
    `r`, problems reported at their keys."""
    values = {key: r.convert(key, microseconds) for key in _MICROSECOND_KEYS if key in r.body}
    values = {key: value for key, value in values.items() if value is not None}
    _cfs(r, values)
    _realtime(r, values)
    fields: dict[str, Any] = {**values, **_memswap(r), **_blkio(r)}
    for key in ("cpu_shares", "mem_swappiness"):
        if key in r.body:
            fields[key] = r.body[key]
    if "cpuset" in r.body:
        fields["cpuset"] = r.convert("cpuset", cpu_list)
    return fields


def oom(r: Resource) -> dict[str, Any]:
    """The container's `oom_kill_disable` and `oom_score_adj` (the range, -1000 to 1000 as the
    kernel's oom_score_adj and moby's verifyPlatformContainerSettings, is in the schema)."""
    return {key: r.body[key] for key in ("oom_kill_disable", "oom_score_adj") if key in r.body}
