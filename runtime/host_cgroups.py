"""Real-time group scheduling on the engine's host, which `GET /info` does not tell.

Moby's sysinfo learns it from the cpu cgroup (v1): the kernel has real-time group scheduling
(CONFIG_RT_GROUP_SCHED) when `cpu.rt_runtime_us` exists; cgroup v2 has none. A container's
`cpu_rt_runtime` must also fit in what its parent cgroup grants: the engine writes it into the
container's own cgroup at start, and the kernel refuses it ("write .../cpu.rt_runtime_us:
invalid argument") beyond the parent's `cpu.rt_runtime_us`. The agent can read both only on the
engine's host, so only for an engine behind a unix socket; a remote engine is unknown and its own
error speaks at apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

CPU_CGROUP = Path("/sys/fs/cgroup/cpu")
RUNTIME_FILE = "cpu.rt_runtime_us"
# The cgroup each engine puts its containers under, by cgroup driver: Docker's `--cgroup-parent`
# default (moby daemon/daemon_unix.go: "/docker", or "system.slice" with systemd), Podman's
# containers.conf `cgroup_manager` (libpod: "libpod_parent", or "machine.slice" with systemd).
PARENTS = {("docker", "cgroupfs"): "docker", ("docker", "systemd"): "system.slice",
           ("podman", "cgroupfs"): "libpod_parent", ("podman", "systemd"): "machine.slice"}


def is_local(url: str | None) -> bool:
    """Whether the engine at `url` (DOCKER_HOST's form; None: the SDK's default socket) runs on this host."""
    return url is None or url.startswith("unix://")


def realtime(kind: str, info: Mapping[str, Any], cpu_cgroup: Path = CPU_CGROUP) -> tuple[bool | None, int | None]:
    """(real-time group scheduling, microseconds of real-time runtime per period the engine's
    parent cgroup grants) for engine `kind` ("docker" | "podman") whose `GET /info` answer is
    `info`, read under `cpu_cgroup` on this host. (False, 0) on cgroup v2 or without
    CONFIG_RT_GROUP_SCHED; None for what cannot be read (no cpu controller here, or the parent
    cgroup is not made yet)."""
    if str(info.get("CgroupVersion") or "1") == "2":
        return False, 0
    if not cpu_cgroup.is_dir():
        return None, None
    if not (cpu_cgroup / RUNTIME_FILE).exists():
        return False, 0
    parent = PARENTS.get((kind, str(info.get("CgroupDriver") or "cgroupfs")))
    try:
        return True, int((cpu_cgroup / parent / RUNTIME_FILE).read_text()) if parent else None
    except (OSError, ValueError):
        return True, None
