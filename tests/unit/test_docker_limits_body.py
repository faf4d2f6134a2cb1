"""Compose's CPU, swap, block I/O and OOM keys in the create body's HostConfig (Engine API 1.41)."""

from __future__ import annotations

from reconciler.fields import Blkio, Resources, Throttle
from reconciler.model import ContainerSpec
from runtime.docker_specs import container_body


def host_config(spec: ContainerSpec) -> dict:
    return container_body(spec, {}, "1.41")[0]["HostConfig"]


def test_each_limit_key_is_its_host_config_field():
    resources = Resources(memory=2**26, cpu_shares=512, cpu_period=100000, cpu_quota=50000, cpuset="0-1",
                          cpu_rt_period=1000000, cpu_rt_runtime=10000, mem_swappiness=10, memswap_limit=2**27)
    host = host_config(ContainerSpec("web", "demo:1", resources=resources, oom_kill_disable=True, oom_score_adj=300))
    assert {key: host[key] for key in ("CpuShares", "CpuPeriod", "CpuQuota", "CpusetCpus", "CpuRealtimePeriod",
                                       "CpuRealtimeRuntime", "MemorySwappiness", "MemorySwap", "OomKillDisable",
                                       "OomScoreAdj")} == {
        "CpuShares": 512, "CpuPeriod": 100000, "CpuQuota": 50000, "CpusetCpus": "0-1", "CpuRealtimePeriod": 1000000,
        "CpuRealtimeRuntime": 10000, "MemorySwappiness": 10, "MemorySwap": 2**27, "OomKillDisable": True,
        "OomScoreAdj": 300}


def test_blkio_config_is_the_weight_and_the_per_device_lists():
    blkio = Blkio(weight=300, weight_device=(Throttle("/dev/vda", 400),), device_read_bps=(Throttle("/dev/vda", 10),),
                  device_write_bps=(Throttle("/dev/vda", 20),), device_read_iops=(Throttle("/dev/vda", 30),),
                  device_write_iops=(Throttle("/dev/vdb", 40),))
    host = host_config(ContainerSpec("web", "demo:1", resources=Resources(blkio=blkio)))
    assert {key: value for key, value in host.items() if key.startswith("Blkio")} == {
        "BlkioWeight": 300, "BlkioWeightDevice": [{"Path": "/dev/vda", "Weight": 400}],
        "BlkioDeviceReadBps": [{"Path": "/dev/vda", "Rate": 10}],
        "BlkioDeviceWriteBps": [{"Path": "/dev/vda", "Rate": 20}],
        "BlkioDeviceReadIOps": [{"Path": "/dev/vda", "Rate": 30}],
        "BlkioDeviceWriteIOps": [{"Path": "/dev/vdb", "Rate": 40}]}


def test_a_container_without_these_keys_sends_none_of_their_fields():
    host = host_config(ContainerSpec("web", "demo:1"))
    assert not {"CpuShares", "CpusetCpus", "MemorySwap", "OomKillDisable", "OomScoreAdj", "BlkioWeight"} & host.keys()
