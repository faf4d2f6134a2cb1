"""What a pass's results mean for the agent, as pure functions the loop applies: which resources
back off or leave backoff, what counts as drift corrected, and each resource's reported state.

Nothing here reads a clock or changes anything: times and the backoff's counts are passed in.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from reconciler import drift
from reconciler.agent.quarantine import own_failure
from reconciler.agent.status import ResourceReport
from reconciler.changes import Cause, Change, ChangeKind, Reason
from reconciler.converge import PassReport
from reconciler.execute import TaskResult
from reconciler.fielddiff import FieldDiff
from reconciler.model import ContainerSpec, DesiredState, resource_key

CRASHLOOP_AFTER = 3  # consecutive failures before a container is reported as in a crash loop
STABLE_AFTER = 60.0  # seconds a restarted container must stay up before its crash count resets
# what the engine does to a resource whose spec did not change; a resource MISSING that was there
# after the previous pass (removed by hand) is drift too
DRIFT = frozenset({Reason.STOPPED, Reason.EXITED, Reason.DEAD, Reason.PAUSED, Reason.NETWORK_DETACHED,
                   Reason.NETWORK_ATTACHED, Reason.INTERRUPTED, Reason.NEVER_STARTED, Reason.CHANGED_BY_HAND})


@dataclass(frozen=True)
class Accounting:
    """The loop's bookkeeping after one pass, as decisions."""

    failed: frozenset[str]  # "kind/name" that back off (an action failed, or it crashed again)
    succeeded: frozenset[str]  # leave backoff
    started: frozenset[str]  # started by this pass: watched for a crash for STABLE_AFTER seconds
    stable: frozenset[str]  # up for STABLE_AFTER seconds since started: their crash count resets
    drift_corrected: int
    actions: tuple[tuple[str, str], ...]  # (verb, "ok" | "failed") per task that ran
    # replacements whose new container failed and was rolled back: quarantined, not backed off
    quarantined: frozenset[str] = frozenset()
    corrected: frozenset[str] = frozenset()  # "kind/name" whose drift was undone (drift_corrected counts them)
    crashed: frozenset[str] = frozenset()  # among `failed`, the containers this agent started that exited again


def account(report: PassReport, present: Collection[str], started_at: Mapping[str, float],
            failures: Mapping[str, int], now: float) -> Accounting:
    """`present`: keys the engine held after the previous pass; `started_at`: when this agent
    last started each key; `failures`: consecutive failures per key; `now`: the loop's clock."""
    failed, succeeded, started, actions, corrected, quarantined, crashes = set(), set(), set(), [], set(), set(), set()
    for result in report.results:
        change, key = result.task.change, result.task.key
        actions.append((change.kind.verb, "ok" if result.ok else "failed"))
        if not result.ok and not result.skipped:
            (quarantined if own_failure(result) is not None else failed).add(key)
        elif result.ok:
            removed = key in present and any(c.reason is Reason.MISSING for c in change.causes) and _reverts(change)
            if removed or any(c.reason in DRIFT for c in change.causes):
                corrected.add(key)
            crashed = any(c.reason is Reason.EXITED for c in change.causes) and key in started_at
            (failed if crashed else succeeded).add(key)
            if crashed:
                crashes.add(key)
            if change.needs_start:
                started.add(key)
    down = {c.key for c in report.remaining.changes}
    stable = {key for key, at in started_at.items()
              if now - at >= STABLE_AFTER and failures.get(key) and key not in down and key not in started}
    return Accounting(frozenset(failed), frozenset(succeeded), frozenset(started), frozenset(stable), len(corrected),
                      tuple(actions), frozenset(quarantined), frozenset(corrected), frozenset(crashes))


def _reverts(change: Change) -> bool:
    """Whether a resource created again after it was removed by hand counts as drift corrected: for
    a container only under `drift = "revert"` (under `alert` and `ignore` a missing container is
    created as absent, docs/drift.md, and is no drift)."""
    return not isinstance(change.spec, ContainerSpec) or change.spec.drift == drift.REVERT


def crash_loops(started_at: Mapping[str, float], failures: Mapping[str, int]) -> frozenset[str]:
    """Containers this agent started that keep exiting: CRASHLOOP_AFTER consecutive crashes. A
    resource whose create or replacement keeps failing is failed, not crash-looping: the loop
    forgets when it started a container whose action then failed (`Holds.account`)."""
    return frozenset(key for key in started_at if failures.get(key, 0) >= CRASHLOOP_AFTER)


