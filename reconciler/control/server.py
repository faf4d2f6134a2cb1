"""The agent's control API server: HTTP on a unix socket, or on TCP with TLS client certificates.

The socket is made mode 0660, owned by the agent's user and the `--api-group` group (the
agent's own group by default), in a folder of mode 0755; the kernel refuses everyone else's
`connect`. Each caller's peer credentials (pid, uid, gid) are read and logged
(`api.request`), and a caller who is neither root, the agent's user, nor in the socket's group is
refused before its request is read. TCP control exists only with TLS and a client certificate
signed by the given CA (as Docker's own API does); there is no plain-HTTP control port.

Calls and bodies: docs/api.md, and the OpenAPI document at /v1/openapi.json.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import socket
import socketserver
import ssl
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from reconciler.agent.approvals import ID_LENGTH
from reconciler.agent.requests import APPROVE, REJECT, RETRY, SYNC, Request
from reconciler.agent.timestamps import iso
from reconciler.commands.render import plan_data
from reconciler.control.openapi import OPERATIONS, SCHEMA_VERSION, document
from reconciler.model import resource_key

if TYPE_CHECKING:
    from reconciler.agent.loop import Agent

log = structlog.get_logger("reconciler.api")

PASS_TIMEOUT = 900.0  # seconds a sync or retry call waits for its pass to end
KINDS = ("container", "network", "volume")
_MAX_BODY = 64 * 1024


class ApiError(Exception):
    """A refused or failed call: HTTP `code`, a message, and `extra` members of the error body
    (a refused approve's `pending_plan`)."""

    def __init__(self, code: int, message: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.extra = extra or {}


def peer_credentials(connection: socket.socket) -> tuple[int, int, int]:
    """(pid, uid, gid) of the process at the other end of a unix socket (SO_PEERCRED)."""
    packed = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, gid = struct.unpack("3i", packed)
    return pid, uid, gid


def may_control(uid: int, gid: int, group: int) -> bool:
    """Root, the agent's own user, and members of the socket's group may control the agent."""
    if uid in (0, os.geteuid()) or gid == group:
        return True
    try:
        return group in os.getgrouplist(pwd.getpwuid(uid).pw_name, gid)
    except KeyError:  # a uid with no passwd entry belongs to no other group
        return False


class Api:
    """The calls, on one agent; each answers (HTTP code, JSON body)."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent

    def handle(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        parts = path.strip("/").split("/")
        route = {
            ("GET", "v1/status"): self.status, ("GET", "v1/plan"): self.plan,
            ("GET", "v1/openapi.json"): document, ("POST", "v1/sync"): lambda: self.sync(body),
            ("POST", "v1/suspend"): lambda: self.suspend(True), ("POST", "v1/resume"): lambda: self.suspend(False),
        }.get((method, "/".join(parts)))
        retry = len(parts) == 4 and parts[:2] == ["v1", "retry"]
        if route is None and method == "POST" and retry:
            route = lambda: self.retry(parts[2], parts[3])  # noqa: E731
        decide = len(parts) == 3 and parts[:2] in (["v1", APPROVE], ["v1", REJECT])
        if route is None and method == "POST" and decide:
            route = lambda: self.decide(parts[1], parts[2])  # noqa: E731
        if route is None:
            known = path in _PATHS or retry or decide
            raise ApiError(405 if known else 404, f"no {method} {path}: see /v1/openapi.json")
        answer = route()
        return 200, answer if "openapi" in answer else {"schema_version": SCHEMA_VERSION, **answer}

    def status(self) -> dict[str, Any]:
        return {"status": self.agent.status.snapshot()}

    def plan(self) -> dict[str, Any]:
        last = self.agent.last_plan
        if last is None:
            return {"plan": None, "planned_at": None, "age_seconds": None, "suspended": self.agent.suspended}
        plan, at = last
        return {"plan": plan_data(plan), "planned_at": iso(at), "age_seconds": round(time.time() - at, 3),
                "suspended": self.agent.suspended}

    def sync(self, body: dict[str, Any]) -> dict[str, Any]:
        unknown = set(body) - {"prune_volumes", "allow_empty", "directory", "profiles", "adopt", "target"}
        if unknown:
            raise ApiError(400, f"unknown sync option(s): {', '.join(sorted(unknown))}")
        flags = {key: body.get(key, False) for key in ("prune_volumes", "allow_empty")}
        if not all(isinstance(value, bool) for value in flags.values()):
            raise ApiError(400, "prune_volumes and allow_empty are true or false")
        directory = body.get("directory")
        if directory is not None and os.path.realpath(directory) != os.path.realpath(self.agent.root):
            raise ApiError(409, f"this agent follows {self.agent.root}, not {directory}: apply refused")
        _check_profiles(body.get("profiles"), self.agent.profiles)
        adopt = body.get("adopt", [])
        if not isinstance(adopt, list) or not all(isinstance(name, str) and name for name in adopt):
            raise ApiError(400, "adopt is a list of names (KIND/NAME or NAME)")
        _check_target(body.get("target"), "swarm" if self.agent.swarm is not None else "host",
                      flags["prune_volumes"] or bool(adopt))
        return self._passed(self.agent.submit(Request(SYNC, **flags, adopt=frozenset(adopt))))

    def retry(self, kind: str, name: str) -> dict[str, Any]:
        if kind not in KINDS:
            raise ApiError(400, f"cannot retry a {kind!r}: the kinds are {', '.join(KINDS)}")
        key = resource_key(kind, name)
        declared = self.agent.desired.state
        if declared is not None and key not in {spec.key for spec in declared.specs()}:
            raise ApiError(404, f"{key} is not declared in {self.agent.root}")
        return {**self._passed(self.agent.submit(Request(RETRY, key=key))), "retried": key}

    def decide(self, kind: str, plan_id: str) -> dict[str, Any]:
        """Approve or reject (`kind`) the pending plan `plan_id` (reconciler.agent.approvals), in a
        pass of its own. A plan that is not the one the files and the engine give now is refused
        (409) with the fresh pending plan in the error body."""
        gate = self.agent.gate
        if gate is None:
            raise ApiError(409, f"this agent applies every change at once: nothing waits for approval "
                                f"(start it with --approve changes|all to {kind} plans)")
        if len(plan_id) != ID_LENGTH or not all(c in "0123456789abcdef" for c in plan_id):
            raise ApiError(400, f"{plan_id!r} is not a plan id ({ID_LENGTH} hex digits, as the status shows it)")
        request = self.agent.submit(Request(kind, plan_id=plan_id))
        answer = request.wait(PASS_TIMEOUT)
        if answer is None:
            raise ApiError(504, f"the pass did not end within {PASS_TIMEOUT:g}s; see /v1/status")
        outcome = request.outcome
        if outcome is None:
            why = "the agent is suspended" if self.agent.suspended else "no plan was made"
            raise ApiError(409, f"{why} in that pass (see /v1/status): plan {plan_id} was not {kind}d")
        if not outcome.done:
            raise ApiError(409, outcome.message, {"pending_plan": outcome.pending})
        return {"id": plan_id, "decision": kind, "message": outcome.message, "pass": answer or None,
                "pending_plan": outcome.pending}

    def _passed(self, request: Request) -> dict[str, Any]:
        answer = request.wait(PASS_TIMEOUT)
        if answer is None:
            raise ApiError(504, f"the pass did not end within {PASS_TIMEOUT:g}s; see /v1/status")
        last = self.agent.last_plan
        status = self.agent.status.snapshot()
        errors = [problem["text"] for problem in status["errors"]]
        return {"pass": answer or None, "plan": plan_data(last[0]) if last else None,
                "suspended": self.agent.suspended, "errors": errors, "warnings": _source_warnings(status["source"])}

    def suspend(self, suspended: bool) -> dict[str, Any]:
        try:
            self.agent.set_suspended(suspended)
        except OSError as error:
            raise ApiError(500, f"the suspension could not be recorded in the state directory: {error}") from None
        return {"suspended": suspended}


def _check_profiles(asked: Any, own: tuple[str, ...]) -> None:
    """A sync's `profiles` (an apply's `--profile`), when given, must be the agent's: it keeps its
    profiles for its life, so an apply of others is refused (409), as one of another directory is."""
    if asked is None:
        return
    if not isinstance(asked, list) or not all(isinstance(name, str) for name in asked):
        raise ApiError(400, "profiles is a list of profile names")
    if sorted(set(asked)) != sorted(own):
        shown = ", ".join(own) or "none"
        raise ApiError(409, f"this agent converges the profiles {shown}, not {', '.join(sorted(set(asked))) or 'none'}"
                            ": apply refused (restart the agent with the --profile options wanted)")


def _check_target(asked: Any, own: str, host_only: bool) -> None:
    """A sync's `target` (an apply's `--target`), when given, must be the agent's (one writer per
    engine and namespace: an apply of the other target is refused, 409, rather than run beside
    it); an agent on Swarm refuses `prune_volumes` and `adopt`, which its passes have no use for."""
    if asked is not None and asked not in ("host", "swarm"):
        raise ApiError(400, "target is host or swarm")
    if asked is not None and asked != own:
        raise ApiError(409, f"this agent converges --target {own}, not --target {asked}: apply refused "
                            f"(stop the agent, or apply with --target {own})")
    if own == "swarm" and host_only:
        raise ApiError(409, "prune_volumes and adopt do not apply to --target swarm: each node makes its named "
                            "volumes, and a service is not taken over")


def _source_warnings(source: dict[str, Any] | None) -> list[str]:
    """What a sync's caller must know of a git source: the fetch that failed, the revision refused
    (the revision in force stays)."""
    if not source:
        return []
    in_force = (source.get("revision") or "none")[:12]
    warnings = []
    if source.get("fetch_error"):
        warnings.append(f"fetch failed: {source['fetch_error']}; revision {in_force} stays in force")
    refused = source.get("refused")
    if refused:
        warnings.append(f"revision {refused['revision'][:12]} refused: {refused['reason']}; "
                        f"revision {in_force} stays in force")
    return warnings


_PATHS = frozenset(path for path in OPERATIONS if "{" not in path) | {"/v1/openapi.json"}


class _Handler(BaseHTTPRequestHandler):
    server: _UnixServer | _TLSServer
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()  # here, in the connection's thread, not in the accepting one
        super().setup()

    def do_GET(self) -> None:  # noqa: N802 (the http.server naming)
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._serve("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._serve("DELETE")

    def do_PATCH(self) -> None:  # noqa: N802
        self._serve("PATCH")

    def _serve(self, method: str) -> None:
        path = self.path.split("?", 1)[0]
        try:
            code, answer = self.server.api.handle(method, path, self._body())
        except ApiError as error:
            code, answer = error.code, {"schema_version": SCHEMA_VERSION, "error": {"message": str(error)},
                                        **error.extra}
        except Exception as error:  # a bug: the caller gets a 500 that says so, the agent goes on
            log.error("api.crashed", method=method, path=path, exc_info=error)
            code, answer = 500, {"schema_version": SCHEMA_VERSION,
                                 "error": {"message": f"{type(error).__name__}: {error}"}}
        log.info("api.request", method=method, path=path, code=code, **self.server.caller(self.request))
        data = json.dumps(answer, indent=2).encode() + b"\n"
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            raise ApiError(413, f"a body of at most {_MAX_BODY} bytes")
        if not length:
            return {}
        try:
            body = json.loads(self.rfile.read(length))
        except ValueError as error:
            raise ApiError(400, f"the body is not JSON: {error}") from None
        if not isinstance(body, dict):
            raise ApiError(400, "the body must be a JSON object")
        return body

    def log_message(self, format: str, *args: Any) -> None:
        return None  # each request is logged once, as api.request


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path: Path, api: Api, group: int) -> None:
        self.api, self.group = api, group
        super().__init__(str(path), _Handler)

    def caller(self, connection: socket.socket) -> dict[str, int]:
        pid, uid, gid = peer_credentials(connection)
        return {"pid": pid, "uid": uid, "gid": gid}

    def verify_request(self, request, client_address) -> bool:
        pid, uid, gid = peer_credentials(request)
        if may_control(uid, gid, self.group):
            return True
        log.warning("api.refused", pid=pid, uid=uid, gid=gid, reason="not root, the agent's user or in its group")
        return False


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], api: Api, context: ssl.SSLContext) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.api = api
        super().__init__(address, _Handler)
        self.socket = context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    def caller(self, connection: socket.socket) -> dict[str, Any]:
        peer = connection.getpeercert() if isinstance(connection, ssl.SSLSocket) else None
        subject = dict(item for rdn in (peer or {}).get("subject", ()) for item in rdn)
        return {"client": connection.getpeername()[0], "subject": subject.get("commonName", "")}


def tls_context(cert: str, key: str, ca: str) -> ssl.SSLContext:
    """A server context that asks every client for a certificate signed by `ca` (TLS 1.2+)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    context.load_verify_locations(ca)
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def group_id(name: str | None) -> int:
    """The gid of group `name` (a name or a number), or the agent's own group. Raises KeyError."""
    if name is None:
        return os.getegid()
    return int(name) if name.isdigit() else grp.getgrnam(name).gr_gid


