"""A replacement whose new container itself fails is tried once per spec, on the real engine with a
real agent process (directory mode): the old container keeps serving until the spec changes or a
`reconciler retry`."""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.integration.agents import RECONCILER, eventually, running, service

pytestmark = pytest.mark.integration

EXITS = 'command = ["sh", "-c", "sleep 0.3; exit 3"]\n'


def attempts(docker_client, name: str, since: float, spec_hash: str) -> int:
    """How many containers of another spec than `spec_hash` the engine created for `name` since
    `since` (unix time): the replacements tried."""
    events = docker_client.events(since=int(since), until=int(time.time()) + 1, decode=True,
                                  filters={"type": "container", "event": "create"})
    return sum(1 for e in events if e["Actor"]["Attributes"].get("io.reconciler.name") == name
               and e["Actor"]["Attributes"].get("io.reconciler.spec-hash") != spec_hash)


def test_a_replacement_that_exits_at_once_is_rolled_back_and_tried_once_until_retried(
        desired, names, start_agent, docker_client, namespace):
    name = names("web")
    (desired / "web.toml").write_text(service(name))
    agent = start_agent(extra=("--interval", "1s"))
    agent.wait_converged(name)
    container, since = running(docker_client, name), time.time() - 1
    serving, first = container.id, container.labels["io.reconciler.spec-hash"]
    (desired / "web.toml").write_text(service(name, "bonjour").replace('command = ["sleep", "3600"]\n', EXITS))
    message = eventually(lambda: "running the previous container" in (m := dict(
        (r["name"], r["message"]) for r in agent.status()["resources"]).get(name, "")) and m, "the quarantine")
    assert "exited with code 3" in message
    time.sleep(3)  # three resyncs: none tries the spec again
    assert running(docker_client, name).id == serving
    # Podman writes its event log behind the calls it answers: wait for the create to be in it
    assert eventually(lambda: attempts(docker_client, name, since, first), "the attempt's event", timeout=10) == 1
    retried = subprocess.run([RECONCILER, "--namespace", namespace, "retry", name], capture_output=True, text=True,
                             timeout=60)
    assert retried.returncode == 1 and f"retried container/{name}" in retried.stdout
    assert "pass failed" in retried.stdout
    assert attempts(docker_client, name, since, first) == 2
    assert running(docker_client, name).id == serving
    (desired / "web.toml").write_text(service(name, "hola"))
    eventually(lambda: (c := running(docker_client, name)) and c.id != serving and "GREETING=hola" in
               c.attrs["Config"]["Env"], "an edit replaced it")
