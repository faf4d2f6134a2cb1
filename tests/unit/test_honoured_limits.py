"""Limit keys an engine's kernel cannot honour are refused before anything is created, naming the
engine, its version and what the kernel lacks (runtime.honoured)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from reconciler.fields import Blkio, Resources, Throttle
from reconciler.model import ContainerSpec
from runtime.capabilities import DOCKER, Capabilities, Kernel
from runtime.honoured import container_refusal

ABLE = Kernel(cgroup_version="1", ncpu=2, swap_limit=True, cpu_cfs_period=True, cpu_cfs_quota=True, cpu_shares=True,
              cpuset=True, oom_kill_disable=True, pids_limit=True, realtime=True, realtime_runtime=950000,
              blkio_weight=True)
ENGINE = "docker 20.10.24 (API 1.41)"


def engine(**kernel) -> Capabilities:
    return Capabilities(kind=DOCKER, version="20.10.24", api_version="1.41", kernel=dataclasses.replace(ABLE, **kernel))


def limited(**resources) -> ContainerSpec:
    return ContainerSpec("web", "demo:1", resources=Resources(**resources))


EVERY_KEY = limited(cpu_shares=512, cpu_period=100000, cpu_quota=50000, cpuset="0-1", cpu_rt_period=1000000,
                    cpu_rt_runtime=10000, mem_swappiness=10, memory=2**26, memswap_limit=2**27,
                    blkio=Blkio(weight=300, weight_device=(Throttle("/dev/vda", 400),)))


def test_an_able_kernel_honours_every_limit_key():
    assert container_refusal(dataclasses.replace(EVERY_KEY, oom_kill_disable=True), engine()) is None


def test_an_engine_whose_kernel_is_unknown_is_left_to_speak_for_itself():
    unknown = Capabilities(kind=DOCKER, version="20.10.24", api_version="1.41")
    assert container_refusal(EVERY_KEY, unknown) is None


@pytest.mark.parametrize(("flag", "key", "what"), [
    ("cpu_shares", "cpu_shares", "CPU shares"), ("cpu_cfs_period", "cpu_period", "CFS period"),
    ("cpu_cfs_quota", "cpu_quota", "CFS quota"), ("cpuset", "cpuset", "cpusets"),
    ("swap_limit", "mem_swappiness", "swap accounting")])
def test_a_key_whose_info_flag_is_false_is_refused(flag, key, what):
    assert container_refusal(limited(**{key: getattr(EVERY_KEY.resources, key)}), engine(**{flag: False})) == (
        f"{ENGINE} cannot honour {key}: its kernel has no {what} (GET /info)")


def test_a_swap_limit_without_swap_accounting_is_refused():
    assert container_refusal(limited(memory=2**26, memswap_limit=2**27), engine(swap_limit=False)) == (
        f"{ENGINE} cannot honour memswap_limit: its kernel has no swap limit support (GET /info)")


def test_every_limit_key_the_kernel_lacks_is_named_in_one_refusal():
    spec = dataclasses.replace(limited(cpu_shares=512, cpu_quota=50000), oom_kill_disable=True)
    assert container_refusal(spec, engine(cpu_shares=False, cpu_cfs_quota=False, oom_kill_disable=False)) == (
        f"{ENGINE} cannot honour cpu_shares: its kernel has no CPU shares (GET /info); "
        f"{ENGINE} cannot honour cpu_quota: its kernel has no CFS quota (GET /info); "
        f"{ENGINE} cannot honour oom_kill_disable: its kernel cannot disable the OOM killer")


def test_oom_kill_disable_is_refused_where_the_kernel_cannot_disable_the_oom_killer():
    spec = ContainerSpec("web", "demo:1", oom_kill_disable=True)
    assert container_refusal(spec, engine(oom_kill_disable=False)) == (
        f"{ENGINE} cannot honour oom_kill_disable: its kernel cannot disable the OOM killer")


def test_a_cpuset_beyond_the_engines_cpus_is_refused():
    assert container_refusal(limited(cpuset="0,2"), engine()) == (
        f"{ENGINE} cannot honour cpuset '0,2': it has 2 CPUs, 0 to 1")
    assert container_refusal(limited(cpuset="1"), engine()) is None


def test_real_time_keys_are_refused_without_real_time_group_scheduling():
    refusal = (f"{ENGINE} cannot honour cpu_rt_period/cpu_rt_runtime: its kernel has no real-time group scheduling"
               " (cgroup v1 with CONFIG_RT_GROUP_SCHED)")
    assert container_refusal(limited(cpu_rt_period=1000000), engine(realtime=False, realtime_runtime=0)) == refusal


def test_a_real_time_runtime_beyond_what_the_parent_cgroup_grants_is_refused():
    assert container_refusal(limited(cpu_rt_runtime=10000), engine(realtime_runtime=0)) == (
        f"{ENGINE} cannot honour cpu_rt_runtime = 10000: the cgroup it puts containers in grants 0us of real-time"
        " runtime (cpu.rt_runtime_us)")


def test_a_real_time_period_alone_needs_no_runtime_budget():
    assert container_refusal(limited(cpu_rt_period=1000000), engine(realtime_runtime=0)) is None


def test_an_unknown_real_time_budget_leaves_the_runtime_to_the_engine():
    assert container_refusal(limited(cpu_rt_runtime=10000), engine(realtime=None, realtime_runtime=None)) is None


@pytest.mark.parametrize(("blkio", "key"), [(Blkio(weight=300), "weight"),
                                            (Blkio(weight_device=(Throttle("/dev/vda", 400),)), "weight_device")])
def test_block_io_weights_are_refused_where_the_blkio_controller_has_no_weight(blkio, key):
    assert container_refusal(limited(blkio=blkio), engine(blkio_weight=False)) == (
        f"{ENGINE} cannot honour blkio_config.{key}: its kernel's blkio controller has no weight")


def test_block_io_throttles_need_no_weight():
    throttled = Blkio(device_read_bps=(Throttle("/dev/vda", 2**20),))
    assert container_refusal(limited(blkio=throttled), engine(blkio_weight=False)) is None


def _a_block_device() -> str:
    """A block device of this host (/dev/vda, /dev/loop0, ...)."""
    for entry in sorted(Path("/dev").iterdir()):
        if entry.is_block_device():
            return str(entry)
    pytest.skip("this host shows no block device")


def throttled(*paths: str) -> ContainerSpec:
    return limited(blkio=Blkio(device_read_bps=tuple(Throttle(path, 2**20) for path in paths)))


def test_a_blkio_device_that_is_not_a_block_device_on_a_local_engines_host_is_refused(tmp_path):
    (tmp_path / "file").write_text("")
    spec = throttled(_a_block_device(), "/dev/no-such-disk", "/dev/null", str(tmp_path / "file"))
    assert container_refusal(spec, dataclasses.replace(engine(), local=True)) == (
        f"{ENGINE} has no such block device on its host: blkio_config.device_read_bps[1] /dev/no-such-disk, "
        f"blkio_config.device_read_bps[2] /dev/null, blkio_config.device_read_bps[3] {tmp_path / 'file'}")


def test_a_blkio_device_of_a_remote_engine_is_left_to_the_engine():
    assert container_refusal(throttled("/dev/no-such-disk"), engine()) is None


def test_a_blkio_weight_device_is_checked_as_well():
    spec = limited(blkio=Blkio(weight_device=(Throttle("/dev/no-such-disk", 300),)))
    assert container_refusal(spec, dataclasses.replace(engine(), local=True)) == (
        f"{ENGINE} has no such block device on its host: blkio_config.weight_device[0] /dev/no-such-disk")