class ControlServer:
    """The control API of `agent` on the unix socket `path` and, when `tls` is given, on TCP
    `tcp` ((host, port), with a `tls_context`), each from a daemon thread."""

    def __init__(self, agent: Agent, path: Path, group: int, tcp: tuple[str, int] | None = None,
                 tls: ssl.SSLContext | None = None) -> None:
        api = Api(agent)
        path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        path.unlink(missing_ok=True)  # left by an agent that died: the lock says no other runs
        umask = os.umask(0o177)  # no moment at which the socket is open to all
        try:
            self._servers: list[socketserver.BaseServer] = [_UnixServer(path, api, group)]
        finally:
            os.umask(umask)
        os.chown(path, -1, group)
        os.chmod(path, 0o660)
        self.path = path
        if tcp is not None and tls is not None:
            self._servers.append(_TLSServer(tcp, api, tls))
        self._threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.1},
                                          name="control-api", daemon=True) for s in self._servers]

    @property
    def tcp_address(self) -> tuple[str, int] | None:
        return self._servers[1].server_address[:2] if len(self._servers) > 1 else None

    def start(self) -> None:
        for thread in self._threads:
            thread.start()
        log.info("api.serving", socket=str(self.path), tcp=self.tcp_address)

    def stop(self) -> None:
        for server, thread in zip(self._servers, self._threads, strict=True):
            if thread.is_alive():
                server.shutdown()
            server.server_close()
        self.path.unlink(missing_ok=True)
