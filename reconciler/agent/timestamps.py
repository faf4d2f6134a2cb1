"""How the agent writes a point in time in its status and state files."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(timestamp: float) -> str:
    """Seconds since the epoch as ISO 8601 in UTC, to the second: "2024-05-01T13:02:10+00:00"."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")
