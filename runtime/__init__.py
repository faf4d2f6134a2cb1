"""Everything the reconciler may ask of a container engine (see `runtime.base.Runtime`)."""

from runtime.base import (
    Conflict,
    EngineError,
    EngineUnavailable,
    Event,
    Forbidden,
    InvalidSpec,
    NotFound,
    ObservedContainer,
    ObservedNetwork,
    ObservedState,
    ObservedVolume,
    Runtime,
    WaitTimeout,
)


def connect(url: str | None = None) -> Runtime:
    """The runtime for the engine at `url` (default: $DOCKER_HOST, else the local socket).
    Nothing is contacted yet: an engine that is down shows as EngineUnavailable on first use."""
    from runtime.docker import DockerRuntime

    return DockerRuntime(url)


__all__ = [
    "Conflict",
    "Forbidden",
    "EngineError",
    "EngineUnavailable",
    "Event",
    "InvalidSpec",
    "NotFound",
    "ObservedContainer",
    "ObservedNetwork",
    "ObservedState",
    "ObservedVolume",
    "Runtime",
    "WaitTimeout",
    "connect",
]
