"""The agent's status: what the loop reports, kept as data, written to a file, served over HTTP.

The loop feeds a `Status` (thread-safe) during and after each pass, then calls `save()`:

    status = Status(namespace, directory, interval=30.0, path=default_status_file(namespace))
    status.heartbeat()                                  # every loop iteration
    status.set_resources([ResourceReport("container", "web", "converged")])
    status.set_errors(refresh.errors)                   # loader Problems: file, line, key, message
    status.set_warnings(refresh.warnings)
    status.set_retries(backoff.pending(), now=time.monotonic())
    status.record_pass("converged", duration=0.4, counts={"recreated": 1}, digest=state.digest())
    status.save()

`StatusServer(status, "127.0.0.1:9110").start()` serves `/` (the status page for people:
`reconciler.statuspage`), `/healthz`, `/status` (the same JSON as the file) and `/metrics`.
`/healthz` answers 503 with the reason (`health()`) when the loop is stuck (no heartbeat for
STALE_INTERVALS intervals) or when passes keep failing: none but failed or unavailable ones (a
crashed pass is a failed one) for `failing_bound()` seconds, counted from the last other pass, or
from the start.

The status file is written atomically (a temporary file in the same folder, then `os.replace`),
so a reader never sees half of it. Its default place is `default_status_file(namespace)`.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import structlog

from reconciler.agent.atomic import write_atomically
from reconciler.agent.metrics import Metrics
from reconciler.agent.timestamps import iso
from reconciler.fielddiff import FieldDiff
from reconciler.statuspage import render

log = structlog.get_logger()

STATUS_VERSION = 1
STALE_INTERVALS = 3  # /healthz fails after this many intervals without a heartbeat
# Pass results that count towards an unhealthy agent: the agent cannot do its job (its passes
# crash, or the engine is out of reach). A resource that keeps failing is not one: it is reported
# (status, metrics, logs) and backed off, and restarting the agent would not mend it.
FAILING = frozenset({"crashed", "unavailable"})
FAILING_INTERVALS = 5  # /healthz fails once passes keep failing for this many intervals,
FAILING_AT_LEAST = 300.0  # and at least this many seconds
PASSES_KEPT = 20  # the last passes the status lists (`passes`), for the status page's timeline


def default_status_file(namespace: str, environ: Mapping[str, str] | None = None,
                        euid: int | None = None) -> str:
    """`$RECONCILER_STATUS_FILE`; else `/run/reconciler/NS.status.json` for root; else
    `$XDG_RUNTIME_DIR/reconciler/NS.status.json`; else `~/.cache/reconciler/NS.status.json`."""
    environ = os.environ if environ is None else environ
    euid = os.geteuid() if euid is None else euid
    if environ.get("RECONCILER_STATUS_FILE"):
        return environ["RECONCILER_STATUS_FILE"]
    name = f"{namespace}.status.json"
    if euid == 0:
        return os.path.join("/run/reconciler", name)
    if environ.get("XDG_RUNTIME_DIR"):
        return os.path.join(environ["XDG_RUNTIME_DIR"], "reconciler", name)
    return os.path.join(os.path.expanduser("~"), ".cache", "reconciler", name)


def _replace(listed: list[dict[str, Any]], problems: Iterable[Any]) -> tuple[list[dict[str, Any]], list[Any]]:
    """(the problems as status entries, those among them whose text was not `listed` before)."""
    known = {entry["text"] for entry in listed}
    problems = list(problems)
    entries = [{"file": p.file, "line": p.line, "key": p.key, "message": p.message, "text": str(p)}
               for p in problems]
    return entries, [p for p, entry in zip(problems, entries, strict=True) if entry["text"] not in known]


def _resource_name(key: Hashable) -> str:
    """A backoff key as text: ("container", "web") -> "container/web"."""
    return "/".join(map(str, key)) if isinstance(key, tuple) else str(key)


@dataclass(frozen=True)
class ResourceReport:
    """One resource's state: converged, failed, stalled, conflict, retained, crashloop, ...;
    `diff`: what its pending or failed change changes, field by field (reconciler.fielddiff)."""

    kind: str
    name: str
    state: str
    message: str = ""
    diff: tuple[FieldDiff, ...] = ()
    replicas: tuple[int, int] | None = None  # a Swarm service's (running, desired) tasks; None: not a service
    task_error: str | None = None  # a Swarm service's most recent failed task's error


class Status:
    def __init__(self, namespace: str, directory: str, interval: float, path: str | None = None,
                 metrics: Metrics | None = None, clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.namespace = namespace
        self.directory = os.path.abspath(directory)
        self.interval = interval
        self.path = path
        self.metrics = metrics or Metrics()
        self._clock = clock
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._started_at = clock()
        self._beat = monotonic()
        self._beat_at = self._started_at
        self._last_good = self._beat  # monotonic time of the last pass that did not fail, or the start
        self._applied_digest: str | None = None
        self._last_pass: dict[str, Any] | None = None
        self._passes: deque[dict[str, Any]] = deque(maxlen=PASSES_KEPT)
        self._quarantined: list[dict[str, Any]] = []
        self._resources: dict[tuple[str, str], dict[str, str]] = {}
        self._errors: list[dict[str, Any]] = []
        self._warnings: list[dict[str, Any]] = []
        self._retries: dict[str, str] = {}
        self._write_failing = False
        self.engine: dict[str, Any] | None = None  # the engine's capabilities, once it answered
        self._engine_error: dict[str, str] | None = None  # the engine out of reach: address, error, since
        self.suspended = False  # the control API's suspend: passes observe and report, change nothing
        # what a git source reports (agent.follow, agent.revisions), asked at each snapshot; None: a directory
        self.source: Callable[[], dict[str, Any]] | None = None
        self.profiles: tuple[str, ...] = ()  # the agent's profiles (`desired.profiles`), kept for its life
        self.approve: str | None = None  # `run --approve`'s mode (changes | all); None: no approvals
        self._pending_plan: dict[str, Any] | None = None
        self.target = "host"  # run --target: host, or swarm (services on a Swarm manager)
        self._lease: dict[str, Any] | None = None  # the Swarm lease (set_lease); None on one host
        self._running_since: float | None = None  # when the pass under way started (pass_started); None: none

    def heartbeat(self) -> None:
        """Called by the loop on every iteration: proof for /healthz that it is not stuck."""
        with self._lock:
            self._beat = self._monotonic()
            self._beat_at = self._clock()

    def failing_bound(self) -> float:
        """Seconds of nothing but failing passes after which /healthz fails: max(5 intervals, 5 min)."""
        return max(FAILING_INTERVALS * self.interval, FAILING_AT_LEAST)

    def health(self) -> tuple[bool, str]:
        """(healthy, "ok" or why not): unhealthy when the loop is stuck (no heartbeat for
        STALE_INTERVALS intervals) or passes keep failing for longer than `failing_bound()`."""
        with self._lock:
            now = self._monotonic()
            silent, failing = now - self._beat, now - self._last_good
            last = self._last_pass["result"] if self._last_pass else None
        if silent > STALE_INTERVALS * self.interval:
            return False, f"no heartbeat for {silent:.0f}s: the loop is stuck"
        if failing > self.failing_bound():
            return False, f"no successful pass for {failing:.0f}s (last pass: {last or 'none yet'})"
        return True, "ok"

    def record_pass(self, result: str, duration: float, counts: Mapping[str, int] | None = None,
                    digest: str | None = None, error: str | None = None) -> None:
        """A pass ended: converged | failed | crashed | unavailable | invalid | suspended (it observed
        and changed nothing). `digest` names the desired
        state it worked on; a converged pass makes it the applied digest. `error`: why a pass
        crashed (e.g. "ValueError: ..."), shown in the status."""
        now = self._clock()
        with self._lock:
            self._running_since = None
            self._last_pass = {"at": iso(now), "duration_seconds": round(duration, 3), "result": result,
                               "counts": dict(counts or {}), "digest": digest}
            if error is not None:
                self._last_pass["error"] = error
            self._passes.append(self._last_pass)
            if result == "converged" and digest is not None:
                self._applied_digest = digest
            if result not in FAILING:
                self._last_good = self._monotonic()
        self.metrics.pass_finished(result, duration, now)

    def pass_started(self) -> None:
        """A pass is under way (a Swarm pass following a long rolling update, say) until
        `record_pass`: the snapshot's `running` is {"since": ISO time}, else None."""
        with self._lock:
            self._running_since = self._clock()

    def set_resources(self, reports: Iterable[ResourceReport]) -> list[ResourceReport]:
        """Replace the resource table; `since` is kept for a resource whose state is unchanged.
        Returns the reports whose resource entered its state now (new, or in another state)."""
        now = iso(self._clock())
        entered = []
        replicas: dict[str, tuple[int, int]] = {}
        with self._lock:
            table = {}
            for r in reports:
                old = self._resources.get((r.kind, r.name))
                if old and old["state"] == r.state:
                    since = old["since"]
                else:
                    since = now
                    entered.append(r)
                table[(r.kind, r.name)] = {"kind": r.kind, "name": r.name, "state": r.state,
                                           "message": r.message, "since": since}
                if r.diff:
                    table[(r.kind, r.name)]["diff"] = [d.data() for d in r.diff]
                if r.replicas is not None:
                    table[(r.kind, r.name)]["replicas"] = {"running": r.replicas[0], "desired": r.replicas[1]}
                    table[(r.kind, r.name)]["task_error"] = r.task_error
                    replicas[r.name] = r.replicas
            self._resources = table
            managed: dict[str, int] = {}
            states: dict[str, int] = {}
            for entry in table.values():
                states[entry["state"]] = states.get(entry["state"], 0) + 1
                if entry["state"] != "conflict":
                    managed[entry["kind"]] = managed.get(entry["kind"], 0) + 1
        self.metrics.set_managed(managed, states)
        self.metrics.set_replicas(replicas)
        return entered

    def set_errors(self, problems: Iterable[Any]) -> list[Any]:
        """The problems in the files now (objects with file, line, key and message). Returns the
        ones not listed before."""
        with self._lock:
            self._errors, new = _replace(self._errors, problems)
            count = len(self._errors)
        if new:
            self.metrics.error("desired_state", len(new))
        self.metrics.problems.set(count)
        return new

    def set_warnings(self, problems: Iterable[Any]) -> list[Any]:
        """The loader's warnings now (an unset variable, an empty file, ...), like `set_errors`."""
        with self._lock:
            self._warnings, new = _replace(self._warnings, problems)
        return new

    def set_retries(self, pending: Mapping[Hashable, float], now: float) -> None:
        """Resources in backoff (keys like "container/web" or ("container", "web")), with their
        next attempt on the same clock as `now`."""
        wall = self._clock()
        retries = {_resource_name(key): iso(wall + max(0.0, at - now)) for key, at in pending.items()}
        with self._lock:
            self._retries = retries
        self.metrics.pending_retries.set(len(retries))

    def set_quarantined(self, quarantines: Iterable[Any], previous: Mapping[str, str] | None = None) -> None:
        """The replacements in quarantine now (`agent.quarantine.Quarantine`s): resource, the spec
        hash and image id that failed, the git revision, why and since when; and the state of the
        previous container kept (`previous`: key -> "running", "exited", ...: "gone" when none
        holds the name; None: not known, the engine did not answer)."""
        entries = [{"resource": q.key, "spec_hash": q.spec_hash, "image_id": q.image_id, "revision": q.revision,
                    "reason": q.reason, "since": iso(q.since),
                    "previous": None if previous is None else previous.get(q.key, "gone")}
                   for q in sorted(quarantines, key=lambda q: q.key)]
        with self._lock:
            self._quarantined = entries

    def set_suspended(self, suspended: bool) -> None:
        with self._lock:
            self.suspended = suspended
        self.metrics.suspended.set(1 if suspended else 0)

    def set_pending_plan(self, pending: Mapping[str, Any] | None) -> None:
        """The plan waiting for approval ({"id", "plan", "revision", "since"}, see
        `agent.approvals`), or None when none waits."""
        with self._lock:
            self._pending_plan = dict(pending) if pending is not None else None
        self.metrics.approval_waiting.set(1 if pending is not None else 0)

    def set_lease(self, holder: str, held: bool, until: float | None, waiting: str | None = None) -> None:
        """The Swarm lease as the last pass found it (reconciler.swarm.lease): `holder` is this
        agent's id; `held`: it holds the lease (until `until`, unix seconds, when known), else
        `waiting` says who does ("lease held by HOLDER until T"). Read back (`snapshot`), a hold
        whose `until` has passed is not held (`lease_now`)."""
        with self._lock:
            self._lease = {"holder": holder, "held": held, "until": until, "waiting": waiting}

    def set_engine(self, capabilities: Mapping[str, Any]) -> None:
        with self._lock:
            self.engine = dict(capabilities)

    def set_engine_error(self, address: str | None, error: str = "") -> None:
        """The engine at `address` did not answer (`error`: why, the last pass's); `since` is kept
        while it stays out of reach. None: it answers."""
        with self._lock:
            since = self._engine_error["since"] if self._engine_error else iso(self._clock())
            self._engine_error = {"address": address, "error": error, "since": since} if address else None

    def snapshot(self) -> dict[str, Any]:
        """The status as JSON-able data: what the file and /status hold."""
        with self._lock:
            return {
                "version": STATUS_VERSION,
                "pid": os.getpid(),
                "namespace": self.namespace,
                "directory": self.directory,
                "interval_seconds": self.interval,
                "started_at": iso(self._started_at),
                "updated_at": iso(self._clock()),
                "heartbeat_at": iso(self._beat_at),
                "engine": dict(self.engine) if self.engine else None,
                "engine_error": dict(self._engine_error) if self._engine_error else None,
                "suspended": self.suspended,
                "target": self.target,
                "lease": lease_now(self._lease, self._clock()) if self._lease is not None else None,
                "profiles": list(self.profiles),
                "approve": self.approve,
                "pending_plan": dict(self._pending_plan) if self._pending_plan is not None else None,
                "source": self.source() if self.source else None,
                "applied_digest": self._applied_digest,
                "last_pass": dict(self._last_pass) if self._last_pass else None,
                "running": {"since": iso(self._running_since)} if self._running_since is not None else None,
                "passes": [dict(p) for p in self._passes],
                "quarantined": [dict(q) for q in self._quarantined],
                "resources": [dict(self._resources[k]) for k in sorted(self._resources)],
                "errors": [dict(e) for e in self._errors],
                "warnings": [dict(w) for w in self._warnings],
                "pending_retries": [{"resource": k, "next_attempt_at": v} for k, v in sorted(self._retries.items())],
            }

    def to_json(self) -> bytes:
        """The status as one line of JSON (no indentation: Python's JSON encoder indents in pure
        Python, 4 ms a pass at 1000 resources; `reconciler status` is the view for people)."""
        return json.dumps(self.snapshot(), separators=(",", ":")).encode() + b"\n"

    def save(self) -> bool:
        """Write the status file; a failure is logged (once until it recovers), never raised. It
        is replaced whole but not fsynced: every pass rewrites it, and after a power cut an older
        one tells no lie that the next pass does not correct."""
        if self.path is None:
            return False
        try:
            write_atomically(self.path, self.to_json(), durable=False)
        except OSError as exc:
            if not self._write_failing:
                log.warning("status.write_failed", path=self.path, error=str(exc))
            self._write_failing = True
            return False
        self._write_failing = False
        return True


