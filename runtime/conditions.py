"""When a container has reached what `Runtime.wait_container` waits for: shared by both engines."""

from __future__ import annotations

from runtime.base import InvalidSpec

CONDITIONS = frozenset({"running", "healthy", "exited", "completed", "stable"})
_ENDED = frozenset({"exited", "dead"})


def reached(condition: str, state: str, health: str | None, exit_code: int | None) -> bool:
    """True when reached, False while it may still come; InvalidSpec when it never can."""
    if condition not in CONDITIONS:
        raise ValueError(f"unknown wait condition {condition!r}")
    ended = state in _ENDED
    if condition == "exited":
        return ended
    if condition == "completed":
        if ended and exit_code not in (0, None):
            raise InvalidSpec(f"exited with code {exit_code}, expected 0")
        return ended
    if ended:
        raise InvalidSpec(f"exited with code {exit_code} while waiting for {condition}")
    if condition in ("running", "stable"):  # stable: running, and still so when the wait ends
        return state == "running"
    if state == "running" and health is None:
        raise InvalidSpec("has no healthcheck, so it never becomes healthy")
    if health == "unhealthy":
        raise InvalidSpec("became unhealthy")
    return health == "healthy"
