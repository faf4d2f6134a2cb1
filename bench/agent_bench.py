"""The agent (`reconciler run` as its own process) on the real engine: how fast a saved file and a
killed container are converged, and what an idle agent with 100 containers costs.

Latencies are taken from outside, as a user sees them: from the file write (or the `docker kill`)
to the engine reporting the new (or restarted) container running, polled every 10 ms. Each round
starts from an idle agent: a pass already under way (woken by the previous round's engine events)
would pick the edit up without the watcher's debounce and flatter the figure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bench.fixtures import IMAGE, client, median, remove_all, write_services

NAMESPACE = "bench-agent"
ROUNDS = 10
IDLE_CONTAINERS = int(os.environ.get("BENCH_CONTAINERS", "100"))
IDLE_SECONDS = 30.0
POLL = 0.01
SETTLE = 2.0  # after each round: the engine events it caused (read in 1 s windows) have woken the agent


class Agent:
    """`reconciler run` on `directory`, in namespace NAMESPACE, until `stop()`."""

    def __init__(self, directory: Path) -> None:
        self.status_file = directory.parent / "status.json"
        self.log = open(directory.parent / "agent.log", "wb")  # noqa: SIM115 (closed by stop)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "--namespace", NAMESPACE, "run", str(directory),
             "--interval", "30s", "--status-addr", "127.0.0.1:0", "--status-file", str(self.status_file)],
            stdout=self.log, stderr=subprocess.STDOUT,
        )

    def converged(self, resources: int, timeout: float = 300.0) -> None:
        def done() -> bool:
            try:
                status = json.loads(self.status_file.read_text())
            except (OSError, ValueError):
                return False
            last = status.get("last_pass") or {}
            states = [r["state"] for r in status.get("resources", [])]
            return last.get("result") == "converged" and states.count("converged") == resources

        until(done, timeout, "the agent converged")

    def settle(self) -> None:
        """Wait until the agent is idle again, so that no pass is under way when a round starts."""
        time.sleep(SETTLE)
        self.converged(1)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)
        self.log.close()


def until(check: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise SystemExit(f"agent bench: not within {timeout:g}s: {what}")
        time.sleep(POLL)
    return value


def service(name: str, greeting: str) -> str:
    """One sleeping container without a healthcheck: running is all there is to wait for."""
    return (f'[container.{name}]\nimage = "{IMAGE}"\ncommand = ["sleep", "3600"]\ninit = true\n'
            f'stop_timeout = 1\nenv = {{ GREETING = "{greeting}" }}\n')


def running_id(engine, name: str) -> tuple[str, str] | None:
    """(id, started at) of the running container of that name, if any."""
    found = engine.api.containers(filters={"name": f"^/?{name}$", "status": "running"})
    if not found:
        return None
    state = engine.api.inspect_container(found[0]["Id"])["State"]
    return found[0]["Id"], state["StartedAt"]


def moved_on(engine, name: str, before: tuple[str, str] | None) -> Callable[[], bool]:
    """True once a container of that name runs that is not `before`: another, or restarted."""

    def check() -> bool:
        now = running_id(engine, name)
        return now is not None and now != before

    return check


def file_to_running(engine, root: Path, agent: Agent, name: str) -> list[float]:
    """Seconds from saving an edited file to its replacement running, per round."""
    seconds = []
    for i in range(ROUNDS):
        before = running_id(engine, name)
        started = time.perf_counter()
        (root / "app.toml").write_text(service(name, f"round-{i}"))
        until(moved_on(engine, name, before), 30, "the replacement running")
        seconds.append(time.perf_counter() - started)
        agent.settle()
    return seconds


def kill_to_running(engine, agent: Agent, name: str) -> list[float]:
    """Seconds from `docker kill` to the container running again, per round. The kill is sent
    from a thread: Podman answers it only once it sees the container stopped, and when the agent
    has started it again by then, only after 20 s."""
    seconds = []
    for _ in range(ROUNDS):
        before = running_id(engine, name)
        started = time.perf_counter()
        threading.Thread(target=engine.api.kill, args=(before[0],), daemon=True).start()
        until(moved_on(engine, name, before), 30, "the container running again")
        seconds.append(time.perf_counter() - started)
        agent.settle()
    return seconds


def latencies() -> tuple[list[float], list[float]]:
    engine = client()
    work = Path(tempfile.mkdtemp(prefix="bench-agent-"))
    root = work / "desired"
    root.mkdir()
    name = f"{NAMESPACE}-app"
    (root / "app.toml").write_text(service(name, "start"))
    agent = Agent(root)
    try:
        agent.converged(1)
        return file_to_running(engine, root, agent, name), kill_to_running(engine, agent, name)
    finally:
        agent.stop()
        remove_all(engine, f"io.reconciler.managed={NAMESPACE}")
        shutil.rmtree(work)


def _cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def idle(count: int, seconds: float) -> tuple[float, float, float]:
    """(CPU %, mean RSS MiB, peak RSS MiB) of an agent with `count` converged containers, over
    `seconds` (which holds the periodic resync: the interval is 30 s)."""
    engine = client()
    work = Path(tempfile.mkdtemp(prefix="bench-agent-idle-"))
    root = work / "desired"
    root.mkdir()
    write_services(count, root)
    agent = Agent(root)
    try:
        agent.converged(count)
        pid = agent.process.pid
        time.sleep(2.0)
        rss = []
        ticks, wall = _cpu_ticks(pid), time.monotonic()
        while time.monotonic() - wall < seconds:
            rss.append(_rss_kib(pid))
            time.sleep(1.0)
        cpu = (_cpu_ticks(pid) - ticks) / os.sysconf("SC_CLK_TCK") / (time.monotonic() - wall) * 100
        return cpu, sum(rss) / len(rss) / 1024, max(rss) / 1024
    finally:
        agent.stop()
        remove_all(engine, f"io.reconciler.managed={NAMESPACE}")
        shutil.rmtree(work)


def engine_name() -> str:
    """The engine the agent runs on, as its own version answer names it."""
    version = client().version()
    podman = [c for c in version.get("Components") or () if c.get("Name") == "Podman Engine"]
    return f"Podman {podman[0]['Version']}" if podman else f"Docker {version.get('Version')}"


def main() -> list[str]:
    engine = engine_name()
    saved, killed = latencies()
    cpu, rss, peak = idle(IDLE_CONTAINERS, IDLE_SECONDS)
    spread = "median {:.2f} s (min {:.2f}, max {:.2f}, {} rounds)".format
    return [
        f"engine: {engine} at {os.environ.get('DOCKER_HOST')}",
        f"file saved -> replacement running: {spread(median(saved), min(saved), max(saved), len(saved))}",
        f"container killed -> running again: {spread(median(killed), min(killed), max(killed), len(killed))}",
        f"idle agent with {IDLE_CONTAINERS} containers over {IDLE_SECONDS:.0f} s: CPU {cpu:.2f} %, "
        f"RSS {rss:.1f} MiB mean, {peak:.1f} MiB peak",
    ]
