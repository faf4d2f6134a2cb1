"""The agent's backoff bookkeeping across passes: which resources a pass holds back and why, and
how one pass's results move each resource's backoff.

A resource whose action failed (or whose container keeps exiting) is retried after a growing
backoff (`triggers.Backoff`); an edit or commit that changes its spec lifts that backoff at once.
`ENGINE` and `CRASH` are backoff keys too, of the whole pass, and are never shown as holds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from reconciler.agent.accounting import Accounting, account, crash_loops
from reconciler.agent.lastgood import Refresh
from reconciler.agent.metrics import Metrics
from reconciler.agent.statedir import StateDir
from reconciler.agent.triggers import Backoff
from reconciler.converge import PassReport
from reconciler.model import DesiredState, spec_hash

log = structlog.get_logger("reconciler.agent")

ENGINE = "engine"  # the backoff key of a pass that found the engine unavailable
CRASH = "pass"  # the backoff key of a pass that crashed


@dataclass
class Holds:
    """The agent's backoff state, shared with it (the same objects as its fields):
    `started_at` "kind/name" -> when (on `clock`) its container was last started, and
    `failed_with` "kind/name" in backoff -> the spec hash that failed; `errors` "kind/name" in
    backoff after an action failed -> that failure as the status says it ("recreate container web:
    failed at 'start web': ...": `accounting.resource_reports`'s `failing`)."""

    backoff: Backoff
    started_at: dict[str, float]
    failed_with: dict[str, str]
    clock: Callable[[], float]
    state_dir: StateDir | None
    errors: dict[str, str] = field(default_factory=dict)

    def held(self, refresh: Refresh, pinning: dict[str, str]) -> dict[str, str]:
        """What this pass holds back, "kind/name" -> why: resources in backoff (until when, in UTC),
        the resources of files whose last valid content stays in force, and `pinning` (a git
        checkout's). The backoff holds are kept in the state directory, so the CLI's `plan` shows
        them too."""
        now, wall = self.clock(), time.time()
        self._lift_changed(refresh)
        backoff = {}
        for key, at in self.backoff.pending().items():
            if key not in (ENGINE, CRASH) and at > now:
                until = time.strftime("%H:%M:%SZ", time.gmtime(wall + at - now))
                crashes = self.backoff.failures(key)
                why = (f"crash loop: exited {crashes} times; backoff until {until}"
                       if key in crash_loops(self.started_at, {key: crashes})
                       else f"failed {crashes} time(s); backoff until {until}")
                backoff[key] = (why, wall + at - now)
        if self.state_dir is not None:
            try:
                self.state_dir.save_holds(backoff)
            except OSError as error:
                log.warning("holds.save_failed", directory=str(self.state_dir.path), error=str(error))
        stalled = {key: "its file is invalid; the last valid content stays in force" for key in refresh.stalled}
        return {**pinning, **stalled, **{key: why for key, (why, _) in backoff.items()}}

    def _lift_changed(self, refresh: Refresh) -> None:
        """Forget the backoff (and crash loop) of a resource whose spec changed since it failed:
        the edit or commit that fixes it runs now, not when the backoff of the old spec ends."""
        specs = {spec.key: spec for spec in refresh.state.specs()} if refresh.state else {}
        for key, failed_hash in list(self.failed_with.items()):
            spec = specs.get(key)
            if spec is None or spec_hash(spec) == failed_hash:
                continue
            del self.failed_with[key]
            self.started_at.pop(key, None)
            self.errors.pop(key, None)
            if self.backoff.failures(key):
                self.backoff.succeeded(key)
                log.info("backoff.lifted", resource=key, reason="spec changed")

    def account(self, report: PassReport, desired: DesiredState, present: set[str], metrics: Metrics) -> Accounting:
        """Backoff and metrics from one pass's results (decided by `accounting.account`, returned);
        `present` is "kind/name" of what the engine held after the pass before."""
        now = self.clock()
        keys = set(self.started_at) | {r.task.key for r in report.results}
        done = account(report, present, self.started_at, {k: self.backoff.failures(k) for k in keys}, now)
        for verb, outcome in done.actions:
            metrics.action(verb, outcome)
            if outcome == "failed":
                metrics.error("action")
        for _ in range(done.drift_corrected):
            metrics.drift_corrected()
        specs = {spec.key: spec for spec in desired.specs()}
        for key in done.failed:
            self.backoff.failed(key, now)
            if key in specs:
                self.failed_with[key] = spec_hash(specs[key])
        for result in report.failures:
            if result.task.key in done.failed:  # an action failed: no crash of a container it started
                self.errors[result.task.key] = str(result)
                self.started_at.pop(result.task.key, None)
        for key in done.succeeded | done.stable | done.crashed:
            self.errors.pop(key, None)
        for key in done.succeeded | done.stable:
            self.backoff.succeeded(key)
            self.failed_with.pop(key, None)
        for key in done.stable:
            del self.started_at[key]
        self.started_at.update(dict.fromkeys(done.started, now))
        return done
