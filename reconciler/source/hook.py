"""The forge webhook listener: `POST /hook` asks the agent to fetch its repository now, nothing else.

    hook = HookServer(("0.0.0.0", 9111), Path("/etc/reconciler/hook.secret"), on_hook=agent.wake_fetch)
    hook.start()            # a daemon thread; hook.address is the bound (host, port)
    hook.stop()

DESIGN section 10: the webhook has its own listener, only triggers a fetch, never trusts the
payload (its bytes are read only to check a signature; a push event's commit or ref is never
used: the agent fetches and decides itself) and requires a secret unless it listens on loopback.

A call proves that its sender knows the secret with any one of (each compared in constant time):
- GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`
  (https://docs.github.com/webhooks/using-webhooks/validating-webhook-deliveries);
- GitLab: `X-Gitlab-Token: <the secret>`
  (https://docs.gitlab.com/ee/user/project/integrations/webhooks.html#validate-payloads-by-using-a-secret-token);
- Gitea and Forgejo: `X-Gitea-Signature` or `X-Forgejo-Signature: <hex HMAC-SHA256 of the raw body>`.

Answers: 202 accepted (the fetch is triggered, or one is pending already); 401 no valid signature;
404 another path; 405 another method; 411 no Content-Length; 413 a body over MAX_BODY (refused
before it is read); 408 a body that did not arrive whole within READ_TIMEOUT; 429 (with
`Retry-After: 1`) a client that sent more than ABUSIVE_PER_SECOND calls within the current second.
Triggers are throttled: at most one `on_hook()` per `rate` seconds; the calls of a burst coalesce
into one trigger at the end of the window, so a push that arrives during a fetch is fetched too.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
import threading
import time
from collections.abc import Callable, Mapping
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import structlog

from reconciler.agent.status import parse_address

log = structlog.get_logger("reconciler.hook")

HOOK_PATH = "/hook"
MAX_BODY = 1024 * 1024  # bytes: GitHub caps its payloads at 25 MB, a push event is a few KiB
READ_TIMEOUT = 5.0  # seconds a client has to send its request line, each header line, and its whole body
DEFAULT_RATE = 1.0  # seconds between two triggers at least
ABUSIVE_PER_SECOND = 10  # calls from one address within one second beyond which it gets 429
MAX_CONNECTIONS = 64  # open connections at once; more are closed unanswered

# (header, prefix of its value before the hex HMAC-SHA256 of the body)
_HMAC_HEADERS = (("X-Hub-Signature-256", "sha256="), ("X-Gitea-Signature", ""), ("X-Forgejo-Signature", ""))
_TOKEN_HEADER = "X-Gitlab-Token"


def parse_hook_address(text: str) -> tuple[str, int]:
    """`HOST:PORT`, `[IPv6]:PORT` or `:PORT` (loopback) -> (host, port); ValueError otherwise."""
    try:
        return parse_address(text)
    except ValueError:
        raise ValueError(f"hook address {text!r} is not HOST:PORT") from None


def is_loopback(host: str) -> bool:
    """Whether `host` (an IP address or `localhost`) is a loopback address. Anything else,
    a wildcard or a DNS name included, is not: a listener there needs a secret."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_secret(path: Path) -> bytes:
    """The secret in `path`, without one trailing line ending. ValueError (naming the file,
    never its content) when it cannot be read or is empty."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ValueError(f"hook secret file {path}: {error.strerror or error}") from None
    secret = data.removesuffix(b"\n").removesuffix(b"\r")
    if not secret:
        raise ValueError(f"hook secret file {path} is empty")
    return secret


def check_signature(secret: bytes, body: bytes, headers: Mapping[str, str] | Message) -> tuple[bool, str]:
    """(True, the header that proved it) when one of the forges' headers shows that the sender
    knows `secret`; else (False, "missing signature" or "bad signature"). `headers` is looked up
    by the headers' canonical names (http.server's are case-insensitive). Never returns a value."""
    presented = False
    for name, prefix in _HMAC_HEADERS:
        given = headers.get(name)
        if given is not None:
            presented = True
            expected = prefix + hmac.new(secret, body, hashlib.sha256).hexdigest()
            if hmac.compare_digest(expected.encode(), given.strip().encode("latin-1", "replace")):
                return True, name
    token = headers.get(_TOKEN_HEADER)
    if token is not None:
        presented = True
        if hmac.compare_digest(secret, token.strip().encode("latin-1", "replace")):
            return True, _TOKEN_HEADER
    return False, "bad signature" if presented else "missing signature"


class Throttle:
    """At most one trigger per `rate` seconds; asks within the window coalesce into one pending
    trigger at its end. Times are seconds on one monotonic clock, given by the caller."""

    def __init__(self, rate: float) -> None:
        if rate < 0:
            raise ValueError(f"hook rate {rate} is negative")
        self.rate = rate
        self._last = float("-inf")
        self._pending = False

    def ask(self, now: float) -> float | None:
        """Seconds until the trigger is due (0.0: now), or None when one is pending already."""
        if self._pending:
            return None
        self._pending = True
        return max(0.0, self._last + self.rate - now)

    def fired(self, now: float) -> None:
        """The pending trigger ran at `now`."""
        self._pending = False
        self._last = now


class Flood:
    """Calls per client address within the current whole second (the table starts afresh each second)."""

    def __init__(self) -> None:
        self._second = -1
        self._calls: dict[str, int] = {}

    def count(self, client: str, now: float) -> int:
        """Record a call from `client` at `now` (seconds); the number of its calls in this second."""
        second = int(now)
        if second != self._second:
            self._second, self._calls = second, {}
        self._calls[client] = self._calls.get(client, 0) + 1
        return self._calls[client]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = READ_TIMEOUT  # the socket's: a silent client is dropped

    def do_POST(self) -> None:  # noqa: N802 (the http.server naming)
        hook = self.server.hook
        client = self.client_address[0]
        if self.path.split("?", 1)[0] != HOOK_PATH:
            self._answer(404, "not_found", f"not found: POST {HOOK_PATH}")
            return
        calls = hook.flood(client)
        if calls > ABUSIVE_PER_SECOND:
            if calls == ABUSIVE_PER_SECOND + 1:
                log.warning("hook.refused", reason="too many calls", client=client)
            self._answer(429, "rate_limited", "too many calls", {"Retry-After": "1"})
            return
        length = self.headers.get("Content-Length")
        if length is None or self.headers.get("Transfer-Encoding"):
            self._refuse(411, "length_required", "a body needs a Content-Length")
        elif not length.strip().isdigit():
            self._refuse(400, "bad_request", "Content-Length is not a number")
        elif int(length) > MAX_BODY:
            self._refuse(413, "too_large", f"a body of at most {MAX_BODY} bytes")
        else:
            body = self._read_body(int(length))
            if body is None:
                self._refuse(408, "timeout", f"the body did not arrive whole within {READ_TIMEOUT:g}s")
                return
            ok, proof = check_signature(hook.secret, body, self.headers) if hook.secret else (True, "no secret")
            if not ok:
                self._refuse(401, "unauthorized", proof)
                return
            log.info("hook.accepted", client=client, proof=proof, trigger=hook.trigger())
            self._answer(202, "accepted")

    def do_GET(self) -> None:  # noqa: N802
        self._answer(405, "method_not_allowed", f"only POST {HOOK_PATH}", {"Allow": "POST"})

    do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET  # noqa: N815

    def _read_body(self, length: int) -> bytes | None:
        """The body's `length` bytes, or None when they do not all arrive within READ_TIMEOUT."""
        deadline = time.monotonic() + READ_TIMEOUT
        chunks: list[bytes] = []
        while length:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.connection.settimeout(left)
            try:
                chunk = self.rfile.read1(min(length, 65536))
            except TimeoutError:
                return None
            if not chunk:
                return None
            chunks.append(chunk)
            length -= len(chunk)
        return b"".join(chunks)

    def _refuse(self, code: int, outcome: str, reason: str) -> None:
        log.warning("hook.refused", reason=reason, code=code, client=self.client_address[0])
        self._answer(code, outcome, reason)

    def _answer(self, code: int, outcome: str, message: str = "", headers: Mapping[str, str] | None = None) -> None:
        self.server.hook.count(outcome)
        body = json.dumps({"error": message} if code >= 400 else {"status": outcome}).encode() + b"\n"
        self.close_connection = True  # an unread body must not be taken for the next request
        try:
            self.send_response(code)
            for name, value in {**(headers or {}), "Content-Type": "application/json",
                                "Content-Length": str(len(body)), "Connection": "close"}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except OSError as error:
            log.debug("hook.unanswered", client=self.client_address[0], error=str(error))

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("hook.request", client=self.client_address[0], request=format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], hook: HookServer) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.hook = hook
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            log.warning("hook.refused", reason="too many connections", client=client_address[0])
            self.hook.count("busy")
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


