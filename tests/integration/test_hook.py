"""The forge webhook listener over real HTTP on 127.0.0.1: who may trigger a fetch, and how often."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping

import pytest
from structlog.testing import capture_logs

from reconciler.source import hook as hook_module
from reconciler.source.hook import ABUSIVE_PER_SECOND, MAX_BODY, HookServer
from tests.integration.agents import eventually

pytestmark = pytest.mark.integration

SECRET = "canary-hook-secret-5f1c"
BODY = b'{"ref": "refs/heads/main", "after": "0123abcd"}'
RATE = 0.3  # seconds between triggers in these tests


class Triggers:
    """The on_hook callback of a test: counts its calls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls = 0

    def __call__(self) -> None:
        with self._lock:
            self.calls += 1


def github_signature(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post(server: HookServer, body: bytes = BODY, headers: Mapping[str, str] | None = None, path: str = "/hook",
         method: str = "POST") -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection(*server.address, timeout=10)
    connection.request(method, path, body=body, headers=dict(headers or {}))
    answer = connection.getresponse()
    answer.read()
    connection.close()
    return answer


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "hook.secret"
    path.write_text(SECRET + "\n")
    return path


@pytest.fixture
def serve() -> Iterator[Callable[..., tuple[HookServer, Triggers]]]:
    """Start a HookServer on 127.0.0.1 (a free port) that counts its triggers; stopped afterwards."""
    servers = []

    def start(secret_file=None, **options) -> tuple[HookServer, Triggers]:
        triggers = Triggers()
        server = HookServer(("127.0.0.1", 0), secret_file, on_hook=triggers, rate=options.pop("rate", RATE), **options)
        server.start()
        servers.append(server)
        return server, triggers

    yield start
    for server in servers:
        server.stop()


def test_a_github_signed_post_triggers_a_fetch_once(serve, secret_file):
    server, triggers = serve(secret_file)
    answer = post(server, headers={"X-Hub-Signature-256": github_signature(BODY)})
    assert answer.status == 202
    time.sleep(RATE * 2)
    assert triggers.calls == 1


def test_a_gitlab_token_triggers_a_fetch(serve, secret_file):
    server, triggers = serve(secret_file)
    assert post(server, headers={"X-Gitlab-Token": SECRET}).status == 202
    assert triggers.calls == 1


def test_a_wrong_signature_gets_401_and_triggers_nothing(serve, secret_file):
    server, triggers = serve(secret_file)
    answer = post(server, headers={"X-Hub-Signature-256": github_signature(BODY, secret="guessed")})
    assert answer.status == 401
    time.sleep(RATE * 2)
    assert triggers.calls == 0


def test_a_missing_signature_gets_401_when_a_secret_is_configured(serve, secret_file):
    server, triggers = serve(secret_file)
    assert post(server).status == 401
    assert triggers.calls == 0


def test_without_a_secret_on_loopback_any_post_triggers(serve):
    server, triggers = serve()
    assert post(server, body=b"anything at all").status == 202
    assert triggers.calls == 1


def test_a_body_over_the_limit_is_refused_with_413_before_it_is_sent(serve, secret_file):
    server, triggers = serve(secret_file)
    connection = http.client.HTTPConnection(*server.address, timeout=10)
    connection.putrequest("POST", "/hook")
    connection.putheader("Content-Length", str(MAX_BODY + 1))
    connection.putheader("X-Gitlab-Token", SECRET)
    connection.endheaders()  # the body is never sent: the answer comes without it
    answer = connection.getresponse()
    connection.close()
    assert answer.status == 413
    assert triggers.calls == 0


def test_a_post_without_content_length_gets_411(serve):
    server, triggers = serve()
    connection = http.client.HTTPConnection(*server.address, timeout=10)
    connection.putrequest("POST", "/hook")
    connection.endheaders()
    answer = connection.getresponse()
    connection.close()
    assert answer.status == 411
    assert triggers.calls == 0


def test_a_body_that_does_not_arrive_in_time_gets_408_and_triggers_nothing(serve, monkeypatch):
    monkeypatch.setattr(hook_module, "READ_TIMEOUT", 0.5)
    server, triggers = serve()
    with socket.create_connection(server.address, timeout=10) as client:
        client.sendall(b"POST /hook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n0123456789")
        answer = client.recv(4096)
    assert answer.startswith(b"HTTP/1.0 408 ")
    assert triggers.calls == 0


def test_get_gets_405(serve):
    server, triggers = serve()
    answer = post(server, method="GET", body=None)
    assert (answer.status, answer.getheader("Allow")) == (405, "POST")
    assert triggers.calls == 0


def test_an_unknown_path_gets_404(serve):
    server, triggers = serve()
    assert post(server, path="/hooks").status == 404
    assert triggers.calls == 0


def test_a_call_within_the_window_is_not_lost_it_triggers_at_the_window_end(serve):
    server, triggers = serve()
    post(server)
    post(server)
    assert triggers.calls == 1
    eventually(lambda: triggers.calls == 2, "the pending trigger at the end of the window", timeout=RATE * 5)


def test_a_burst_of_20_posts_triggers_at_most_twice(serve, secret_file):
    server, triggers = serve(secret_file)
    signed = {"X-Hub-Signature-256": github_signature(BODY)}
    codes = {post(server, headers=signed).status for _ in range(20)}
    time.sleep(RATE * 3)
    assert codes <= {202, 429} and 202 in codes
    assert 1 <= triggers.calls <= 2


def test_more_calls_than_the_abusive_rate_from_one_client_get_429_with_retry_after(serve):
    server, triggers = serve(monotonic=lambda: 1000.5)  # every call falls within one second
    answers = [post(server) for _ in range(ABUSIVE_PER_SECOND + 2)]
    assert [a.status for a in answers] == [202] * ABUSIVE_PER_SECOND + [429, 429]
    assert answers[-1].getheader("Retry-After") == "1"


def test_outcomes_are_counted_for_metrics(serve, secret_file):
    outcomes = []
    server, _ = serve(secret_file, count=outcomes.append)
    post(server, headers={"X-Gitlab-Token": SECRET})
    post(server)
    post(server, path="/other")
    assert outcomes == ["accepted", "unauthorized", "not_found"]


def test_neither_the_secret_nor_a_signature_appears_in_the_logs(serve, secret_file):
    server, _ = serve(secret_file)
    good, wrong = github_signature(BODY), github_signature(BODY, secret="guessed")
    with capture_logs() as logs:
        post(server, headers={"X-Hub-Signature-256": good})
        post(server, headers={"X-Hub-Signature-256": wrong})
        post(server, headers={"X-Gitlab-Token": SECRET})
        post(server, headers={"X-Gitlab-Token": SECRET + "x"})
    events = [entry["event"] for entry in logs]
    assert events.count("hook.accepted") == 2 and events.count("hook.refused") == 2
    text = repr(logs)
    for secret_or_signature in (SECRET, good.removeprefix("sha256="), wrong.removeprefix("sha256=")):
        assert secret_or_signature not in text
