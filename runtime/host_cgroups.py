"""Real-time group scheduling and block I/O weight on the engine's host, which `GET /info` does not tell.

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
BLKIO_CGROUP = Path("/sys/fs/cgroup/blkio")
# moby pkg/sysinfo (cgroup v1) checkCgroupBlkioInfo: the weight files of the CFQ and BFQ schedulers
WEIGHT_FILES = ("blkio.weight", "blkio.bfq.weight")
RUNTIME_FILE = "cpu.rt_runtime_us"
# The cgroup each engine puts its containers under, by cgroup driver: Docker's `--cgroup-parent`
# default (moby daemon/daemon_unix.go: "/docker", or "system.slice" with systemd), Podman's
# containers.conf `cgroup_manager` (libpod: "libpod_parent", or "machine.slice" with systemd).
PARENTS = {("docker", "cgroupfs"): "docker", ("docker", "systemd"): "system.slice",
           ("podman", "cgroupfs"): "libpod_parent", ("podman", "systemd"): "machine.slice"}


def is_local(url: str | None) -> bool:
    """Whether the engine at `url` (DOCKER_HOST's form, or a socket's path; None: the SDK's default
    socket) runs on this host."""
    return url is None or url.startswith("unix://") or url.startswith("/")


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


def blkio_weight(info: Mapping[str, Any], blkio_cgroup: Path = BLKIO_CGROUP) -> bool | None:
    """Whether the blkio controller weighs block I/O (`blkio_config.weight`, `weight_device`): on
    cgroup v1 a weight file exists; without one Docker drops the weights with a warning ("Your kernel
    does not support Block I/O weight ... Weight discarded") and Podman in silence. None when this
    host shows no blkio controller, or the engine is on cgroup v2 (moby reads io.weight there)."""
    if str(info.get("CgroupVersion") or "1") == "2" or not blkio_cgroup.is_dir():
        return None
    return any((blkio_cgroup / name).exists() for name in WEIGHT_FILES)


def read(url: str | None, kind: str, info: Mapping[str, Any]) -> dict[str, Any]:
    """`probe`'s `realtime`, `blkio_weight` and `local` for engine `kind` at `url` whose `GET /info`
    answer is `info`: read here when the engine is on this host (`is_local`), else unknown."""
    if not is_local(url):
        return {"realtime": (None, None), "blkio_weight": None, "local": False}
    return {"realtime": realtime(kind, info), "blkio_weight": blkio_weight(info), "local": True}
