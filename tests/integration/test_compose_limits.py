"""Compose's CPU, swap, block I/O and OOM keys on the real engine: `apply` creates the container
with each key in its HostConfig, and a second plan finds "No changes" (run it on Docker and on
Podman through DOCKER_HOST). Block I/O limits use the block device of `/` on this host."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

NO_CHANGES = "No changes: the engine matches the desired state.\n"


def reconciler(*args: str, namespace: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reconciler", *args, "--namespace", namespace],
                          capture_output=True, text=True, timeout=120)


def root_device() -> str | None:
    """The block device `/` is on, as a /dev path, or None when it has none here."""
    major_minor = os.stat("/").st_dev
    path = f"/sys/dev/block/{os.major(major_minor)}:{os.minor(major_minor)}"
    if not os.path.exists(path):
        return None
    device = f"/dev/{os.path.basename(os.path.realpath(path))}"
    return device if os.path.exists(device) else None


KEYS = {
    "cpu_shares": ("cpu_shares = 512", {"CpuShares": 512}),
    "cpu_cfs": ("cpu_period = '100ms'\ncpu_quota = 50000", {"CpuPeriod": 100000, "CpuQuota": 50000}),
    "cpuset": ("cpuset = '0'", {"CpusetCpus": "0"}),
    "cpu_rt_period": ("cpu_rt_period = '1s'", {"CpuRealtimePeriod": 1000000}),
    "mem_swappiness": ("mem_swappiness = 10", {"MemorySwappiness": 10}),
    "memswap_limit": ("memswap_limit = '128m'\nresources = { memory = '64m' }",
                      {"Memory": 64 * 2**20, "MemorySwap": 128 * 2**20}),
    "oom_kill_disable": ("oom_kill_disable = true\nresources = { memory = '64m' }", {"OomKillDisable": True}),
    "oom_score_adj": ("oom_score_adj = 300", {"OomScoreAdj": 300}),
}


def write(tmp_path, namespace: str, keys: str) -> None:
    (tmp_path / "app.toml").write_text(
        f'[container.{namespace}-app]\nimage = "localhost/demo:1"\ncommand = ["sleep", "3600"]\n'
        f"init = true\nstop_timeout = 1\n{keys}\n")


def applied_then_unchanged(tmp_path, namespace, docker_client, keys: str) -> dict:
    write(tmp_path, namespace, keys)
    applied = reconciler("apply", str(tmp_path), namespace=namespace)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    container = docker_client.containers.get(f"{namespace}-app")
    assert container.status == "running"
    planned = reconciler("plan", str(tmp_path), "--detailed-exitcode", namespace=namespace)
    assert (planned.returncode, planned.stdout) == (0, NO_CHANGES)
    return container.attrs["HostConfig"]


@pytest.mark.parametrize("key", sorted(KEYS))
def test_a_limit_key_reaches_host_config_and_a_second_pass_changes_nothing(tmp_path, namespace, docker_client, key):
    keys, expected = KEYS[key]
    host = applied_then_unchanged(tmp_path, namespace, docker_client, keys)
    assert {field: host[field] for field in expected} == expected


def test_block_io_limits_reach_host_config_and_a_second_pass_changes_nothing(tmp_path, namespace, docker_client):
    device = root_device()
    if device is None:
        pytest.skip("/ is on no block device here")
    keys = (f"[container.{namespace}-app.blkio_config]\n"
            f"device_read_bps = [{{ path = '{device}', rate = '12m' }}]\n"
            f"device_write_bps = [{{ path = '{device}', rate = '1m' }}]\n"
            f"device_read_iops = [{{ path = '{device}', rate = 120 }}]\n"
            f"device_write_iops = [{{ path = '{device}', rate = 30 }}]")
    host = applied_then_unchanged(tmp_path, namespace, docker_client, keys)
    assert (host["BlkioDeviceReadBps"], host["BlkioDeviceWriteBps"], host["BlkioDeviceReadIOps"],
            host["BlkioDeviceWriteIOps"]) == ([{"Path": device, "Rate": 12 * 2**20}], [{"Path": device, "Rate": 2**20}],
                                              [{"Path": device, "Rate": 120}], [{"Path": device, "Rate": 30}])


def test_a_real_time_runtime_the_engines_cgroup_cannot_grant_is_blocked_in_the_plan(tmp_path, namespace, docker_client):
    write(tmp_path, namespace, "cpu_rt_runtime = '10ms'")
    planned = reconciler("plan", str(tmp_path), namespace=namespace)
    if "cannot honour cpu_rt_runtime" not in planned.stdout:
        pytest.skip("this engine's cgroup grants real-time runtime")
    assert "grants 0us of real-time runtime (cpu.rt_runtime_us)" in planned.stdout
    assert not docker_client.containers.list(all=True, filters={"name": f"{namespace}-app"})