def lease_now(lease: Mapping[str, Any], now: float) -> dict[str, Any]:
    """The Swarm lease as `Status.set_lease` recorded it ({holder, held, until: unix seconds or None,
    waiting}), read at `now` (unix seconds) for the status: `until` as ISO time, and a hold whose
    `until` has passed no longer held (the agent did not renew it in time, busy in a long update,
    and another agent may hold it now: reconciler.swarm.lease's TTL), `waiting` saying so."""
    until = lease["until"]
    expired = lease["held"] and (until is None or until <= now)
    waiting = f"lease expired at {iso(until) if until is not None else 'an unknown time'}: not renewed since"
    return {**lease, "held": lease["held"] and not expired, "until": iso(until) if until is not None else None,
            "waiting": waiting if expired else lease["waiting"]}


def parse_address(address: str) -> tuple[str, int]:
    """`HOST:PORT`, `[IPv6]:PORT` or `:PORT` (loopback) -> (host, port)."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"status address {address!r} is not HOST:PORT")
    host = host.removeprefix("[").removesuffix("]") or "127.0.0.1"
    return host, int(port)


def host_allowed(host: str | None, port: int, bound: str = "0.0.0.0", names: Collection[str] = ()) -> bool:
    """Whether a request's `Host` header may reach the status address `bound`:`port`: that
    address, a loopback address, `localhost` or one of `names` (`run --status-host`: the DNS names
    it is reached by, as Django's ALLOWED_HOSTS; any case), any IP address when `bound` is a
    wildcard, with that port or none; no header at all (a client that is no browser). Any other
    name is refused: a page that re-points its own name at 127.0.0.1 (DNS rebinding) cannot read
    the status from a visitor's browser."""
    if host is None:
        return True
    name, _, given = host.rpartition(":") if not host.endswith("]") else (host, "", "")
    if not name or name.endswith(":"):  # no port, or a bare IPv6 address
        name, given = host, ""
    if given and given != str(port):
        return False
    name = name.removeprefix("[").removesuffix("]").lower()
    if name == "localhost" or name in {n.lower() for n in names}:
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return name == bound.lower()  # a status address given by name (`localhost:9110`, `vm:9110`)
    try:
        where = ipaddress.ip_address(bound)
    except ValueError:
        return address.is_loopback
    return address.is_loopback or where.is_unspecified or address == where


_HOST_NAME = re.compile(r"(?:[A-Za-z0-9_-]+\.)*[A-Za-z0-9_-]+\.?|[0-9A-Fa-f:.]+")  # a DNS name, or an IP address


def check_host_name(name: str) -> str:
    """`name` when it can be a `Host` header's host (a DNS name or an IP address, no port), for
    `run --status-host`. Raises ValueError."""
    if not _HOST_NAME.fullmatch(name.removeprefix("[").removesuffix("]")):
        raise ValueError("a DNS name or IP address, without a port (such as vm.example.com)")
    return name


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 (the http.server naming)
        status = self.server.status
        path = self.path.split("?", 1)[0]
        if not host_allowed(self.headers.get("Host"), self.server.server_address[1], self.server.server_address[0],
                            self.server.hosts):
            self._send(403, "text/plain; charset=utf-8", b"refused: the Host header names no address of this agent\n")
            log.warning("status.refused", host=self.headers.get("Host"), client=self.client_address[0])
        elif path == "/":
            page = render(status.snapshot(), now=time.time())
            self._send(200, "text/html; charset=utf-8", page.encode())
        elif path == "/healthz":
            healthy, reason = status.health()
            self._send(200 if healthy else 503, "text/plain; charset=utf-8", f"{reason}\n".encode())
        elif path == "/status":
            self._send(200, "application/json", status.to_json())
        elif path == "/metrics":
            self._send(200, status.metrics.content_type, status.metrics.render())
        else:
            self._send(404, "text/plain; charset=utf-8", b"not found: try /, /healthz, /status or /metrics\n")

    def do_POST(self) -> None:  # noqa: N802
        self._send(405, "text/plain; charset=utf-8", b"read only: control calls go to the control API's socket\n")

    def _send(self, code: int, content_type: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("status.request", client=self.client_address[0], request=format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], status: Status, hosts: Collection[str] = ()) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)
        self.status = status
        self.hosts = tuple(hosts)


class StatusServer:
    """/ (the status page), /healthz, /status and /metrics on `address`, from a daemon thread. Port 0
    picks a free one. `hosts`: the names besides its address a request's `Host` may carry (`host_allowed`)."""

    def __init__(self, status: Status, address: str, hosts: Collection[str] = ()) -> None:
        self._server = _Server(parse_address(address), status, hosts)
        # a short poll: a stop waits for the server's next look (SIGTERM -> exit within a second)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="status-http", daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        """The bound (host, port)."""
        return self._server.server_address[:2]

    def start(self) -> None:
        self._thread.start()
        log.info("status.serving", host=self.address[0], port=self.address[1])

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()
