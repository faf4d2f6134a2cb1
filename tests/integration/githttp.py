"""A private HTTP git server for the tests: git's own `http-backend` (CGI) behind a small threading
HTTP server on 127.0.0.1 that asks for basic auth with a user and password made in the test."""

from __future__ import annotations

import base64
import hmac
import os
import subprocess
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

HTTP_BACKEND = Path("/usr/lib/git-core/git-http-backend")
REALM = "reconciler tests"


class HttpGitServer:
    """Serves every repository under `root` at http://127.0.0.1:PORT/NAME to `username`:`password`
    only (anything else gets 401): fetches, and pushes whose request bodies have a Content-Length
    (git sends one up to its http.postBuffer, 1 MiB).

    `password` may be changed while the server runs (a rotated credential); `refused` counts the
    requests answered 401."""

    def __init__(self, root: Path, username: str, password: str) -> None:
        self.root, self.username, self.password = root, username, password
        self.refused = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]

    def url(self, name: str) -> str:
        """The URL of the repository `root`/`name` (no credential in it)."""
        return f"http://127.0.0.1:{self.port}/{name}"

    def start(self) -> None:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def authorised(self, header: str | None) -> bool:
        """Whether an `Authorization` header value carries this server's user and password."""
        expected = "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return header is not None and hmac.compare_digest(header.encode(), expected.encode())


def _handler(server: HttpGitServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._serve(b"")

        def do_POST(self) -> None:
            if "Content-Length" not in self.headers:
                self._answer(411, {"Content-Type": "text/plain"}, b"a Content-Length is required\n")
                return
            self._serve(self.rfile.read(int(self.headers["Content-Length"])))

        def _serve(self, body: bytes) -> None:
            if not server.authorised(self.headers.get("Authorization")):
                server.refused += 1
                self._answer(401, {"WWW-Authenticate": f'Basic realm="{REALM}"', "Content-Type": "text/plain"},
                             b"authentication required\n")
                return
            status, headers, content = run_backend(server.root, self.command, self.path, self.headers.items(),
                                                   server.username, body)
            self._answer(status, headers, content)

        def _answer(self, status: int, headers: dict[str, str], content: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def log_message(self, format: str, *args) -> None:
            """Quiet: the tests read the server's counters, not its access log."""

    return Handler


def run_backend(root: Path, method: str, target: str, headers: Iterable[tuple[str, str]], user: str,
                body: bytes) -> tuple[int, dict[str, str], bytes]:
    """Run git-http-backend for one request as CGI; returns (status, headers, content) of its answer."""
    parts = urlsplit(target)
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GIT_PROJECT_ROOT": str(root),
        "GIT_HTTP_EXPORT_ALL": "1",
        "GATEWAY_INTERFACE": "CGI/1.1",
        "REQUEST_METHOD": method,
        "PATH_INFO": parts.path,
        "QUERY_STRING": parts.query,
        "REMOTE_USER": user,
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_LENGTH": str(len(body)),
    }
    for name, value in headers:
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            environment[key] = value
        elif key not in ("AUTHORIZATION", "CONTENT_LENGTH"):
            environment[f"HTTP_{key}"] = value
    answer = subprocess.run([str(HTTP_BACKEND)], input=body, env=environment, capture_output=True, timeout=60)
    return parse_cgi(answer.stdout)


def parse_cgi(output: bytes) -> tuple[int, dict[str, str], bytes]:
    """Split git-http-backend's output (CRLF header lines) into (status, headers, content); status 200
    unless it says `Status:`."""
    head, _, content = output.partition(b"\r\n\r\n")
    headers = {}
    for line in head.decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        headers[name.strip()] = value.strip()
    status = headers.pop("Status", "200").split()[0]
    return int(status), headers, content
