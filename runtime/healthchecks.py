"""Declared healthchecks run at their interval, for an engine that runs none itself.

Podman runs healthchecks only from systemd timers; without systemd a container's health stays
`starting` forever, and a health gate or `depends_on = "healthy"` would wait in vain. Where the
probe says so (`Capabilities.runs_healthchecks`), the adapter runs each check itself, through
the engine (which execs the declared test in the container and records the result, so `inspect`,
`ps` and the health_status events say what they would under systemd), on Docker's schedule: the
first check one interval after the start, then one interval after each check ends.

`Schedule` is the pure part (what is due when); `run_forever` is the thread the events watch
starts for one namespace.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from runtime.base import EngineError

DEFAULT_INTERVAL = 30.0  # seconds, Docker's default when a healthcheck gives none
TICK = 0.1  # seconds between looks at what is due
REFRESH = 1.0  # seconds between two lists of the running containers
WORKERS = 4


@dataclass
class Schedule:
    """When each running container's next check is due (seconds since the epoch)."""

    due: dict[str, float] = field(default_factory=dict)

    def follow(self, running: Mapping[str, tuple[float, float]]) -> None:
        """`running`: container id -> (started at, interval) for the running containers with a
        healthcheck. A new one is due one interval after its start; gone ones are forgotten."""
        for id in set(self.due) - set(running):
            del self.due[id]
        for id, (started, interval) in running.items():
            self.due.setdefault(id, started + interval)

    def take(self, now: float) -> list[str]:
        """The containers whose check is due at `now`; they are not due again until `done`."""
        ready = sorted(id for id, at in self.due.items() if at <= now)
        for id in ready:
            self.due[id] = float("inf")
        return ready

    def done(self, id: str, now: float, interval: float) -> None:
        if id in self.due:
            self.due[id] = now + interval


def interval_of(healthcheck: Mapping | None) -> float | None:
    """A container's check interval in seconds, from its inspect `Config.Healthcheck` (times in
    nanoseconds); None when it has no check (or `NONE`)."""
    test = (healthcheck or {}).get("Test") or []
    if not test or test[0] == "NONE":
        return None
    nanos = (healthcheck or {}).get("Interval") or 0
    return nanos / 1e9 if nanos else DEFAULT_INTERVAL


def run_forever(
    running: Callable[[], Mapping[str, tuple[float, float]]],
    check: Callable[[str], object],
    stop: Callable[[], bool],
    clock: Callable[[], float] = time.time,
) -> None:
    """Until `stop()`: every REFRESH seconds ask `running()` (see `Schedule.follow`), and run
    `check(id)` for each container whose check is due, at most WORKERS at a time. An engine
    error skips a round: the next list tells what is still there."""
    schedule = Schedule()
    intervals: dict[str, float] = {}
    listed_at = float("-inf")
    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="healthcheck") as pool:
        while not stop():
            now = clock()
            if now - listed_at >= REFRESH:
                try:
                    found = running()
                except EngineError:
                    found = None
                if found is not None:
                    schedule.follow(found)
                    intervals = {id: interval for id, (_, interval) in found.items()}
                listed_at = now
            for id in schedule.take(now):
                future: Future = pool.submit(check, id)
                every = intervals.get(id, DEFAULT_INTERVAL)
                future.add_done_callback(lambda _, id=id, every=every: schedule.done(id, clock(), every))
            time.sleep(TICK)
