"""The agent's status: what the loop reports, kept as data, written to a file, served over HTTP.

The loop feeds a `Status` (thread-safe) during and after each pass, then calls `save()`:

    status = Status(namespace, directory, interval=30.0, path=default_status_file(namespace))
    status.heartbeat()                                  # every loop iteration
    status.set_resources([ResourceReport("container", "web", "converged")])
    status.set_errors(load_result.errors)               # loader Problems: file, line, key, message
    status.set_retries(backoff.pending(), now=time.monotonic())
    status.record_pass("converged", duration=0.4, counts={"recreated": 1}, digest=state.digest())
    status.save()

`StatusServer(status, "127.0.0.1:9110").start()` serves `/healthz` (200 while heartbeats come,
503 after none for three intervals), `/status` (the same JSON as the file) and `/metrics`.

The status file is written atomically (a temporary file in the same folder, then `os.replace`),
so a reader never sees half of it. Its default place is `default_status_file(namespace)`.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import structlog

from reconciler.agent.metrics import Metrics

log = structlog.get_logger()

STATUS_VERSION = 1
STALE_INTERVALS = 3  # /healthz fails after this many intervals without a heartbeat


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


def iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


def write_atomically(path: str, data: bytes, mode: int = 0o644) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise


def _resource_name(key: Hashable) -> str:
    """A backoff key as text: ("container", "web") -> "container/web"."""
    return "/".join(map(str, key)) if isinstance(key, tuple) else str(key)


@dataclass(frozen=True)
class ResourceReport:
    """One resource's state: converged, failed, stalled, conflict, retained, crashloop, ..."""

    kind: str
    name: str
    state: str
    message: str = ""


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
        self._applied_digest: str | None = None
        self._last_pass: dict[str, Any] | None = None
        self._resources: dict[tuple[str, str], dict[str, str]] = {}
        self._errors: list[dict[str, Any]] = []
        self._retries: dict[str, str] = {}
        self._write_failing = False

    def heartbeat(self) -> None:
        """Called by the loop on every iteration: proof for /healthz that it is not stuck."""
        with self._lock:
            self._beat = self._monotonic()
            self._beat_at = self._clock()

    def health(self) -> tuple[bool, float]:
        """(alive, seconds since the last heartbeat); alive until STALE_INTERVALS intervals pass."""
        with self._lock:
            silent = self._monotonic() - self._beat
        return silent <= STALE_INTERVALS * self.interval, silent

    def record_pass(self, result: str, duration: float, counts: Mapping[str, int] | None = None,
                    digest: str | None = None) -> None:
        """A pass ended: converged | failed | unavailable | invalid. `digest` names the desired
        state it worked on; a converged pass makes it the applied digest."""
        now = self._clock()
        with self._lock:
            self._last_pass = {"at": iso(now), "duration_seconds": round(duration, 3), "result": result,
                               "counts": dict(counts or {}), "digest": digest}
            if result == "converged" and digest is not None:
                self._applied_digest = digest
        self.metrics.pass_finished(result, duration, now)

    def set_resources(self, reports: Iterable[ResourceReport]) -> None:
        """Replace the resource table; `since` is kept for a resource whose state is unchanged."""
        now = iso(self._clock())
        with self._lock:
            table = {}
            for r in reports:
                old = self._resources.get((r.kind, r.name))
                since = old["since"] if old and old["state"] == r.state else now
                table[(r.kind, r.name)] = {"kind": r.kind, "name": r.name, "state": r.state,
                                           "message": r.message, "since": since}
            self._resources = table
            managed: dict[str, int] = {}
            for entry in table.values():
                if entry["state"] != "conflict":
                    managed[entry["kind"]] = managed.get(entry["kind"], 0) + 1
        self.metrics.set_managed(managed)

    def set_errors(self, problems: Iterable[Any]) -> None:
        """The problems in the files now (objects with file, line, key and message)."""
        errors = [{"file": p.file, "line": p.line, "key": p.key, "message": p.message, "text": str(p)}
                  for p in problems]
        with self._lock:
            known = {e["text"] for e in self._errors}
            self._errors = errors
        new = sum(1 for e in errors if e["text"] not in known)
        if new:
            self.metrics.error("desired_state", new)
        self.metrics.problems.set(len(errors))

    def set_retries(self, pending: Mapping[Hashable, float], now: float) -> None:
        """Resources in backoff (keys like "container/web" or ("container", "web")), with their
        next attempt on the same clock as `now`."""
        wall = self._clock()
        retries = {_resource_name(key): iso(wall + max(0.0, at - now)) for key, at in pending.items()}
        with self._lock:
            self._retries = retries
        self.metrics.pending_retries.set(len(retries))

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
                "applied_digest": self._applied_digest,
                "last_pass": dict(self._last_pass) if self._last_pass else None,
                "resources": [dict(self._resources[k]) for k in sorted(self._resources)],
                "errors": [dict(e) for e in self._errors],
                "pending_retries": [{"resource": k, "next_attempt_at": v} for k, v in sorted(self._retries.items())],
            }

    def to_json(self) -> bytes:
        return json.dumps(self.snapshot(), indent=2).encode() + b"\n"

    def save(self) -> bool:
        """Write the status file; a failure is logged (once until it recovers), never raised."""
        if self.path is None:
            return False
        try:
            write_atomically(self.path, self.to_json())
        except OSError as exc:
            if not self._write_failing:
                log.warning("status.write_failed", path=self.path, error=str(exc))
            self._write_failing = True
            return False
        self._write_failing = False
        return True


def parse_address(address: str) -> tuple[str, int]:
    """`HOST:PORT`, `[IPv6]:PORT` or `:PORT` (loopback) -> (host, port)."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"status address {address!r} is not HOST:PORT")
    host = host.removeprefix("[").removesuffix("]") or "127.0.0.1"
    return host, int(port)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 (the http.server naming)
        status = self.server.status
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            alive, silent = status.health()
            text = "ok\n" if alive else f"no heartbeat for {silent:.0f}s\n"
            self._send(200 if alive else 503, "text/plain; charset=utf-8", text.encode())
        elif path == "/status":
            self._send(200, "application/json", status.to_json())
        elif path == "/metrics":
            self._send(200, status.metrics.content_type, status.metrics.render())
        else:
            self._send(404, "text/plain; charset=utf-8", b"not found: try /healthz, /status or /metrics\n")

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

    def __init__(self, address: tuple[str, int], status: Status) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)
        self.status = status


class StatusServer:
    """/healthz, /status and /metrics on `address`, from a daemon thread. Port 0 picks a free one."""

    def __init__(self, status: Status, address: str) -> None:
        self._server = _Server(parse_address(address), status)
        self._thread = threading.Thread(target=self._server.serve_forever, name="status-http", daemon=True)

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
