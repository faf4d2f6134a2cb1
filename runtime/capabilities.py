"""What the engine behind a Docker-compatible API is, and what it can do (docs/engines.md).

`probe` reads the engine's own answers (`GET /version`, and Podman's `GET /libpod/info`) into
`Capabilities`; the adapter asks once, on first contact, and handles every difference it finds
in one place. Pure: no I/O here, so each engine's answer is unit-tested as recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

DOCKER = "docker"
PODMAN = "podman"
MEMORY = "memory"
PODMAN_DEFAULT_NETWORK = "podman"  # containers.conf `default_network`


@dataclass(frozen=True)
class Capabilities:
    kind: str  # docker | podman | memory
    version: str  # the engine's own version: "20.10.24", "4.3.1"
    api_version: str  # the Docker Engine API version it serves: "1.41"
    # what the engine calls the network a container joins when none is named: Docker's
    # `bridge`, Podman's `podman` (containers.conf `default_network`)
    default_network: str = "bridge"
    # POST /containers/{id}/update: resource limits changed without a restart
    in_place_update: bool = True
    # GET /distribution/{name}/json: a tag's registry digest asked through the engine
    distribution: bool = True
    # whether the engine itself runs declared healthchecks at their interval; Podman does only
    # through systemd timers, so with another cgroup manager the reconciler runs them (with exec)
    runs_healthchecks: bool = True
    # whether `unless-stopped` differs from `always`; Podman treats the two alike
    unless_stopped: bool = True
    # a rootless Podman (not yet supported: docs/engines.md)
    rootless: bool = False

    def describe(self) -> dict[str, Any]:
        """The fields as a JSON-ready mapping, for status and logs."""
        return asdict(self)


def _podman_component(version: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for component in version.get("Components") or ():
        if component.get("Name") == "Podman Engine":
            return component
    return None


def probe(version: Mapping[str, Any], podman_info: Mapping[str, Any] | None = None) -> Capabilities:
    """The capabilities of the engine whose `GET /version` answer is `version`; for Podman,
    `podman_info` is its `GET /libpod/info` answer (None before it was asked). Podman's compat
    API answers /version with a "Podman Engine" component; Docker's has none."""
    api_version = str(version.get("ApiVersion") or "")
    podman = _podman_component(version)
    if podman is None:
        return Capabilities(kind=DOCKER, version=str(version.get("Version") or ""), api_version=api_version)
    host = (podman_info or {}).get("host") or {}
    return Capabilities(
        kind=PODMAN,
        version=str(podman.get("Version") or version.get("Version") or ""),
        api_version=api_version,
        default_network=PODMAN_DEFAULT_NETWORK,
        in_place_update=False,
        distribution=False,
        runs_healthchecks=host.get("cgroupManager") == "systemd",
        unless_stopped=False,
        rootless=bool((host.get("security") or {}).get("rootless")),
    )


def is_podman(version: Mapping[str, Any]) -> bool:
    """Whether a `GET /version` answer comes from Podman (which then has `GET /libpod/info`)."""
    return _podman_component(version) is not None
