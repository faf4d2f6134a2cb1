"""What an engine cannot honour in a container spec, asked before anything is created.

DESIGN section 13: a key an engine cannot honour is an error naming the engine and its version,
never dropped in silence. `container_refusal` runs each check of `CHECKS` over a spec and the
engine's `Capabilities`; the plan shows the first refusal as the container's blocked reason, and
the adapters refuse the create with it. Pure: every check is unit-tested without an engine.
"""

from __future__ import annotations

from collections.abc import Callable

from reconciler.model import ContainerSpec
from runtime.capabilities import Capabilities

# The first Engine API versions that take a volume mount's Subpath (Docker 26), a healthcheck's
# StartInterval (Docker 25) and HostConfig.Annotations (Docker 24).
SUBPATH_API = (1, 45)
START_INTERVAL_API = (1, 44)
ANNOTATIONS_API = (1, 43)


def engine_name(capabilities: Capabilities) -> str:
    """"docker 20.10.24 (API 1.41)": how a refusal names the engine."""
    return f"{capabilities.kind} {capabilities.version} (API {capabilities.api_version})"


def _api(capabilities: Capabilities) -> tuple[int, ...]:
    return tuple(int(part) for part in capabilities.api_version.split(".") if part.isdigit())


def _needs(capabilities: Capabilities, api: tuple[int, ...], what: str) -> str | None:
    if _api(capabilities) >= api:
        return None
    return f"{engine_name(capabilities)} cannot {what}: that needs API {'.'.join(map(str, api))}"


def _subpath(spec: ContainerSpec, capabilities: Capabilities) -> str | None:
    """A volume mount's `subpath` needs API 1.45 (Mount.VolumeOptions.Subpath)."""
    at = [index for index, mount in enumerate(spec.mounts) if mount.subpath is not None]
    return _needs(capabilities, SUBPATH_API, f"mount a volume's subpath (mounts[{at[0]}])") if at else None


def _start_interval(spec: ContainerSpec, capabilities: Capabilities) -> str | None:
    """`healthcheck.start_interval` needs API 1.44 (HealthConfig.StartInterval)."""
    if spec.healthcheck is None or spec.healthcheck.start_interval is None:
        return None
    return _needs(capabilities, START_INTERVAL_API, "check health at a start interval (healthcheck.start_interval)")


def _annotations(spec: ContainerSpec, capabilities: Capabilities) -> str | None:
    """`annotations` need API 1.43 (HostConfig.Annotations); an older engine drops them silently."""
    return _needs(capabilities, ANNOTATIONS_API, "set OCI annotations (annotations)") if spec.annotations else None


CHECKS: tuple[Callable[[ContainerSpec, Capabilities], str | None], ...] = (_subpath, _start_interval, _annotations)


def container_refusal(spec: ContainerSpec, capabilities: Capabilities) -> str | None:
    """Why the engine cannot honour `spec` as declared, or None."""
    for check in CHECKS:
        refusal = check(spec, capabilities)
        if refusal:
            return refusal
    return None
