"""What the probe learns of the engine's kernel: `GET /info` as recorded, and the host's cpu cgroup."""

from __future__ import annotations

from runtime import host_cgroups
from runtime.capabilities import Kernel, probe
from tests.unit.test_engine_differences import DOCKER_VERSION, PODMAN_INFO, PODMAN_VERSION

# Docker 20.10.24's and Podman 4.3.1's /info on this machine (cgroup v1, cgroupfs), cut to the probed fields
DOCKER_INFO = {"CgroupVersion": "1", "CgroupDriver": "cgroupfs", "NCPU": 2, "SwapLimit": True, "CpuCfsPeriod": True,
               "CpuCfsQuota": True, "CPUShares": True, "CPUSet": True, "OomKillDisable": True, "PidsLimit": True,
               "KernelMemory": True, "MemoryLimit": True}
PODMAN_COMPAT_INFO = {**DOCKER_INFO, "KernelMemory": False, "CPURealtimePeriod": True, "CPURealtimeRuntime": True}
# a cgroup v2 host whose kernel limits no swap (moby's sysinfo on a kernel without swap accounting)
V2_INFO = {"CgroupVersion": "2", "CgroupDriver": "systemd", "NCPU": 8, "SwapLimit": False, "CpuCfsPeriod": True,
           "CpuCfsQuota": True, "CPUShares": True, "CPUSet": True, "OomKillDisable": False, "PidsLimit": True}


def test_without_info_nothing_is_known_of_the_kernel():
    assert probe(DOCKER_VERSION).kernel is None


def test_dockers_info_gives_each_limit_flag_and_the_cpu_count():
    assert probe(DOCKER_VERSION, None, DOCKER_INFO, (True, 950000)).kernel == Kernel(
        cgroup_version="1", ncpu=2, swap_limit=True, cpu_cfs_period=True, cpu_cfs_quota=True, cpu_shares=True,
        cpuset=True, oom_kill_disable=True, pids_limit=True, realtime=True, realtime_runtime=950000)


def test_a_kernel_without_swap_accounting_nor_oom_kill_disable_says_so():
    kernel = probe(DOCKER_VERSION, None, V2_INFO).kernel
    assert (kernel.cgroup_version, kernel.ncpu, kernel.swap_limit, kernel.oom_kill_disable) == ("2", 8, False, False)
    assert kernel.cpu_shares and kernel.cpuset


def test_a_flag_the_answer_lacks_counts_as_present():
    kernel = probe(DOCKER_VERSION, None, {"NCPU": 4}).kernel
    assert kernel.swap_limit and kernel.oom_kill_disable and kernel.cgroup_version == "1"


def test_dockers_info_has_no_real_time_flag_so_a_remote_docker_is_unknown():
    kernel = probe(DOCKER_VERSION, None, DOCKER_INFO).kernel
    assert (kernel.realtime, kernel.realtime_runtime) == (None, None)


def test_podmans_compat_info_says_whether_the_kernel_has_real_time_group_scheduling():
    kernel = probe(PODMAN_VERSION, PODMAN_INFO, PODMAN_COMPAT_INFO).kernel
    assert (kernel.realtime, kernel.realtime_runtime) == (True, None)


def test_the_kernel_is_described_with_the_rest():
    described = probe(DOCKER_VERSION, None, DOCKER_INFO, (True, 0)).describe()
    assert described["kernel"]["ncpu"] == 2 and described["kernel"]["realtime_runtime"] == 0


def _cpu_cgroup(tmp_path, root_runtime: str | None, parents: dict[str, str]):
    tmp_path.mkdir(exist_ok=True)
    if root_runtime is not None:
        (tmp_path / host_cgroups.RUNTIME_FILE).write_text(root_runtime)
    for parent, runtime in parents.items():
        (tmp_path / parent).mkdir()
        (tmp_path / parent / host_cgroups.RUNTIME_FILE).write_text(runtime)
    return tmp_path


def test_the_real_time_budget_is_what_the_engines_parent_cgroup_grants(tmp_path):
    cpu = _cpu_cgroup(tmp_path, "950000", {"docker": "0", "libpod_parent": "400000\n"})
    assert host_cgroups.realtime("docker", DOCKER_INFO, cpu) == (True, 0)
    assert host_cgroups.realtime("podman", DOCKER_INFO, cpu) == (True, 400000)


def test_a_kernel_without_rt_group_scheduling_has_no_rt_runtime_file(tmp_path):
    cpu = _cpu_cgroup(tmp_path, None, {})
    assert host_cgroups.realtime("docker", DOCKER_INFO, cpu) == (False, 0)


def test_cgroup_v2_has_no_real_time_group_scheduling(tmp_path):
    assert host_cgroups.realtime("docker", V2_INFO, tmp_path) == (False, 0)


def test_a_parent_cgroup_not_made_yet_leaves_the_budget_unknown(tmp_path):
    cpu = _cpu_cgroup(tmp_path, "950000", {})
    assert host_cgroups.realtime("docker", DOCKER_INFO, cpu) == (True, None)


def test_a_host_without_a_cpu_cgroup_here_is_unknown(tmp_path):
    assert host_cgroups.realtime("docker", DOCKER_INFO, tmp_path / "absent") == (None, None)


def test_only_an_engine_behind_a_unix_socket_is_on_this_host():
    assert host_cgroups.is_local("unix:///run/reconciler-engine/docker.sock") and host_cgroups.is_local(None)
    assert not host_cgroups.is_local("tcp://10.0.0.5:2376") and not host_cgroups.is_local("ssh://me@host")


def test_block_io_weight_is_known_by_the_blkio_controllers_weight_file(tmp_path):
    (tmp_path / "blkio.throttle.read_bps_device").write_text("")
    assert host_cgroups.blkio_weight(DOCKER_INFO, tmp_path) is False
    (tmp_path / "blkio.bfq.weight").write_text("100")
    assert host_cgroups.blkio_weight(DOCKER_INFO, tmp_path) is True
    assert host_cgroups.blkio_weight(V2_INFO, tmp_path) is None


def test_a_remote_engines_host_cgroups_are_unknown():
    assert host_cgroups.read("tcp://10.0.0.5:2376", "docker", DOCKER_INFO) == {
        "realtime": (None, None), "blkio_weight": None, "local": False}