class HookServer:
    """`POST /hook` on `address` (host, port; port 0 picks a free one), from a daemon thread.

    `secret_file`: the shared secret (read now; ValueError if unreadable or empty); None is
    allowed on a loopback address only (ValueError elsewhere, before anything is bound).
    `on_hook()`: asks for a fetch; called at most once per `rate` seconds, from the server's
    threads, so it must only signal (set an event, queue a request), not fetch.
    `count(outcome)`: called once per call, from the server's threads, with accepted,
    unauthorized, too_large, length_required, bad_request, timeout, rate_limited, not_found,
    method_not_allowed or busy (a connection closed unanswered: MAX_CONNECTIONS are open)."""

    def __init__(self, address: tuple[str, int], secret_file: Path | None, on_hook: Callable[[], None],
                 rate: float = DEFAULT_RATE, count: Callable[[str], None] | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        host, port = address
        if secret_file is None and not is_loopback(host):
            raise ValueError(f"the webhook listener on {host}:{port} needs a secret (--hook-secret-file): "
                             "only a loopback address may go without one")
        self.secret = read_secret(secret_file) if secret_file is not None else None
        self.count = count or (lambda outcome: None)
        self._on_hook = on_hook
        self._monotonic = monotonic
        self._throttle = Throttle(rate)
        self._flood = Flood()
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._stopped = False
        self._server = _Server(address, self)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="hook-http", daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        """The bound (host, port)."""
        return self._server.server_address[:2]

    def start(self) -> None:
        self._thread.start()
        log.info("hook.serving", host=self.address[0], port=self.address[1], secret=self.secret is not None)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            if self._timer is not None:
                self._timer.cancel()
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def flood(self, client: str) -> int:
        """Record a call from `client`: its number of calls within the current second."""
        with self._lock:
            return self._flood.count(client, self._monotonic())

    def trigger(self) -> str:
        """Ask for a fetch: "now" (on_hook ran), "scheduled" (at the end of the throttle's window)
        or "coalesced" (a trigger is pending already)."""
        with self._lock:
            wait = self._throttle.ask(self._monotonic())
            if wait is None:
                return "coalesced"
            if wait > 0:
                self._timer = threading.Timer(wait, self._fire)
                self._timer.daemon = True
                self._timer.start()
                return "scheduled"
        self._fire()
        return "now"

    def _fire(self) -> None:
        with self._lock:
            self._throttle.fired(self._monotonic())
            if self._stopped:
                return
        try:
            self._on_hook()
        except Exception as error:  # the agent's callback failed: the listener goes on
            log.error("hook.trigger_failed", error=f"{type(error).__name__}: {error}")
