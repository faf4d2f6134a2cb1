"""The HostConfig fields of Compose's CPU, swap, block I/O and OOM keys (Engine API 1.41
ContainerCreate: CpuShares to OomScoreAdj). Pure: the create body of `docker_specs`.

Only the keys a spec sets are sent, so a container that uses none gets the body it always got.
"""

from __future__ import annotations

from typing import Any

from reconciler.fields import Blkio, Throttle
from reconciler.model import ContainerSpec

# model field of Blkio -> the HostConfig field and the name of its value there
_THROTTLES = {"device_read_bps": ("BlkioDeviceReadBps", "Rate"), "device_write_bps": ("BlkioDeviceWriteBps", "Rate"),
              "device_read_iops": ("BlkioDeviceReadIOps", "Rate"),
              "device_write_iops": ("BlkioDeviceWriteIOps", "Rate"), "weight_device": ("BlkioWeightDevice", "Weight")}


def _devices(throttles: tuple[Throttle, ...], value: str) -> list[dict[str, Any]] | None:
    return [{"Path": t.path, value: t.rate} for t in throttles] or None


def _blkio(blkio: Blkio | None) -> dict[str, Any]:
    if blkio is None:
        return {}
    fields = {field: _devices(getattr(blkio, name), value) for name, (field, value) in _THROTTLES.items()}
    return {"BlkioWeight": blkio.weight, **fields}


def limit_fields(spec: ContainerSpec) -> dict[str, Any]:
    """{HostConfig field: value} for each of these keys `spec` sets; None for those it does not."""
    res = spec.resources
    return {
        "CpuShares": res.cpu_shares,
        "CpuPeriod": res.cpu_period,
        "CpuQuota": res.cpu_quota,
        "CpusetCpus": res.cpuset,
        "CpuRealtimePeriod": res.cpu_rt_period,
        "CpuRealtimeRuntime": res.cpu_rt_runtime,
        "MemorySwappiness": res.mem_swappiness,
        "MemorySwap": res.memswap_limit,
        "OomKillDisable": spec.oom_kill_disable or None,
        "OomScoreAdj": spec.oom_score_adj,
        **_blkio(res.blkio),
    }
