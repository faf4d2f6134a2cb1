"""The agent loop: schedules passes, and nothing else.

Triggers (file changes, engine events, signals, the periodic resync, a retry coming due) only
wake the loop; each pass is level-triggered: it re-reads the files (per-file last-known-good),
observes the engine and converges, whatever woke it. The observation comes from the informer's
cache, kept from engine events between passes, and is a full relist on each resync and SIGHUP.
One pass runs at a time. What woke a pass is named in its `pass.finished` line: `edit`,
`event:KIND:ACTION`, `signal:SIGHUP`, `resync`, `retry`, `api:KIND`, `check` (a `pull = "newer"`
check came due), and for a git source
`revision:SHA` (a new revision checked out), `refused:SHA` and `fetch:failed`.

A pass that raises anything unexpected ends as a failed pass (`pass.crashed`, logged at error
with its traceback, counted as an error of type `crash`), and the next one waits its backoff.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from reconciler import grantfiles, masking
from reconciler.agent.accounting import crash_loops, pass_result, resource_reports
from reconciler.agent.approvals import Gate, gated
from reconciler.agent.checkout import Checkout
from reconciler.agent.follow import Follower
from reconciler.agent.holds import CRASH, ENGINE, Holds
from reconciler.agent.informer import Informer
from reconciler.agent.lastgood import LastKnownGood, Refresh
from reconciler.agent.lock import DEFAULT_ENGINE
from reconciler.agent.quarantine import previous_states
from reconciler.agent.requests import APPROVE, REJECT, RETRY, SYNC, Request, Requests, answer_all
from reconciler.agent.rollbacks import Rollbacks, secret_values
from reconciler.agent.statedir import StateDir
from reconciler.agent.status import ResourceReport, Status
from reconciler.agent.swarm_passes import SwarmPasses, SwarmReport, suspended_view, swarm_reports, swarm_view
from reconciler.agent.triggers import Backoff, Trigger
from reconciler.agent.watch import DirectoryWatcher
from reconciler.changes import ChangeKind
from reconciler.converge import PassReport, converge, preview
from reconciler.desired import hosts, profiles, targets
from reconciler.desired.envfile import values_of
from reconciler.hostpaths import missing_bind_sources
from reconciler.images import bases
from reconciler.images.newer import NewerChecks
from reconciler.images.usage import Usage
from reconciler.model import ContainerSpec, DesiredState, resource_key, spec_hash
from reconciler.notify import moments
from reconciler.notify.config import DEFAULT_UNREACHABLE_AFTER
from reconciler.notify.events import APPROVAL_WAITING
from reconciler.notify.events import Event as Notice
from reconciler.notify.notifier import Notifier
from reconciler.notify.told import Told
from reconciler.options import PlanOptions
from reconciler.swarm.lease import Leases
from reconciler.tasks import Plan
from runtime.base import ENGINE_RECONNECTED, EngineError, EngineUnavailable, Event, Runtime

log = structlog.get_logger("reconciler.agent")

RELISTING = frozenset({"resync", "signal:SIGHUP"})  # what makes a pass observe everything afresh


def woken_by_event(event: Event) -> str:
    """How a pass woken by an engine event names it: "event:container:die"."""
    return f"event:{event.kind}:{event.action}"


FAILING_STATES = {"failed": "error", "crashloop": "error", "conflict": "warning", "stalled": "warning",
                  "drifted": "warning"}


@dataclass
class Agent:
    root: Path
    runtime: Runtime
    namespace: str
    status: Status
    interval: float = 30.0
    env_file: str | None = None
    allow_empty: bool = False
    engine: str = DEFAULT_ENGINE  # the engine's address, for the logs
    state_dir: StateDir | None = None  # where last-known-good files and completion records are kept
    host_id: str | None = None  # converge this host's view only (`desired.hosts.select`); None: every resource
    profiles: tuple[str, ...] = ()  # the profiles given for its life (`desired.profiles.select`)
    clock: Callable[[], float] = time.monotonic
    trigger: Trigger = field(default_factory=Trigger)
    backoff: Backoff = field(default_factory=Backoff)
    stopping: threading.Event = field(default_factory=threading.Event)
    started_at: dict[str, float] = field(default_factory=dict)
    last_pass_at: float = float("-inf")
    present: set[str] = field(default_factory=set)  # "kind/name" of what the engine held after the last pass
    requests: Requests = field(default_factory=Requests)  # the control API's, taken by each pass
    last_plan: tuple[Plan, float] | None = None  # what the last pass left to do, and when (unix time)
    follower: Follower | None = None  # a git source's: `root` is then its checkout in force (see follow)
    _checkout: Checkout | None = field(default=None, repr=False)
    failed_with: dict[str, str] = field(default_factory=dict)  # "kind/name" in backoff -> the spec hash that failed
    image_retention: int | None = None  # unused images kept per repository (images.retention); None: off
    checks: NewerChecks | None = None  # the `pull = "newer"` checks, kept across passes; None: a fresh one each pass
    secrets_dir: str | None = None  # --secrets-dir: where secret and config files go (see grantfiles)
    # name -> the last spec this process saw declared for each container: a container no longer
    # declared runs that spec's pre_stop hooks before its removal (PlanOptions.retired)
    declared: dict[str, ContainerSpec] = field(default_factory=dict)
    notifier: Notifier | None = None  # --notify-config's (reconciler.notify); None: nobody is notified
    engine_watch: moments.EngineWatch = field(default_factory=lambda: moments.EngineWatch(DEFAULT_UNREACHABLE_AFTER))
    gate: Gate | None = None  # --approve's (reconciler.agent.approvals); None: every change applies at once
    swarm: SwarmPasses | None = None  # run --target swarm's passes (agent.swarm_passes); None: this host
    # (given when made: it chooses the target whose checks a file must pass to be last-known-good)

    def __post_init__(self) -> None:
        self.desired = LastKnownGood(self.root, self.env_file, store=self.state_dir,
                                     target=targets.SWARM if self.swarm is not None else targets.HOST)
        self.informer = Informer(self.runtime, self.namespace)
        self.rollbacks = Rollbacks(self.state_dir)
        self.images = Usage(self.state_dir, self.image_retention)
        self.holds = Holds(self.backoff, self.started_at, self.failed_with, self.clock, self.state_dir)
        self.told = Told(self.state_dir)
        self.suspended = self.state_dir.suspended() if self.state_dir else False
        self.status.set_suspended(self.suspended)

    def completed(self) -> dict[str, str]:
        """Run-to-completion containers done, name -> spec hash, from the state directory."""
        return self.state_dir.completed() if self.state_dir else {}

    def next_retry(self) -> float | None:
        """When the loop must wake for a retry: the earliest retry time later than the last pass
        (one at or before it came due then, and was tried or found nothing to do); None: none."""
        return min((at for at in self.backoff.pending().values() if at > self.last_pass_at), default=None)

    def next_check(self, now: float) -> float | None:
        """When the loop must wake for a `pull = "newer"` check, or a `build.pull = true` build's base
        check, coming due (on its clock), at most once a second; None: none, or no check kept
        across passes."""
        if self.checks is None or self.desired.state is None:
            return None
        waits = [w for w in (self.checks.next_due_in(self.desired.state),
                             bases.next_due_in(self.checks, self.desired.state)) if w is not None]
        return max(now + min(waits), self.last_pass_at + 1.0) if waits else None

    def stop(self, reason: str = "signal") -> None:
        """End the loop after the pass in flight; the notifier's shutdown allowance starts now (`Notifier.drain`)."""
        self.stopping.set()
        self.trigger.fire(reason)
        if self.notifier is not None:
            self.notifier.drain()

    @property
    def checkout(self) -> Checkout | None:
        """A git source's side of each pass (see `checkout`); None in directory mode."""
        if self.follower is None:
            return None
        if self._checkout is None:
            self._checkout = Checkout(self.follower, self.desired, self.status, self.state_dir)
        return self._checkout

    @property
    def revision(self) -> str | None:
        """The short sha of the git revision the last pass read; None in directory mode."""
        return self.checkout.revision if self.checkout else None

    def reload(self) -> None:
        """SIGHUP: a pass now, observing everything afresh, and a fetch of a git source."""
        if self.follower is not None:
            self.follower.request()
        self.trigger.fire("signal:SIGHUP")

    def run(self) -> int:
        watcher = DirectoryWatcher(self.root, lambda: self.trigger.fire("edit")) if self.follower is None else None
        if watcher is not None:
            watcher.start()
        if self.checkout is not None:
            self.checkout.start()
        if self.swarm is None:  # (a swarm pass observes afresh each time: no informer to feed)
            threading.Thread(target=self._forward_events, name="engine-events", daemon=True).start()
        log.info("agent.started", directory=str(self.root), namespace=self.namespace, interval=self.interval,
                 host_id=self.host_id, profiles=list(self.profiles))
        next_full = self.clock()
        try:
            while not self.stopping.is_set():
                self.status.heartbeat()
                now = self.clock()
                check = self.next_check(now)
                told = self.engine_watch.due()
                lease = now + max(1.0, self.swarm.wake_in()) if self.swarm is not None else next_full
                wake = min(next_full, self.next_retry() or next_full, check or next_full,
                           next_full if told is None else told, lease)
                reasons = self.trigger.wait(max(0.0, min(wake - now, self.interval)))
                if self.stopping.is_set():
                    break
                now = self.clock()
                self._notify(self.engine_watch.check(now), self.desired.state)  # on time, between passes too
                if now >= next_full:
                    reasons = (reasons or set()) | {"resync"}
                    next_full = now + self.interval
                    if watcher is not None:
                        watcher.refresh()
                if check is not None and check <= now:
                    reasons = (reasons or set()) | {"check"}
                if self.swarm is not None and lease <= now and self._keep_lease():
                    reasons = (reasons or set()) | {"lease"}
                if reasons or (self.next_retry() or now + 1) <= now:
                    self.run_pass(reasons or {"retry"})
        finally:
            if watcher is not None:
                watcher.stop()
            if self.follower is not None:
                self.follower.stop()
            self.status.save()
            log.info("agent.stopped")
        return 0

    def _keep_lease(self) -> bool:
        """Renew the Swarm lease between passes (or take it once the holder's expired); True when
        a pass is due: this agent has just taken it over. An engine error waits for the next try."""
        assert self.swarm is not None
        before = self.swarm.leases.held()
        try:
            waiting = self.swarm.leases.hold()
        except EngineError as error:
            log.warning("lease.unreachable", engine=self.engine, error=str(error))
            return False
        self._note_lease(self.swarm.leases)
        return waiting is None and before is None

    def _lease_renewed(self, leases: Leases) -> None:
        """`Leases.on_change` during a Swarm pass: a renewal in the middle of a long rolling update
        shows in the status at once (the control API's and the file's), the pass under way with it."""
        self._note_lease(leases)
        self.status.save()

    def _note_lease(self, leases: Leases) -> None:
        """The status's lease as `leases` knows it now: after a pass (which may have lost it, its
        `keep` learning that another holder took it) and after each renewal between passes."""
        mine = leases.held()
        self.status.set_lease(leases.holder, mine is not None, mine.expires if mine else None, leases.why_not())

    def _forward_events(self) -> None:
        while not self.stopping.is_set():
            try:
                for event in self.runtime.events(self.namespace, self.stopping.is_set):
                    if self.informer.note(event):
                        self.trigger.fire(woken_by_event(event))
            except EngineError as error:
                log.warning("events.lost", error=str(error))
                self.stopping.wait(1.0)

    def submit(self, request: Request) -> Request:
        """Ask for a pass now (SYNC) or a retry (RETRY), from any thread; `request.wait()` gives
        the pass's result (see `requests`)."""
        self.requests.put(request)
        self.trigger.fire(f"api:{request.kind}")
        return request

    def set_suspended(self, suspended: bool) -> None:
        """Suspend (observe and report, change nothing) or resume, from any thread. Kept in the
        state directory, so an agent restart keeps it, as Flux's `suspend` is; a pass follows.
        Raises OSError when the state directory cannot be written."""
        if self.state_dir is not None:
            self.state_dir.set_suspended(suspended)
        self.suspended = suspended
        self.status.set_suspended(suspended)
        log.info("agent.suspended" if suspended else "agent.resumed")
        self.trigger.fire("api:suspend" if suspended else "api:resume")

    def run_pass(self, reasons: Iterable[str] = ()) -> None:
        """One pass, woken by `reasons`; never raises an Exception: one that escapes the pass is
        logged, recorded as a failed pass, and backs the next pass off. The control API's pending
        requests are taken first and answered with the pass's result; a sync does not wait out
        a backoff."""
        started = self.last_pass_at = self.clock()
        woken_by = sorted(reasons)
        taken = self.requests.take()
        for request in taken:
            if request.kind == RETRY:
                self.backoff.succeeded(request.key)
                self.rollbacks.forget(request.key)
        syncs = [r for r in taken if r.kind == SYNC]
        asks = [r for r in taken if r.kind in (APPROVE, REJECT)]
        try:
            if not (syncs or asks or self.backoff.due(CRASH, started)):
                self.status.save()  # the loop is alive, only waiting: the status file says so
                return
            try:
                self._pass(started, woken_by, syncs, asks)
            except Exception as error:
                self._crashed(error, started, woken_by)
            else:
                self.backoff.succeeded(CRASH)
        finally:
            if taken:  # (the snapshot copies every resource: only when someone waits for it)
                answer_all(taken, self.status.snapshot()["last_pass"] or {})

    def _pass(self, started: float, woken_by: list[str], syncs: list[Request], asks: list[Request] = ()) -> None:
        checkout = self.checkout
        if checkout is not None:
            checkout.read(fetch=bool(syncs))
            if checkout.waiting():
                self.status.save()  # the first fetch has not ended: it wakes a pass when it does
                return
        if self.swarm is not None and not self._cluster_key(started, woken_by):
            return
        refresh = checkout.refresh() if checkout is not None else self.desired.refresh()
        if self.host_id is not None and refresh.state is not None:
            refresh = self._host_view(refresh, self.host_id)
        if refresh.state is not None:
            refresh = self._profile_view(refresh)
        if self.swarm is not None and refresh.state is not None:
            refresh = swarm_view(refresh, hosts.placer(self.desired.root))
        for problem in self.status.set_errors(refresh.errors):
            log.error("desired_state.invalid", problem=str(problem))
        for problem in self.status.set_warnings(refresh.warnings):
            log.warning("desired_state.warning", problem=str(problem))
        if refresh.state is None:
            self._finish("invalid", started, woken_by, refresh, None)
            return
        back = woken_by_event(ENGINE_RECONNECTED) in woken_by  # the engine answers again: no need to wait
        if not (back or syncs or asks or self.backoff.due(ENGINE, self.clock())):
            self.status.save()  # the loop is alive, only waiting for the engine: the status file says so
            return
        if self.swarm is not None:
            self._swarm_pass(self.swarm, started, woken_by, refresh, syncs)
            return
        options = PlanOptions(allow_empty=self.allow_empty or any(r.allow_empty for r in syncs),
                              prune_volumes=any(r.prune_volumes for r in syncs),
                              held=self.holds.held(refresh, checkout.held if checkout else {}),
                              invalid_files=refresh.invalid, completed=self.completed(),
                              missing_paths=missing_bind_sources(refresh.state.containers.values(), self.engine),
                              revision=checkout.revisions.in_force if checkout else None,
                              pushed=self.images.pushed(), retired=self._retired(refresh.state),
                              adopt=frozenset().union(*(r.adopt for r in syncs)),
                              adopted=self.state_dir.adopted() if self.state_dir else {},
                              **grantfiles.folder_options(self.namespace, self.engine, self.secrets_dir),
                              **vars(self.rollbacks.in_force(refresh.state)))
        if syncs or RELISTING & set(woken_by):
            self.informer.relist()
        try:
            ran = None
            if self.suspended:
                report = preview(self.informer, refresh.state, self.namespace, options)
            elif self.gate is not None:
                report, ran = self._gated(refresh.state, options, asks)
            else:
                report = converge(self.informer, refresh.state, self.namespace, options,
                                  should_stop=self.stopping.is_set, checks=self.checks)
        except EngineUnavailable as error:
            self._unavailable(error, started, woken_by, refresh)
            return
        self._answered()
        self._note_engine()
        self.last_plan = (report.remaining, time.time())
        if self.suspended:
            self._finish("suspended", started, woken_by, refresh, report)
            return
        retried = {r.task.key for r in report.results if self.backoff.failures(r.task.key)}
        done = self.holds.account(report, refresh.state, self.present, self.status.metrics)
        self.rollbacks.after(report, refresh.state, secret_values(self.desired), self.revision, time.time(), ran)
        self._notify([*moments.rollbacks(report.results, self.revision, retried),
                      *moments.drift(report.results, done.corrected, self.revision)], refresh.state)
        self._remember(refresh.state, report)
        self.images.after_pass(report, self.informer)
        crashing = crash_loops(self.started_at, {k: self.backoff.failures(k) for k in self.started_at})
        result = pass_result(bool(refresh.errors), report, crashing)
        if result == "failed" and not report.failures and self.gate is not None and self.gate.holding():
            result = "waiting"  # what is left to do waits for a person's approval (or was rejected)
        self._finish(result, started, woken_by, refresh, report)

    def _swarm_pass(self, swarm: SwarmPasses, started: float, woken_by: list[str], refresh: Refresh,
                    syncs: list[Request]) -> None:
        """A pass on a Swarm manager (agent.swarm_passes): the lease checked, then the Swarm
        pipeline's converge, or its preview when the lease is another's or the agent is suspended."""
        assert refresh.state is not None
        swarm.leases.on_change = self._lease_renewed
        self.status.pass_started()
        try:
            report, waiting = swarm.pass_(refresh.state, self.namespace, invalid_files=refresh.invalid,
                                          allow_empty=self.allow_empty or any(r.allow_empty for r in syncs),
                                          suspended=self.suspended, should_stop=self.stopping.is_set)
        except EngineUnavailable as error:
            self._unavailable(error, started, woken_by, refresh)
            return
        self._answered()
        self._note_swarm_engine(swarm)
        self._note_lease(swarm.leases)
        self.last_plan = (report.remaining, time.time())
        if waiting is not None or self.suspended:
            self._finish("waiting" if waiting is not None else "suspended", started, woken_by, refresh, report)
            return
        self._finish(pass_result(bool(refresh.errors), report), started, woken_by, refresh, report)

    def _cluster_key(self, started: float, woken_by: list[str]) -> bool:
        """On Swarm, the cluster's key of secrets' keyed hashes (swarm.cluster_key) is read, or made,
        before the files are: True once it is at hand; else the pass ends unavailable, as when the
        manager does not answer a pass. Once read, the key is kept for the life of the agent."""
        if self.desired.key is None:
            return True
        try:
            self.desired.key()
        except EngineError as error:
            self._unavailable(error, started, woken_by, Refresh(None, whole=False))
            return False
        return True

    def _answered(self) -> None:
        """The engine answered: its backoff and its out-of-reach record end."""
        self.backoff.succeeded(ENGINE)
        self.engine_watch.answered()
        self.status.set_engine_error(None)

    def _unavailable(self, error: EngineError, started: float, woken_by: list[str], refresh: Refresh) -> None:
        """The engine did not answer: the pass ends unavailable, the next waits its backoff."""
        retry = self.backoff.failed(ENGINE, self.clock())
        log.warning("engine.unavailable", engine=self.engine, error=str(error),
                    retry_in=round(retry - self.clock(), 1))
        self.status.metrics.error("engine")
        self.status.set_engine_error(self.engine, str(error))
        self._notify(self.engine_watch.unavailable(self.clock(), self.engine, str(error)), refresh.state)
        self._finish("unavailable", started, woken_by, refresh, None)

    def _gated(self, desired: DesiredState, options: PlanOptions,
               asks: list[Request]) -> tuple[PassReport, DesiredState | None]:
        """A pass of an agent with `--approve` (reconciler.agent.approvals): drift healed towards
        the files last approved (with `changes`), the files' changes kept waiting as the pending
        plan (shown in the status, logged and notified when new), the approvals and rejects taken.
        Returns its report and the approved state a heal ran towards, if one did (`approvals.Turn.ran`)."""
        assert self.gate is not None
        approved = self.gate.approved_state(self.desired)
        if approved is not None and self.host_id is not None:
            approved = hosts.select(approved, self.host_id)
        if approved is not None:
            approved = profiles.select(approved, self.profiles)
        turn = gated(self.gate, desired, approved, asks,
                     lambda state, held: converge(self.informer, state, self.namespace,
                                                  dataclasses.replace(options, held={**options.held, **held}),
                                                  should_stop=self.stopping.is_set, checks=self.checks),
                     lambda state: preview(self.informer, state, self.namespace, options),
                     {rel: version.data for rel, version in self.desired.files.items()}, self.revision, time.time())
        self.status.set_pending_plan(self.gate.shown())
        if turn.waiting is not None:
            log.info("approval.waiting", id=turn.waiting["id"], summary=turn.waiting["plan"]["summary"],
                     changes=[str(c) for c in turn.report.remaining.changes if c.kind.actionable],
                     diff={c.key: [str(d) for d in c.diff] for c in turn.report.remaining.changes if c.diff})
            self._notify([Notice(APPROVAL_WAITING, None, f"plan {turn.waiting['id']} waits for approval: "
                                 f"{turn.waiting['plan']['summary']} (reconciler approve {turn.waiting['id']})",
                                 self.revision, about=turn.waiting["id"])], desired)
        return turn.report, turn.ran

    def _host_view(self, refresh: Refresh, host_id: str) -> Refresh:
        """This host's view of the desired state (`desired.hosts`); a reference in it to what only
        other hosts get is an error of its file, as `validate --host-id` reports it."""
        assert refresh.state is not None
        problems = hosts.check_view(refresh.state, host_id, hosts.placer(self.desired.root))
        return dataclasses.replace(refresh, state=hosts.select(refresh.state, host_id),
                                   errors=(*refresh.errors, *problems))

    def _profile_view(self, refresh: Refresh) -> Refresh:
        """The view of the agent's profiles (`desired.profiles`); a reference in it to a container of
        a profile not given is an error of its file, as `validate --profile` reports it."""
        assert refresh.state is not None
        problems = profiles.check_view(refresh.state, self.profiles, hosts.placer(self.desired.root))
        return dataclasses.replace(refresh, state=profiles.select(refresh.state, self.profiles),
                                   errors=(*refresh.errors, *problems))

    def _note_engine(self) -> None:
        """Log and show what the engine is and can do, once it has answered (docs/engines.md)."""
        if self.status.engine is not None:
            return
        capabilities = self.runtime.capabilities
        self.status.set_engine(capabilities.describe())
        log.info("engine.connected", engine=self.engine, **capabilities.describe())
        if capabilities.rootless:
            log.warning("engine.rootless_unsupported", engine=self.engine, kind=capabilities.kind)

    def _note_swarm_engine(self, swarm: SwarmPasses) -> None:
        """`_note_engine` on a Swarm manager: what it is (`SwarmRuntime.engine`), once it has
        answered; an engine error leaves it for the next pass."""
        if self.status.engine is not None:
            return
        try:
            engine = swarm.runtime.engine()
        except EngineError as error:
            log.warning("engine.undescribed", engine=self.engine, error=str(error))
            return
        self.status.set_engine(engine)
        log.info("engine.connected", engine=self.engine, **engine)

    def _retired(self, desired: DesiredState) -> dict[str, ContainerSpec]:
        """"container/NAME" -> the last spec seen declared (by this process, else as the last-applied
        records of the state directory have it), for the containers `desired` no longer declares."""
        self.declared.update(desired.containers)
        return {**self.rollbacks.retired(desired),
                **{resource_key("container", name): spec for name, spec in self.declared.items()
                   if name not in desired.containers}}

    def _remember(self, desired: DesiredState, report: PassReport) -> None:
        """What later passes need from this one: what the engine holds now (to tell a resource
        removed by hand from a new one), and the completions (kept in the state directory)."""
        absent = {c.key for c in report.remaining.changes if c.kind in (ChangeKind.CREATE, ChangeKind.CONFLICT)}
        self.present = {spec.key for spec in desired.specs()} - absent
        if self.state_dir is None:
            return
        try:
            self.state_dir.record_completions(report.completed)
        except OSError as error:
            log.warning("completions.save_failed", directory=str(self.state_dir.path), error=str(error))
        try:
            self.state_dir.save_adopted(report.adopted)
        except OSError as error:
            log.warning("adoptions.save_failed", directory=str(self.state_dir.path), error=str(error))

    def _crashed(self, error: Exception, started: float, woken_by: list[str]) -> None:
        retry = self.backoff.failed(CRASH, self.clock())
        log.error("pass.crashed", error=f"{type(error).__name__}: {error}", retry_in=round(retry - self.clock(), 1),
                  exc_info=error)
        self.status.metrics.error("crash")
        self._record("crashed", started, woken_by, error=f"{type(error).__name__}: {error}")

    def _finish(self, result: str, started: float, woken_by: list[str], refresh: Refresh,
                report: PassReport | SwarmReport | None) -> None:
        digest = refresh.state.digest() if refresh.state else None
        counts = {"actions": len(report.ran), "failures": len(report.failures)} if report else {}
        resources = self._resources(refresh, report)
        if self.swarm is None:  # (Swarm rolls back a failed update itself: no quarantine records here)
            self.status.set_quarantined(self.rollbacks.records.values(),
                                        previous_states(report.observed.containers) if report else None)
        entering = self.status.set_resources(resources)
        if refresh.state is not None:
            news = self.told.news(resources, {spec.key: spec_hash(spec) for spec in refresh.state.specs()},
                                  self.clock(), drift_found=not self.suspended)
            self._notify(moments.entered(news, self.revision), refresh.state)
        for entered in entering:
            level = FAILING_STATES.get(entered.state)
            if level:
                getattr(log, level)(f"resource.{entered.state}", resource=resource_key(entered.kind, entered.name),
                                    reason=entered.message)
        if self.checkout is not None:
            before = self.checkout.revisions
            self.checkout.account(result, refresh, resources, self.informer.bind_sources())
            current = self.checkout.follower.source.current
            why = [*map(str, refresh.errors), *(f"{r.kind} {r.name}: {r.message}" for r in resources
                                                if FAILING_STATES.get(r.state) == "error")]
            self._notify(moments.revision(before, self.checkout.revisions, current.subject if current else "", why),
                         refresh.state)
        self._record(result, started, woken_by, counts, digest)

    def _notify(self, events: list[Notice], desired: DesiredState | None) -> None:
        """Hand `events` to the notifier, if any, with the secret values they must not show: every
        value of the env file (used by a file or not), and those of the declared secrets of `desired`."""
        if self.notifier is None or not events:
            return
        secrets = secret_values(self.desired).union(values_of(self.env_file),
            *(masking.of_spec(spec) for spec in (desired.containers.values() if desired else ())))
        for event in events:
            self.notifier.notify(event, secrets)

    def _record(self, result: str, started: float, woken_by: list[str], counts: dict[str, int] | None = None,
                digest: str | None = None, error: str | None = None) -> None:
        """The pass is over: status (file included) and metrics updated, one `pass.finished` line."""
        duration = self.clock() - started
        self.status.record_pass(result, duration, counts, digest, error)
        retries = {k: at for k, at in self.backoff.pending().items() if at > self.last_pass_at}
        self.status.set_retries(retries, self.clock())
        self.status.save()
        level = log.info if result == "converged" else log.warning
        level("pass.finished", result=result, woken_by=woken_by, seconds=round(duration, 3), **(counts or {}))

    def _resources(self, refresh: Refresh, report: PassReport | SwarmReport | None) -> list[ResourceReport]:
        if refresh.state is None:
            return []
        if self.swarm is not None:
            reports = swarm_reports(refresh.state, report, refresh.stalled) if report is not None else []
            return suspended_view(reports) if self.suspended else reports
        failures = {spec.key: self.backoff.failures(spec.key) for spec in refresh.state.specs()}
        completed = {**self.completed(), **report.completed} if report else {}
        crashing = crash_loops(self.started_at, failures)
        previous = previous_states(report.observed.containers) if report else None
        reports = resource_reports(refresh.state, refresh.stalled, report, failures, completed, crashing,
                                   self.rollbacks.quarantined(refresh.state, previous), self.holds.errors)
        if self.suspended:  # what a pass would change is drift, reported and not healed
            return [dataclasses.replace(r, state="drifted") if r.state == "pending" else r for r in reports]
        if self.gate is not None and self.gate.holding():
            why = self.gate.why()
            return [dataclasses.replace(r, message=f"{why}: {r.message}") if r.state == "pending" else r
                    for r in reports]
        return reports
