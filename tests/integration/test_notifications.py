"""Notifications from a real agent process on the real engine, to a receiver on 127.0.0.1 that
checks them as a Standard Webhooks receiver should: signature, timestamp tolerance, ids seen."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from reconciler.agent.accounting import CRASHLOOP_AFTER
from runtime.capabilities import is_podman
from tests.integration.agents import RECONCILER, eventually, running, service

pytestmark = pytest.mark.integration

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
CANARY = "canary-9f3c2e71d4"


class Receiver:
    """An HTTP server on 127.0.0.1 keeping every request; `verify` makes it answer 400 to a
    request whose signature does not verify (standardwebhooks: also a timestamp more than 5
    minutes off) or whose `webhook-id` it has seen before."""

    def __init__(self, verify: bool = True) -> None:
        self.bodies: list[bytes] = []
        self.accepted: list[dict] = []
        self.refused: list[str] = []
        seen: set[str] = set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.bodies.append(body)
                code = 204
                if verify:
                    try:
                        payload = Webhook(SECRET).verify(body, dict(self.headers))
                        if self.headers["webhook-id"] in seen:
                            raise WebhookVerificationError("replayed: id seen before")
                        seen.add(self.headers["webhook-id"])
                        receiver.accepted.append({"payload": payload, "headers": dict(self.headers), "body": body})
                    except WebhookVerificationError as error:
                        receiver.refused.append(str(error))
                        code = 400
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def post(self, body: bytes, headers: dict[str, str]) -> int:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/", data=body, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                return answer.status
        except urllib.error.HTTPError as error:
            return error.code

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    started = Receiver()
    yield started
    started.stop()


def notify_config(tmp_path: Path, tables: str) -> str:
    secret = tmp_path / "hook.secret"
    secret.write_text(SECRET + "\n")
    os.chmod(secret, 0o600)
    path = tmp_path / "notify.toml"
    path.write_text(tables)
    os.chmod(path, 0o600)
    return str(path)


def webhook(port: int) -> str:
    return f'[[webhook]]\nurl = "http://127.0.0.1:{port}/"\nsecret_file = "hook.secret"\n'


def test_a_failed_replacement_sends_exactly_one_signed_notification_without_the_canary(
        desired, names, start_agent, docker_client, tmp_path, receiver):
    name = names("web")
    env_file = tmp_path / "env"
    env_file.write_text(f"CANARY={CANARY}\n")
    (desired / "web.toml").write_text(service(name, "${CANARY}"))
    agent = start_agent(extra=("--interval", "1s", "--env-file", str(env_file),
                               "--notify-config", notify_config(tmp_path, webhook(receiver.port))))
    agent.wait_converged(name)
    serving = running(docker_client, name).id
    (desired / "web.toml").write_text(service(name, "${CANARY}", extra=(
        'labels = { edited = "1" }\npost_start = [{ command = "sh -c \'echo no $GREETING >&2; exit 4\'" }]\n')))
    eventually(lambda: receiver.accepted, "a notification")
    # retries of the replacement (backoff 1s, 2s) up to the crash loop count; the next one is 4s away
    eventually(lambda: f"failed {CRASHLOOP_AFTER} time(s)" in agent.log.read_text(), "three failed attempts")
    [notification] = receiver.accepted
    payload = notification["payload"]
    assert (payload["kind"], payload["resource"]) == ("replacement_failed", f"container/{name}")
    assert "post_start hook 1 exited with code 4: no ***" in payload["message"]
    assert running(docker_client, name).id == serving
    assert receiver.post(notification["body"], notification["headers"]) == 400
    assert receiver.refused == ["replayed: id seen before"]
    assert all(CANARY.encode() not in body for body in receiver.bodies)


def test_a_replacement_that_keeps_failing_stays_failed_with_the_engines_error_and_is_told_once(
        desired, names, start_agent, docker_client, tmp_path, receiver):
    if is_podman(docker_client.version()):
        pytest.skip("Podman 4.3 does not refuse a published port that is taken: it forwards it, which cuts the test "
                    "off from the agent's own status port")
    name = names("taken")
    (desired / "web.toml").write_text(service(name))
    agent = start_agent(extra=("--interval", "1s", "--notify-config", notify_config(tmp_path, webhook(receiver.port))))
    agent.wait_converged(name)
    serving = running(docker_client, name).id
    # its new container cannot bind the agent's own status port: the engine refuses its start
    (desired / "web.toml").write_text(service(name, extra=f'ports = ["127.0.0.1:{agent.port}:80"]\n'))
    first = eventually(lambda: next((r for r in agent.status()["resources"] if r["state"] == "failed"), None),
                       "the replacement failed")
    eventually(lambda: f"failed {CRASHLOOP_AFTER + 1} time(s)" in agent.log.read_text(),
               "retries past the crash loop count", timeout=60)
    [web] = agent.status()["resources"]
    assert (web["state"], web["since"]) == ("failed", first["since"])
    assert "address already in use" in web["message"]
    assert "address already in use" in agent.get("/")[1]
    assert running(docker_client, name).id == serving
    assert [(n["payload"]["kind"], n["payload"]["resource"]) for n in receiver.accepted] == [
        ("replacement_failed", f"container/{name}")]


def test_no_op_passes_send_nothing(desired, names, start_agent, tmp_path, receiver):
    name = names("quiet")
    (desired / "quiet.toml").write_text(service(name))
    agent = start_agent(extra=("--interval", "1s", "--notify-config", notify_config(tmp_path, webhook(receiver.port))))
    agent.wait_converged(name)
    passes = agent.passes()
    eventually(lambda: agent.passes() >= passes + 3, "three more passes")
    assert receiver.bodies == []


def test_the_agent_keeps_converging_while_the_receiver_hangs(desired, names, start_agent, docker_client, tmp_path):
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(16)  # connections are taken by the kernel and never answered
    try:
        one, two = names("one"), names("two")
        (desired / "one.toml").write_text(service(one))
        agent = start_agent(extra=("--interval", "1s", "--notify-config",
                                   notify_config(tmp_path, webhook(hung.getsockname()[1]))))
        agent.wait_converged(one)
        docker_client.containers.get(one).stop(timeout=1)  # drift: a notification the receiver never answers
        eventually(lambda: running(docker_client, one), "the drift corrected")
        (desired / "two.toml").write_text(service(two))
        agent.wait_converged(one, two)
        assert agent.get("/healthz")[0] == 200
        assert "notification.sent" not in agent.log.read_text()
    finally:
        hung.close()


def test_an_apprise_url_delivers_through_apprise(desired, names, start_agent, docker_client, tmp_path):
    plain = Receiver(verify=False)
    try:
        name = names("chat")
        (desired / "chat.toml").write_text(service(name))
        tables = f'[[apprise]]\nurl = "json://127.0.0.1:{plain.port}/"\nevents = ["drift_corrected"]\n'
        agent = start_agent(extra=("--interval", "1s", "--notify-config", notify_config(tmp_path, tables)))
        agent.wait_converged(name)
        docker_client.containers.get(name).stop(timeout=1)
        body = eventually(lambda: plain.bodies and plain.bodies[0], "a message through apprise")
        message = json.loads(body)
        assert f"drift_corrected container/{name}" in message["title"]
        assert "drift corrected" in message["message"]
    finally:
        plain.stop()


def test_a_notify_config_others_may_read_is_refused(desired, tmp_path):
    path = notify_config(tmp_path, webhook(9))
    os.chmod(path, 0o644)
    done = subprocess.run([RECONCILER, "run", str(desired), "--notify-config", path], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1
    assert f"error: --notify-config: {path}: mode 0644" in done.stderr
