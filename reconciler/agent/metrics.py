"""The agent's Prometheus metrics, in a registry of their own (no process-global state).

- reconciler_passes_total{result}: passes by result (converged, failed, crashed, unavailable, invalid,
  suspended)
- reconciler_pass_duration_seconds: histogram of a pass's wall time
- reconciler_actions_total{kind,result}: engine actions by kind (create, recreate, remove, start,
  pull, ...) and result (ok, failed)
- reconciler_drift_corrections_total: actions that undid drift from an unchanged spec: a
  container stopped, killed, exited, dead or paused; a resource removed by hand (a container only
  under `drift = "revert"`); a network
  detached or attached by hand; a replacement left half done (accounting.DRIFT)
- reconciler_errors_total{type}: errors by type: desired_state (each new problem in the files),
  engine, action, crash (a pass that raised an unexpected exception)
- reconciler_managed_resources{kind}: resources in the status table, conflicts excluded
- reconciler_suspended: 1 while the agent is suspended (the control API's suspend), else 0
- reconciler_resources{state}: resources in the status table by state (converged, completed,
  crashloop, blocked, failed, stalled, conflict, pending, retained, unknown)
- reconciler_service_replicas{name,state}: a Swarm service's tasks (run --target swarm), state
  running (tasks running now) or desired (tasks Swarm is to run), as `docker service ls` counts them
- reconciler_desired_state_problems: problems in the files now
- reconciler_pending_retries: resources waiting in backoff
- reconciler_last_converged_timestamp_seconds: unix time of the last converged pass
- reconciler_notifications_total{target,outcome}: deliveries by target type (webhook, apprise)
  and outcome (sent, failed: every attempt failed)
- reconciler_notifications_dropped_total{reason}: notifications not sent: overflow (the queue
  was full), rate_limited (held back by the per kind and resource limit)
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

PASS_RESULTS = ("converged", "failed", "crashed", "unavailable", "invalid", "suspended", "waiting")
STATES = ("converged", "completed", "crashloop", "blocked", "failed", "stalled", "conflict", "pending", "drifted",
          "retained", "unknown")
KINDS = ("container", "network", "volume")
_DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.passes = Counter("reconciler_passes", "Reconcile passes by result.", ["result"], registry=r)
        self.pass_duration = Histogram("reconciler_pass_duration_seconds", "Duration of a reconcile pass.",
                                       buckets=_DURATION_BUCKETS, registry=r)
        self.actions = Counter("reconciler_actions", "Engine actions by kind and result.",
                               ["kind", "result"], registry=r)
        self.drift_corrections = Counter("reconciler_drift_corrections",
                                         "Actions that undid drift (stopped, removed or disconnected by hand, ...).",
                                         registry=r)
        self.errors = Counter("reconciler_errors", "Errors by type.", ["type"], registry=r)
        self.managed = Gauge("reconciler_managed_resources", "Resources reported on, by kind.",
                             ["kind"], registry=r)
        self.states = Gauge("reconciler_resources", "Resources reported on, by state.", ["state"], registry=r)
        self.replicas = Gauge("reconciler_service_replicas", "A Swarm service's tasks, running and desired.",
                              ["name", "state"], registry=r)
        self.problems = Gauge("reconciler_desired_state_problems", "Problems in the desired-state files.",
                              registry=r)
        self.pending_retries = Gauge("reconciler_pending_retries", "Resources waiting in backoff.", registry=r)
        self.last_converged = Gauge("reconciler_last_converged_timestamp_seconds",
                                    "Unix time of the last converged pass.", registry=r)
        self.suspended = Gauge("reconciler_suspended", "1 while the agent is suspended (it changes nothing).",
                               registry=r)
        self.approval_waiting = Gauge("reconciler_approval_waiting",
                                      "1 while a plan waits for approval (run --approve), else 0.", registry=r)
        self.revision = Gauge("reconciler_source_revision_info",
                              "A git source's revisions: 1 for each of the fetched, attempted and applied one.",
                              ["state", "revision"], registry=r)
        self.fetches = Counter("reconciler_source_fetches", "Fetches of a git source by outcome.", ["outcome"],
                               registry=r)
        self.hook_requests = Counter("reconciler_hook_requests", "Webhook requests by outcome.", ["outcome"],
                                     registry=r)
        self.notifications = Counter("reconciler_notifications", "Notification deliveries by target and outcome.",
                                     ["target", "outcome"], registry=r)
        self.notifications_dropped = Counter("reconciler_notifications_dropped", "Notifications not sent, by reason.",
                                             ["reason"], registry=r)
        for result in PASS_RESULTS:
            self.passes.labels(result)
        for kind in KINDS:
            self.managed.labels(kind)
        for state in STATES:
            self.states.labels(state)

    def pass_finished(self, result: str, duration: float, at: float) -> None:
        self.passes.labels(result).inc()
        self.pass_duration.observe(duration)
        if result == "converged":
            self.last_converged.set(at)

    def action(self, kind: str, result: str) -> None:
        """Count one engine action, e.g. `action("recreate", "ok")`."""
        self.actions.labels(kind, result).inc()

    def drift_corrected(self, count: int = 1) -> None:
        self.drift_corrections.inc(count)

    def error(self, type_: str, count: int = 1) -> None:
        self.errors.labels(type_).inc(count)

    def set_managed(self, counts: dict[str, int], states: dict[str, int]) -> None:
        """Resources by kind (conflicts excluded) and by state."""
        for kind in {*KINDS, *counts}:
            self.managed.labels(kind).set(counts.get(kind, 0))
        for state in {*STATES, *states}:
            self.states.labels(state).set(states.get(state, 0))

    def set_replicas(self, replicas: dict[str, tuple[int, int]]) -> None:
        """The Swarm services' tasks now: name -> (running, desired); services gone are dropped."""
        self.replicas.clear()
        for name, (running, desired) in replicas.items():
            self.replicas.labels(name, "running").set(running)
            self.replicas.labels(name, "desired").set(desired)

    def set_revisions(self, applied: str | None, attempted: str | None, fetched: str | None) -> None:
        """The info metric of a git source's revisions (full shas; None: none yet)."""
        self.revision.clear()
        for state, sha in (("applied", applied), ("attempted", attempted), ("fetched", fetched)):
            if sha:
                self.revision.labels(state, sha).set(1)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
