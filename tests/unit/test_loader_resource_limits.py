"""Compose's CPU, swap, block I/O and OOM keys: their value forms, and the values the engine would
refuse or clamp as errors at their lines (moby daemon_unix.go verifyPlatformContainerResources)."""

import pytest

from reconciler.fields import Blkio, Throttle
from tests.unit.desired import container, errors


def _errors(tmp_path, body: str) -> list[str]:
    return errors(tmp_path, {"a.toml": f"[container.web]\nimage = 'demo'\n{body}\n"})


def test_cpu_keys_are_taken_at_the_top_level_into_the_resources(tmp_path):
    res = container(tmp_path, "cpu_shares = 512\ncpu_period = 100000\ncpu_quota = 50000\ncpuset = '0-1'").resources
    assert (res.cpu_shares, res.cpu_period, res.cpu_quota, res.cpuset) == (512, 100000, 50000, "0-1")


@pytest.mark.parametrize(("written", "micros"), [("100000", 100000), ("'100ms'", 100000), ("'1s'", 1000000),
                                                 ("'1500us'", 1500), ("'0.5s'", 500000)])
def test_a_cfs_period_is_integer_microseconds_or_a_duration(tmp_path, written, micros):
    assert container(tmp_path, f"cpu_period = {written}").resources.cpu_period == micros


def test_real_time_keys_take_durations_too(tmp_path):
    res = container(tmp_path, "cpu_rt_period = '1s'\ncpu_rt_runtime = 400000").resources
    assert (res.cpu_rt_period, res.cpu_rt_runtime) == (1000000, 400000)


def test_a_duration_that_is_no_whole_microsecond_is_an_error(tmp_path):
    assert _errors(tmp_path, "cpu_quota = '1.0005ms'") == [
        "a.toml:3: container.web.cpu_quota: '1.0005ms' is not a whole number of microseconds"]


@pytest.mark.parametrize("written", ["999", "'1001ms'", "0"])
def test_a_cfs_period_outside_1ms_to_1s_is_an_error(tmp_path, written):
    assert _errors(tmp_path, f"cpu_period = {written}") == [
        "a.toml:3: container.web.cpu_period: must be from 1ms (1000) to 1s (1000000): the engine refuses other CFS"
        " periods"]


def test_a_cfs_quota_under_1ms_is_an_error_and_minus_one_is_no_quota(tmp_path):
    assert container(tmp_path, "cpu_quota = -1").resources.cpu_quota == -1
    assert _errors(tmp_path, "cpu_quota = 999") == [
        "a.toml:3: container.web.cpu_quota: must be at least 1ms (1000), or -1 for no quota: the engine refuses less"]


def test_cpus_and_a_cfs_period_or_quota_exclude_each_other(tmp_path):
    assert _errors(tmp_path, "cpu_period = 100000\ncpu_quota = '50ms'\nresources = { cpus = 0.5 }") == [
        f"a.toml:{line}: container.web.{key}: {key} and resources.cpus exclude each other: the engine refuses both"
        " (cpus sets the quota over a period of its own)"
        for line, key in ((3, "cpu_period"), (4, "cpu_quota"))]


@pytest.mark.parametrize("shares", [1, 262145])
def test_cpu_shares_the_engine_would_clamp_are_an_error(tmp_path, shares):
    (message,) = _errors(tmp_path, f"cpu_shares = {shares}")
    assert message.startswith("a.toml:3: container.web.cpu_shares: ")


@pytest.mark.parametrize("cpuset", ["0", "0-3", "0,2", "0-1,4,6-7"])
def test_a_cpuset_is_a_list_of_cpus_and_ranges_kept_as_written(tmp_path, cpuset):
    assert container(tmp_path, f"cpuset = '{cpuset}'").resources.cpuset == cpuset


@pytest.mark.parametrize("cpuset", ["", "a", "0-", "0,,1", " 0", "1;2"])
def test_a_cpuset_outside_the_list_grammar_is_an_error(tmp_path, cpuset):
    assert _errors(tmp_path, f"cpuset = '{cpuset}'") == [
        f"a.toml:3: container.web.cpuset: {cpuset!r} is not a CPU list such as \"0-3\" or \"0,2\""]


def test_a_cpuset_range_going_backwards_is_an_error(tmp_path):
    assert _errors(tmp_path, "cpuset = '0,3-1'") == ["a.toml:3: container.web.cpuset: the range 3-1 goes backwards"]