STALLED = "its file is invalid; the last valid content stays in force"  # a resource of a held file says


def resource_reports(desired: DesiredState, stalled: Collection[str], report: PassReport | None,
                     failures: Mapping[str, int], completed: Mapping[str, str],
                     crashing: Collection[str] = (), quarantined: Mapping[str, str] | None = None,
                     failing: Mapping[str, str] | None = None) -> list[ResourceReport]:
    """The state of every declared resource after a pass (and of retained volumes and held-back
    removals): stalled, unknown, failed, completed, converged, conflict, crashloop, blocked or
    pending, each with why. `failures`: consecutive failures per key in the agent's backoff;
    `crashing`: the agent's crash loops (see `crash_loops`); `quarantined`: key -> why, for the
    replacements in quarantine (failed, with that message: the previous container serves);
    `failing`: key -> the text of its last failed action, for the resources held in backoff after
    it (failed with that error while they wait for their retry, not blocked)."""
    quarantined, failing = quarantined or {}, failing or {}
    failed = {r.task.key: r for r in report.failures} if report else {}
    remaining = report.remaining.changes if report else ()
    changes = {c.key: c for c in remaining}
    blocked = {t.key: t.blocked for t in report.remaining.tasks if t.blocked} if report else {}
    reports = []
    for spec in desired.specs():
        key, change = spec.key, changes.get(spec.key)
        if key in stalled:
            state, message = "stalled", STALLED
        elif report is None:
            state, message = "unknown", "the engine is unavailable"
        elif key in quarantined:
            state, message = "failed", quarantined[key]
        elif key in failed:
            state, message = "failed", str(failed[key])
        elif change is None and spec.kind == "container" and spec.name in completed:
            state, message = "completed", "ran to completion (exit 0) with this spec"
        elif change is None and key in crashing:
            state, message = "crashloop", (f"exited {failures.get(key, 0)} times; up again, watched for "
                                           f"{STABLE_AFTER:g}s before it counts as recovered")
        elif change is None or change.kind is ChangeKind.RETAIN:  # an adopted volume or network says so
            adopted = change is not None and change.causes[:1] == (Cause(Reason.ADOPTED),)
            state, message = "converged", str(change) if adopted else ""
        elif drift.alerted(change):
            state, message = "drifted", drift.drifted(change)
        elif change.kind is ChangeKind.CONFLICT:
            state, message = "conflict", str(change)
        elif key in failing and key in blocked and key not in crashing:
            state, message = "failed", failing[key]
        elif key in crashing or change.kind is ChangeKind.BLOCKED:
            state, message = "crashloop", f"restarted {failures.get(key, 0)} times: {change}"
        elif key in blocked:
            state, message = "blocked", f"{change}: {blocked[key]}"
        else:
            state, message = "pending", str(change)
        reports.append(ResourceReport(spec.kind, spec.name, state, message, _diff(state, failed.get(key), change)))
    for name in report.image_volumes if report else ():
        change = changes.get(resource_key("volume", name))
        state, message = ("pending", str(change)) if change else ("converged", "holds an image-declared VOLUME path")
        reports.append(ResourceReport("volume", name, state, message))
    for change in remaining:
        if change.kind is ChangeKind.RETAIN and change.resource == "volume" and change.spec is None:
            reports.append(ResourceReport("volume", change.name, "retained", str(change)))
        elif change.kind is ChangeKind.REMOVE and change.key in blocked:
            reports.append(ResourceReport(change.resource, change.name, "blocked", f"{change}: {blocked[change.key]}"))
    return reports


def _diff(state: str, failure: TaskResult | None, change: Change | None) -> tuple[FieldDiff, ...]:
    """The per-field diff a resource's status shows: of the change that failed (this pass, or in
    quarantine since), of the one still to do, or of the drift reported under `drift = "alert"`
    (what the container holds -> what the spec declares)."""
    tried = failure.task.change if failure is not None else change
    return tried.diff if tried is not None and state in ("failed", "pending", "blocked", "drifted") else ()


def pass_result(invalid: bool, report: PassReport, crashing: Collection[str] = ()) -> str:
    """A pass's result: unavailable, failed (an action failed, or a container keeps crashing even
    if it is up right now), invalid (held back by a broken file, nothing failed), converged, or
    failed (something is left to do: blocked, crash loop)."""
    if report.unavailable:
        return "unavailable"
    if report.failures or crashing:
        return "failed"
    if invalid:
        return "invalid"
    return "converged" if report.converged else "failed"
