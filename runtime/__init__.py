"""Everything the reconciler may ask of a container engine (see `runtime.base.Runtime`)."""

from runtime.base import (
    Conflict,
    EngineError,
    EngineUnavailable,
    Event,
    InvalidSpec,
    NotFound,
    ObservedContainer,
    ObservedNetwork,
    ObservedState,
    ObservedVolume,
    Runtime,
    WaitTimeout,
)

__all__ = [
    "Conflict",
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
]