def test_a_real_time_runtime_longer_than_its_period_is_an_error(tmp_path):
    assert _errors(tmp_path, "cpu_rt_period = '10ms'\ncpu_rt_runtime = '20ms'") == [
        "a.toml:4: container.web.cpu_rt_runtime: must not be more than cpu_rt_period (10000us): the engine refuses it"]


def test_a_negative_real_time_runtime_is_an_error(tmp_path):
    assert _errors(tmp_path, "cpu_rt_runtime = -5") == ["a.toml:3: container.web.cpu_rt_runtime: must not be negative"]


@pytest.mark.parametrize("swappiness", [-1, 101])
def test_a_swappiness_outside_0_to_100_is_an_error(tmp_path, swappiness):
    (message,) = _errors(tmp_path, f"mem_swappiness = {swappiness}")
    assert message.startswith("a.toml:3: container.web.mem_swappiness: ")


def test_a_swap_limit_is_a_size_or_minus_one(tmp_path):
    assert container(tmp_path, "memswap_limit = '1g'\nresources = { memory = '512m' }").resources.memswap_limit == 2**30
    assert container(tmp_path, "memswap_limit = -1\nresources = { memory = '512m' }").resources.memswap_limit == -1


def test_a_swap_limit_without_a_memory_limit_is_an_error(tmp_path):
    assert _errors(tmp_path, "memswap_limit = '1g'") == [
        "a.toml:3: container.web.memswap_limit: needs resources.memory: it limits memory and swap together"]


def test_a_swap_limit_below_the_memory_limit_is_an_error(tmp_path):
    assert _errors(tmp_path, "memswap_limit = '256m'\nresources = { memory = '512m' }") == [
        "a.toml:3: container.web.memswap_limit: must be at least resources.memory (536870912 bytes): it counts"
        " memory and swap"]


def test_a_zero_swap_limit_is_an_error_rather_than_meaning_two_things(tmp_path):
    assert _errors(tmp_path, "memswap_limit = 0\nresources = { memory = '512m' }") == [
        "a.toml:3: container.web.memswap_limit: 0 sets nothing: leave memswap_limit out, or give a size or -1"
        " (unlimited)"]


def test_blkio_config_takes_a_weight_and_per_device_limits_with_sizes(tmp_path):
    blkio = container(tmp_path, "[container.app.blkio_config]\nweight = 300\n"
                                "weight_device = [{ path = '/dev/sda', weight = 400 }]\n"
                                "device_read_bps = [{ path = '/dev/sda', rate = '12m' }]\n"
                                "device_write_bps = [{ path = '/dev/sda', rate = 1024 }]\n"
                                "device_read_iops = [{ path = '/dev/sda', rate = 120 }]\n"
                                "device_write_iops = [{ path = '/dev/sdb', rate = 30 }]").resources.blkio
    assert blkio == Blkio(weight=300, weight_device=(Throttle("/dev/sda", 400),),
                          device_read_bps=(Throttle("/dev/sda", 12 * 2**20),),
                          device_write_bps=(Throttle("/dev/sda", 1024),),
                          device_read_iops=(Throttle("/dev/sda", 120),), device_write_iops=(Throttle("/dev/sdb", 30),))


def test_a_blkio_device_path_outside_dev_is_an_error_at_its_entry(tmp_path):
    assert _errors(tmp_path, "blkio_config = { device_read_iops = [{ path = 'sda', rate = 10 }] }") == [
        "a.toml:3: container.web.blkio_config.device_read_iops[0].path: 'sda' must be a device's absolute path under"
        " /dev/"]


@pytest.mark.parametrize("weight", [9, 1001])
def test_a_blkio_weight_outside_10_to_1000_is_an_error(tmp_path, weight):
    (message,) = _errors(tmp_path, f"blkio_config = {{ weight = {weight} }}")
    assert message.startswith("a.toml:3: container.web.blkio_config.weight: ")


def test_oom_keys_are_the_containers(tmp_path):
    app = container(tmp_path, "oom_kill_disable = true\noom_score_adj = -500")
    assert (app.oom_kill_disable, app.oom_score_adj) == (True, -500)


@pytest.mark.parametrize("score", [-1001, 1001])
def test_an_oom_score_adjustment_outside_the_kernels_range_is_an_error(tmp_path, score):
    (message,) = _errors(tmp_path, f"oom_score_adj = {score}")
    assert message.startswith("a.toml:3: container.web.oom_score_adj: ")
