"""The agent's passes on a Swarm manager (`reconciler run --target swarm`, docs/swarm.md).

The loop (reconciler.agent.loop) reads the files as on one host (directory or git source,
last-known-good, profiles), keeps the control API, status and metrics, and hands each pass here
when `Agent.swarm` is set. A pass first checks the lease (reconciler.swarm.lease): without it,
the pass only plans (every task blocked with "lease held by HOLDER until T"), logs
`lease.waiting` and changes nothing; with it, it converges through the Swarm pipeline. The host's
own steps (the informer, container holds and crash loops, rollbacks and quarantine records,
image retention) have no part here: Swarm restarts, rolls back and schedules tasks itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from reconciler.agent.accounting import STALLED
from reconciler.agent.lastgood import Refresh
from reconciler.agent.status import ResourceReport
from reconciler.changes import ChangeKind
from reconciler.desired.hosts import Place
from reconciler.model import DesiredState, resource_key
from reconciler.swarm import checks
from reconciler.swarm.lease import Leases
from reconciler.swarm.rollout import ROLLING_BACK
from runtime.swarm_base import SwarmRuntime

log = structlog.get_logger("reconciler.agent")

# UpdateStatus.State while Swarm replaces a service's tasks (reconciler.swarm.rollout)
UPDATING = ("updating", ROLLING_BACK)
# the kinds of the Swarm target, and which section of the files declares each (a container is a service)
_DECLARED = {"service": "containers", "network": "networks", "secret": "secrets", "config": "configs"}


class SwarmReport(Protocol):
    """What reconciler.swarm.converge's `converge` and `preview` return (its SwarmReport)."""

    plan: Any
    results: tuple[Any, ...]
    remaining: Any
    observed: Any

    @property
    def ran(self) -> tuple[Any, ...]: ...

    @property
    def failures(self) -> tuple[Any, ...]: ...

    @property
    def converged(self) -> bool: ...


@dataclass
class SwarmPasses:
    """The Swarm side of an agent: the manager, the lease, and the pipeline's one pass that
    changes (`converge(runtime, desired, namespace, options, should_stop)`) and the one that
    only plans (`preview(runtime, desired, namespace, options)`), as reconciler.swarm.converge
    has them; `options(**fields)` makes its SwarmOptions."""

    runtime: SwarmRuntime
    leases: Leases
    converge: Callable[..., SwarmReport]
    preview: Callable[..., SwarmReport]
    options: Callable[..., Any]

    def wake_in(self) -> float:
        """Seconds until the lease needs the loop: our renewal, or the other holder's expiry."""
        return self.leases.next_check()

    def pass_(self, desired: DesiredState, namespace: str, *, invalid_files: frozenset[str], allow_empty: bool,
              suspended: bool, should_stop: Callable[[], bool]) -> tuple[SwarmReport, str | None]:
        """One pass: (its report, why it changed nothing when the lease is another's, else None).
        Raises EngineUnavailable when the manager does not answer."""
        waiting = self.leases.hold()
        options = self.options(allow_empty=allow_empty, invalid_files=invalid_files, not_leader=waiting)
        if waiting is not None or suspended:
            return self.preview(self.runtime, desired, namespace, options), waiting
        return self.converge(self.runtime, desired, namespace, options,
                             should_stop=lambda: should_stop() or not self.leases.keep()), None


def swarm_view(refresh: Refresh, place: Place) -> Refresh:
    """The files as Swarm runs them: what it runs differently is a warning (reconciler.swarm.checks,
    placed by `place`), as `validate --target swarm` says. What Swarm cannot run is an error of its
    file, found as the file is read (`LastKnownGood(target="swarm")`): the file is then held at its
    last-known-good content as an invalid file is (SwarmOptions.invalid_files)."""
    assert refresh.state is not None
    return dataclasses.replace(refresh, warnings=(*refresh.warnings, *checks.problems(refresh.state, place)[1]))


def swarm_reports(desired: DesiredState, report: SwarmReport,
                  stalled: Collection[str] = frozenset()) -> list[ResourceReport]:
    """The status table of a Swarm pass: each declared service, network, secret and config, and
    what the pass still found to do about anything else (an owned service no longer declared).
    A service carries its (running, desired) tasks and last task error as the swarm showed them.
    States: stalled (a resource of `stalled`, "kind/name" as the files declare it: its file is
    held at its last valid content, as on one host), failed (its task failed this pass), conflict,
    blocked (by the plan: a quarantined spec, a missing digest, the lease another agent holds),
    pending, converged; a converged service with fewer tasks running than desired and a task
    error is stalled too, and one whose rolling update Swarm still carries on (UpdateStatus.State
    updating or rollback_started: the pass stopped following it) is updating."""
    failed = {r.task.key: r for r in report.failures}
    changes = {c.key: c for c in report.remaining.changes}
    blocked = {t.key: t.blocked for t in report.remaining.tasks if t.blocked}
    services = {s.name: s for s in report.observed.services}
    keys = {resource_key(kind, name) for kind, section in _DECLARED.items() for name in getattr(desired, section)}
    keys |= {key for key, change in changes.items() if change.kind.pending}
    reports = []
    for key in sorted(keys):
        kind, _, name = key.partition("/")
        state, message = _state(failed.get(key), changes.get(key), blocked.get(key))
        if resource_key("container" if kind == "service" else kind, name) in stalled:
            state, message = "stalled", STALLED
        service = services.get(name) if kind == "service" else None
        tasks = service.tasks if service is not None else None
        if state == "converged" and tasks is not None and tasks.running < tasks.desired and tasks.last_error:
            state, message = "stalled", f"{tasks.running}/{tasks.desired} tasks running: {tasks.last_error}"
        elif state == "converged" and service is not None and service.update_state in UPDATING:
            state, message = "updating", f"Swarm's rolling update is {service.update_state}"
        reports.append(ResourceReport(kind, name, state, message,
                                      replicas=(tasks.running, tasks.desired) if tasks is not None else None,
                                      task_error=tasks.last_error if tasks is not None else None))
    return reports


def _state(failure: Any, change: Any, blocked: str | None) -> tuple[str, str]:
    """(state, message) of one resource from its failed task, remaining change and why it is blocked."""
    if failure is not None:
        return "failed", failure.error or "failed"
    if change is None or not change.kind.pending:
        return "converged", str(change) if change is not None else ""
    if change.kind is ChangeKind.CONFLICT:
        return "conflict", str(change)
    if change.kind is ChangeKind.BLOCKED or blocked:
        return "blocked", blocked or str(change)
    return "pending", str(change)


def suspended_view(reports: list[ResourceReport]) -> list[ResourceReport]:
    """Under suspend what a pass would change is drift, reported and not healed (as on one host)."""
    return [dataclasses.replace(r, state="drifted") if r.state == "pending" else r for r in reports]
