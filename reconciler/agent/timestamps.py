"""How the agent writes a point in time in its status and state files."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(timestamp: float) -> str:
    """Seconds since the epoch as ISO 8601 in UTC, to the second: "2024-05-01T13:02:10+00:00"."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


def seconds_since(stamp: str | None, now: float) -> float | None:
    """Seconds from an `iso` stamp to `now` (unix time); negative for a stamp in the future; None: no stamp."""
    return now - datetime.fromisoformat(stamp).timestamp() if stamp else None


def span(seconds: float) -> str:
    """A length of time as people read it, its sign dropped: "42s", "3m 5s", "2h 10m", "3d"."""
    seconds = int(round(abs(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds}s" if seconds else f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    return f"{hours // 24}d"
