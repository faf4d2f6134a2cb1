"""The agent as a process, for the tests that drive `reconciler run`: its command line, its status,
and waiting for what it should do."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DEMO_IMAGE

RECONCILER = str(Path(sys.executable).with_name("reconciler"))
SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
# the project's private engines, which a test may stop and start: address -> their script
PRIVATE_ENGINES = {"unix:///run/reconciler-engine/docker.sock": SCRIPTS / "engine.sh",
                   "unix:///run/reconciler-podman/podman.sock": SCRIPTS / "podman.sh"}


def service(name: str, greeting: str = "hello", extra: str = "") -> str:
    """A container of the demo image that sleeps; stops are fast (init)."""
    return (f'[container.{name}]\nimage = "{DEMO_IMAGE}"\ncommand = ["sleep", "3600"]\ninit = true\n'
            f'stop_timeout = 1\nenv = {{ GREETING = "{greeting}" }}\n{extra}')


def eventually(check: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    """Poll `check` until it returns something truthy (which is returned), or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout:g}s: {what}")
        time.sleep(0.1)


class AgentProcess:
    """`reconciler run` on a directory (None: `extra` names a git source), its status on a free
    loopback port and in a file, its state directory private to the test (the same for each agent
    a test starts)."""

    def __init__(self, directory: Path | None, namespace: str, tmp_path: Path, engine: str | None = None,
                 extra: tuple[str, ...] = ()) -> None:
        self.status_file = tmp_path / "agent.status.json"
        self.log = tmp_path / "agent.log"
        command = [RECONCILER, "--namespace", namespace, "--log-level", "debug", "--state-dir", str(tmp_path / "state"),
                   "run", *([str(directory)] if directory else []), "--interval", "30s",
                   "--status-addr", "127.0.0.1:0",
                   "--status-file", str(self.status_file), *extra]
        if engine:
            command[1:1] = ["--engine", engine]
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        self.port = eventually(self._port, "the status server is listening")

    def _port(self) -> int | None:
        for line in self.log.read_text().splitlines():
            if '"status.serving"' in line:
                return json.loads(line)["port"]
        assert self.process.poll() is None, self.log.read_text()
        return None

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def status(self) -> dict:
        return json.loads(self.get("/status")[1])

    def states(self) -> dict[str, str]:
        return {r["name"]: r["state"] for r in self.status()["resources"]}

    def passes(self, result: str = "converged") -> float:
        found = re.search(rf'^reconciler_passes_total{{result="{result}"}} (\S+)$', self.get("/metrics")[1], re.M)
        return float(found.group(1)) if found else 0.0

    def wait_converged(self, *names: str) -> dict:
        def done():
            status = self.status()
            last = status["last_pass"]
            states = {r["name"]: r["state"] for r in status["resources"]}
            return last and last["result"] == "converged" and all(states.get(n) == "converged" for n in names)

        eventually(done, f"a converged pass with {names}")
        return self.status()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=20)



def running(docker_client, name: str):
    """The running container of that name, if any."""
    found = docker_client.containers.list(filters={"name": f"^/?{name}$", "status": "running"})
    return found[0] if found else None
