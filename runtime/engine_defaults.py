"""What an engine sets on a container that nobody asked for: the values `import containers`
leaves out so that a file holds only what the user chose.

Read from the engines themselves (Docker 20.10 and Podman 4.3.1 `docker inspect` answers, in
tests/unit/fixtures/import_containers/) and from moby's daemon defaults: the default bridge
network, `json-file` logging (GET /info `LoggingDriver`), runc (`DefaultRuntime`), a 64 MiB
/dev/shm (daemon/config `DefaultShmSize`), a private IPC namespace (`DefaultIpcMode`), the host's
cgroup namespace on cgroup v1 and a private one on v2 (`DefaultCgroupNamespaceMode`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runtime.capabilities import PODMAN, PODMAN_DEFAULT_NETWORK

# The engines' own networks: never declared, a container on them alone has no `networks`.
ENGINE_NETWORKS = frozenset({"bridge", "host", "none", PODMAN_DEFAULT_NETWORK})
# Podman's compat API spells out the options every mount gets (`nosuid,nodev,rbind`); none is a choice
_PODMAN_MOUNT_OPTIONS = frozenset({"rw", "rprivate", "rbind", "nosuid", "nodev", "tmpcopyup", "mode=0"})
_DOCKER_MOUNT_OPTIONS = frozenset({"rw"})


@dataclass(frozen=True)
class EngineDefaults:
    """The engine's choices for a container created without the key (see the module docstring)."""

    default_network: str  # "bridge" on Docker, "podman" on Podman
    log_driver: str
    runtimes: frozenset[str]  # the runtime names meaning the default one
    shm_size: int  # bytes
    cgroupns: str  # HostConfig.CgroupnsMode of a container that gave none ("" where not said)
    env: Mapping[str, str]  # variables the engine adds to Config.Env
    mount_options: frozenset[str]  # options the engine adds to each Binds and Tmpfs entry
    stop_timeouts: frozenset[int]  # Config.StopTimeout values the engine writes when none was given
    swappiness: frozenset[int]  # HostConfig.MemorySwappiness values the engine writes when none was given
    host_name: str  # the engine host's name: the hostname of a container on the host's network

    @property
    def namespace_modes(self) -> frozenset[str]:
        """IpcMode, PidMode and UTSMode values that mean "a namespace of its own" (Docker writes
        `private` for IPC, Podman `shareable` for IPC and `private` for PID and UTS)."""
        return frozenset({"", "private", "shareable"})


def engine_defaults(engine: str, info: Mapping[str, Any]) -> EngineDefaults:
    """The defaults of `engine` ("docker" | "podman"), given its GET /info answer."""
    if engine == PODMAN:
        return EngineDefaults(
            default_network=PODMAN_DEFAULT_NETWORK, log_driver=info.get("LoggingDriver") or "json-file",
            runtimes=frozenset({"oci", "runc", "crun", info.get("DefaultRuntime") or "runc"}),
            shm_size=65536000, cgroupns="", env={"container": "podman", "TERM": "xterm", "HOME": "/root"},
            mount_options=_PODMAN_MOUNT_OPTIONS, stop_timeouts=frozenset({0, 10}), swappiness=frozenset({-1, 0}),
            host_name=info.get("Name") or "",
        )
    return EngineDefaults(
        default_network="bridge", log_driver=info.get("LoggingDriver") or "json-file",
        runtimes=frozenset({"runc", info.get("DefaultRuntime") or "runc"}),
        shm_size=64 * 1024 * 1024, cgroupns="host" if str(info.get("CgroupVersion") or "1") == "1" else "private",
        env={}, mount_options=_DOCKER_MOUNT_OPTIONS, stop_timeouts=frozenset(), swappiness=frozenset({-1}),
        host_name=info.get("Name") or "",
    )
