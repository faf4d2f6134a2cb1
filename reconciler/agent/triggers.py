"""What wakes the agent loop, and when a failing resource may be tried again.

`Trigger` is the one thing the loop waits on. The file watcher, the engine event stream, signal
handlers and timers call `fire(reason)`; the loop calls `wait(timeout)` and gets every reason
fired since it last looked, as one set: ten events during a pass make one more pass, not ten.
Reasons are for logs only: a pass is level-triggered and needs nothing from what woke it.

`Backoff` is pure bookkeeping of capped exponential retry times per key (a resource, or the
engine). Time is passed in, so it is tested without sleeping; use one clock throughout
(`time.monotonic()` in the loop).
"""

from __future__ import annotations

import threading
from collections.abc import Hashable


class Trigger:
    """A coalescing, thread-safe wake-up for the loop.

    `fire` may be called from any thread but the one blocked in `wait` (so not from a signal
    handler that would run in it: `reconciler run` takes signals in a thread of its own). `wait`
    hands over the pending set in one step, so a reason fired meanwhile lands either in the
    returned set or the next one.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.RLock())
        self._reasons: set[str] = set()

    def fire(self, reason: str) -> None:
        with self._cond:
            self._reasons.add(reason)
            self._cond.notify_all()

    def wait(self, timeout: float | None = None) -> set[str] | None:
        """Block until fired or `timeout` seconds pass: the reasons fired, or None on timeout."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._reasons, timeout):
                return None
            reasons, self._reasons = self._reasons, set()
            return reasons


class Backoff:
    """Capped exponential retry times per key: `initial`, then doubling, never above `cap`.

    Not thread-safe by design: the loop owns it, and publishes `pending()` to the status.
    """

    def __init__(self, initial: float = 1.0, cap: float = 300.0, factor: float = 2.0) -> None:
        self.initial = initial
        self.cap = cap
        self.factor = factor
        self._delay: dict[Hashable, float] = {}
        self._next_at: dict[Hashable, float] = {}
        self._failures: dict[Hashable, int] = {}

    def failed(self, key: Hashable, now: float) -> float:
        """Record a failure of `key` at `now`; returns when it may be tried again."""
        previous = self._delay.get(key)
        delay = self.initial if previous is None else min(self.cap, previous * self.factor)
        self._delay[key] = delay
        self._next_at[key] = now + delay
        self._failures[key] = self._failures.get(key, 0) + 1
        return self._next_at[key]

    def succeeded(self, key: Hashable) -> None:
        """Forget `key`: its next failure starts again at `initial`."""
        self._delay.pop(key, None)
        self._next_at.pop(key, None)
        self._failures.pop(key, None)

    def due(self, key: Hashable, now: float) -> bool:
        """True when `key` may be tried at `now`: it never failed, or its wait is over."""
        next_at = self._next_at.get(key)
        return next_at is None or now >= next_at

    def failures(self, key: Hashable) -> int:
        """Consecutive failures of `key` since it last succeeded."""
        return self._failures.get(key, 0)

    def pending(self) -> dict[Hashable, float]:
        """Every key in backoff, with the time it may be tried again."""
        return dict(self._next_at)

    def next_due(self) -> float | None:
        """The earliest retry time of any key, for the loop's wait timeout; None when none."""
        return min(self._next_at.values(), default=None)
