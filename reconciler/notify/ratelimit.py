"""The rate limit of notifications: per event kind and resource (and, for an event of the agent as
a whole, the revision or plan it is about), at most one per window. Pure.

A container that flaps sends its first event; those that follow within the window are held back
and counted, and the next one sent after the window says how many were held back (its
`suppressed`), so a channel hears of a flapping container once per window, with a count.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_WINDOW = 900.0  # seconds


@dataclass
class RateLimit:
    """`window` in seconds; times given to `admit` are on one monotonic clock."""

    window: float = DEFAULT_WINDOW
    _sent_at: dict[tuple[str, str | None, str | None], float] = field(default_factory=dict)
    _held: dict[tuple[str, str | None, str | None], int] = field(default_factory=dict)

    def admit(self, kind: str, resource: str | None, now: float, about: str | None = None) -> int | None:
        """None: held back (counted); else the event goes out, and this is how many of its kind,
        resource and `about` (a revision's sha, a plan's id: `Event.about`) were held back since the
        last one that went out."""
        key = (kind, resource, about)
        sent = self._sent_at.get(key)
        if sent is not None and now - sent < self.window:
            self._held[key] = self._held.get(key, 0) + 1
            return None
        self._sent_at[key] = now
        return self._held.pop(key, 0)
