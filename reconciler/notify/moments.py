"""The events a pass's outcome calls for, found where the loop has each moment. Pure.

- `rollbacks(results)`: each replacement that failed and was rolled back: `quarantined` when its
  new container itself failed (`agent.quarantine.own_failure`), else `replacement_failed`;
- `drift(results, corrected)`: each resource whose drift the pass undid (`accounting.account`'s
  `corrected`);
- `entered(reports)`: the resources that entered a crash loop, and those found drifted
  (`drift = "alert"`: `drift_found`), not told before (`told.Told.news`);
- `revision(before, after, subject, why)`: a git revision applied, or attempted and not applied (and why);
- `EngineWatch`: the engine unreachable for longer than a threshold, once per outage.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from reconciler.agent.accounting import DRIFT
from reconciler.agent.quarantine import own_failure
from reconciler.agent.revisions import Revisions
from reconciler.agent.status import ResourceReport
from reconciler.changes import Cause, ChangeKind, Reason
from reconciler.execute import TaskResult
from reconciler.model import resource_key
from reconciler.notify.events import (
    CRASH_LOOP,
    DRIFT_CORRECTED,
    DRIFT_FOUND,
    ENGINE_UNREACHABLE,
    QUARANTINED,
    REPLACEMENT_FAILED,
    REVISION_APPLIED,
    REVISION_FAILED,
    Event,
)


def rollbacks(results: Iterable[TaskResult], revision: str | None, retried: Collection[str] = ()) -> list[Event]:
    """One event per replacement of a container that failed and was rolled back; not again for
    a retry of one that failed before (`retried`: "kind/name" in backoff before the pass)."""
    events = []
    for result in results:
        change = result.task.change
        if result.ok or not result.rolled_back or change.kind is not ChangeKind.RECREATE or result.task.key in retried:
            continue
        own = own_failure(result)
        name = f"{change.resource} {change.name}"
        if own is not None:
            who = f"revision {revision}" if revision else "the new spec"
            message = (f"{who} failed for {name}: {own}; rolled back to the previous container, quarantined "
                       "until the spec or its image changes (or `reconciler retry`)")
            events.append(Event(QUARANTINED, result.task.key, message, revision))
        else:
            message = f"replacing {name} failed: {result.error}; rolled back to the previous container, retried later"
            events.append(Event(REPLACEMENT_FAILED, result.task.key, message, revision))
    return events


def drift(results: Iterable[TaskResult], corrected: Collection[str], revision: str | None) -> list[Event]:
    """One event per resource in `corrected` ("kind/name"): what the pass did and why; none for a
    container that only exited on its own (Reason.EXITED: nobody changed the host, and a crash
    loop is told once it is one)."""
    return [Event(DRIFT_CORRECTED, r.task.key, f"drift corrected: {r.task.change}", revision)
            for r in results if r.ok and r.task.key in corrected and not _own_exit(r.task.change.causes)]


def _own_exit(causes: Iterable[Cause]) -> bool:
    """Whether the only drift among `causes` is the container's own exit."""
    drifted = {c.reason for c in causes if c.reason in DRIFT}
    return drifted == {Reason.EXITED}


def entered(reports: Iterable[ResourceReport], revision: str | None) -> list[Event]:
    """One event per resource among `reports` (those to tell: `notify.told`) now in a crash loop,
    and one per resource now drifted (its drift reported and left alone, `drift = "alert"`: what
    drifted, then its values, `env.MODE: "hand" -> "a"`)."""
    events = []
    for r in reports:
        if r.state == "crashloop":
            events.append(Event(CRASH_LOOP, resource_key(r.kind, r.name),
                                f"{r.kind} {r.name} is in a crash loop: {r.message}", revision))
        elif r.state == "drifted":
            values = f" ({'; '.join(map(str, r.diff))})" if r.diff else ""
            events.append(Event(DRIFT_FOUND, resource_key(r.kind, r.name),
                                f"{r.kind} {r.name} drifted, left as is (drift = \"alert\"): {r.message}{values}",
                                revision))
    return events


REASONS_SHOWN = 3  # problems a revision_failed message quotes; the rest are counted


def revision(before: Revisions, after: Revisions, subject: str, why: Sequence[str] = ()) -> list[Event]:
    """A revision applied (`after.applied` moved), or failed: attempted, not applied, and either
    newly attempted or with a file newly invalid or failed. `subject`: its commit's first line;
    `why`: what went wrong, first first (the files' problems as FILE:LINE: key: message, then the
    resources that failed), of which a failure's message quotes the first REASONS_SHOWN."""
    sha = (after.in_force or "")[:12]
    said = f" ({subject})" if subject else ""
    if after.applied and after.applied != before.applied:
        return [Event(REVISION_APPLIED, None, f"revision {sha}{said} applied", sha, about=sha)]
    bad = {file: state for file, state in after.files.items() if state in ("invalid", "failed")}
    worse = bad and (after.attempted != before.attempted or any(before.files.get(f) != s for f, s in bad.items()))
    if after.attempted and after.attempted != after.applied and worse:
        files = ", ".join(f"{file}: {state}" for file, state in sorted(bad.items()))
        reasons = "; ".join(why[:REASONS_SHOWN]) + (f"; and {len(why) - REASONS_SHOWN} more"
                                                     if len(why) > REASONS_SHOWN else "")
        because = f" ({reasons})" if reasons else ""
        return [Event(REVISION_FAILED, None, f"revision {sha}{said} failed: {files}{because}", sha,
                      about=sha)]
    return []


class EngineWatch:
    """Tells when the engine has not answered for `threshold` seconds (of one monotonic clock):
    once per outage, which ends when it answers again. The loop wakes at `due()` and `check`s,
    so the event is on time even while its passes wait out the engine's backoff."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self._since: float | None = None
        self._told = False
        self._engine, self._error = "", ""

    def unavailable(self, now: float, engine: str, error: str) -> list[Event]:
        """A pass found the engine unavailable at `now`: the event, when the outage just passed the threshold."""
        if self._since is None:
            self._since = now
        self._engine, self._error = engine, error
        return self.check(now)

    def due(self) -> float | None:
        """When the outage passes the threshold, while it is not told yet; None: no outage, or told."""
        return None if self._since is None or self._told else self._since + self.threshold

    def check(self, now: float) -> list[Event]:
        """The event, once, when the outage has lasted `threshold` at `now` (with the last error)."""
        due = self.due()
        if due is None or now < due:
            return []
        self._told = True
        return [Event(ENGINE_UNREACHABLE, None,
                      f"the engine {self._engine} has not answered for {now - self._since:.0f}s: {self._error}")]

    def answered(self) -> None:
        self._since, self._told = None, False
