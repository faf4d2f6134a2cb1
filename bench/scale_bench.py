"""A thousand managed containers on one host: observation, agent passes, reaction and idle cost.

The containers are spread over several networks (a Linux bridge holds at most 1023 interfaces)
and publish no ports (each published port costs a proxy process). Measured side by side in one
run, each against its floor:
- a full relist against one label-filtered container list call (the engine's own floor);
- an in-process agent pass with nothing to do, and one woken by a container's event, with the
  engine calls each makes (counted on the HTTP session);
- `reconciler run` as a process over the same containers: a `docker kill` until the container
  runs again (against a plain `docker start` of it), and its CPU and memory while idle over
  60 s, a periodic resync included, beside the engine's memory.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker.errors

from bench import agent_bench
from bench.fixtures import IMAGE, client, engine_url, median, timed
from reconciler.agent.loop import Agent
from reconciler.agent.status import Status
from reconciler.converge import converge
from reconciler.desired.loader import load
from reconciler.model import LABEL_MANAGED
from runtime.base import Event
from runtime.docker import DockerRuntime

COUNT = int(os.environ.get("BENCH_SCALE_CONTAINERS", "1000"))
PER_NETWORK = 250
NAMESPACE = agent_bench.NAMESPACE  # the agent process of agent_bench runs in it
ROUNDS = 20
IDLE_SECONDS = 60.0


def networks(count: int) -> int:
    return (count + PER_NETWORK - 1) // PER_NETWORK


def write_spread(count: int, root: Path) -> None:
    """`count` sleeping containers, PER_NETWORK per declared network, no ports."""
    lines = []
    for n in range(networks(count)):
        lines += [f"[network.bench-scale-{n}]", ""]
    for i in range(count):
        lines += [
            f"[container.bench-{i:04d}]", f'image = "{IMAGE}"', 'command = ["sleep", "3600"]', "init = true",
            "stop_timeout = 1", f'networks = ["bench-scale-{i // PER_NETWORK}"]', "",
        ]
    (root / "services.toml").write_text("\n".join(lines))


class Counted:
    """Counts the HTTP requests a runtime makes to the engine."""

    def __init__(self, runtime: DockerRuntime) -> None:
        self.requests: list[str] = []
        runtime.api.hooks["response"].append(lambda response, **_: self.requests.append(response.request.path_url))

    def during(self, action: Callable[[], object]) -> list[str]:
        before = len(self.requests)
        action()
        return self.requests[before:]


def relist_and_floor(runtime: DockerRuntime, root: Path) -> tuple[float, float, int]:
    """(median relist seconds, median label-filtered list seconds, calls per relist)."""
    desired = load(root).state
    names = {"container": tuple(desired.containers), "network": tuple(desired.networks), "volume": ()}
    owned = {"label": f"{LABEL_MANAGED}={NAMESPACE}"}
    counted = Counted(runtime)
    relists, floors = [], []
    for _ in range(ROUNDS // 2):
        relists.append(timed(lambda: runtime.observe(NAMESPACE, names, desired.images)))
        floors.append(timed(lambda: runtime.api.containers(all=True, filters=owned)))
    calls = counted.during(lambda: runtime.observe(NAMESPACE, names, desired.images))
    return median(relists), median(floors), len(calls)


def agent_passes(runtime: DockerRuntime, root: Path) -> tuple[float, int, float, list[str]]:
    """(median no-op pass seconds, its engine calls, median event-woken pass seconds, the
    event-woken pass's engine calls), in process, from a warm cache."""
    agent = Agent(root, runtime, NAMESPACE, Status(NAMESPACE, str(root), interval=30.0))
    agent.run_pass({"resync"})
    counted = Counted(runtime)
    noop, noop_calls = [], 0
    for _ in range(ROUNDS):
        noop.append(timed(lambda: agent.run_pass({"edit"})))
    noop_calls = len(counted.during(lambda: agent.run_pass({"edit"})))
    one = next(iter(runtime.observe(NAMESPACE).containers))
    died = Event("container", "die", one.name, one.id, attributes=dict(one.labels))
    woken, woken_calls = [], []
    for _ in range(ROUNDS):
        agent.informer.note(died)
        woken.append(timed(lambda: agent.run_pass({"event:container:die"})))
    agent.informer.note(died)
    woken_calls = counted.during(lambda: agent.run_pass({"event:container:die"}))
    if agent.status.snapshot()["last_pass"]["result"] != "converged":
        raise SystemExit("scale bench: the agent's passes did not converge")
    return median(noop), noop_calls, median(woken), woken_calls


def started_at(engine, name: str) -> str | None:
    """When the container of that name last started, if it runs: one inspect (a name-filtered
    list, as agent_bench polls, costs the engine a pass over every container)."""
    state = engine.api.inspect_container(name)["State"]
    return state["StartedAt"] if state["Running"] else None


def killed_until_running(engine, name: str, restart: Callable[[], object] = lambda: None) -> float:
    """Seconds from `docker kill` until the container runs again (after `restart()`, if any)."""
    before = started_at(engine, name)
    started = time.perf_counter()
    engine.api.kill(name)
    restart()
    agent_bench.until(lambda: started_at(engine, name) not in (None, before), 60, "the container running again")
    return time.perf_counter() - started


def plain_start(engine, name: str) -> float:
    """Seconds from `docker kill` to running again by a plain `docker start`, median of 10."""
    return median([killed_until_running(engine, name, lambda: engine.api.start(name)) for _ in range(10)])


def engine_rss_mib() -> float | None:
    """The engine daemon's resident memory (the private dockerd of scripts/engine.sh)."""
    found = subprocess.run(["pgrep", "-f", "dockerd.*reconciler-engine"], capture_output=True, text=True)
    pids = found.stdout.split()
    return agent_bench._rss_kib(int(pids[0])) / 1024 if pids else None


def with_agent(root: Path, engine) -> tuple[list[float], tuple[float, float, float], float | None]:
    """Kill -> running latencies, then idle cost, of `reconciler run` over the converged containers."""
    agent = agent_bench.Agent(root)
    try:
        agent.converged(COUNT + networks(COUNT), timeout=900)
        name = "bench-0500" if COUNT > 500 else "bench-0000"
        killed = []
        for _ in range(10):
            killed.append(killed_until_running(engine, name))
            time.sleep(agent_bench.SETTLE)
        pid = agent.process.pid
        rss, ticks, wall = [], agent_bench._cpu_ticks(pid), time.monotonic()
        while time.monotonic() - wall < IDLE_SECONDS:
            rss.append(agent_bench._rss_kib(pid))
            time.sleep(1.0)
        cpu = (agent_bench._cpu_ticks(pid) - ticks) / os.sysconf("SC_CLK_TCK") / (time.monotonic() - wall) * 100
        return killed, (cpu, statistics.mean(rss) / 1024, max(rss) / 1024), engine_rss_mib()
    finally:
        agent.stop()


def clean(engine) -> None:
    """Remove the benchmark's containers (on 8 workers), then its networks."""
    selector = {"label": f"{LABEL_MANAGED}={NAMESPACE}"}
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda c: c.remove(force=True), engine.containers.list(all=True, filters=selector)))
    for network in engine.networks.list(filters=selector):
        try:
            network.remove()
        except docker.errors.APIError as error:  # dockerd can keep endpoints of removed containers
            print(f"scale bench: network {network.name} left: {error.explanation}", file=sys.stderr)


def main() -> list[str]:
    engine = client()
    work = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    root = work / "desired"
    root.mkdir()
    write_spread(COUNT, root)
    runtime = DockerRuntime(engine_url(), max_pool_size=16)
    try:
        created = timed(lambda: converge(runtime, load(root).state, NAMESPACE))
        noop, noop_calls, woken, woken_calls = agent_passes(runtime, root)
        killed, (cpu, rss, peak), engine_rss = with_agent(root, engine)
        relist, floor, relist_calls = relist_and_floor(runtime, root)  # every container up for a minute now
        start = plain_start(engine, "bench-0001")
    finally:
        clean(engine)
        shutil.rmtree(work)
    spread = f"median {median(killed):.2f} s (min {min(killed):.2f}, max {max(killed):.2f})"
    engine_memory = f"engine RSS {engine_rss:.0f} MiB" if engine_rss else "engine RSS unknown"
    return [
        f"{COUNT} containers over {networks(COUNT)} networks, created in {created:.0f} s",
        f"full relist: {relist * 1000:.0f} ms median, {relist_calls} engine calls; floor (one label-filtered "
        f"container list): {floor * 1000:.0f} ms; ratio {relist / floor:.2f}",
        f"no-op agent pass (in process, cache warm): {noop * 1000:.1f} ms median, {noop_calls} engine calls",
        f"pass woken by one container's event: {woken * 1000:.1f} ms median, engine calls: "
        f"{', '.join(c.split('?')[0] for c in woken_calls) or 'none'}",
        f"docker kill -> running again, agent over {COUNT} containers: {spread}; a plain docker kill + docker "
        f"start: {start:.2f} s",
        f"idle agent with {COUNT} containers over {IDLE_SECONDS:.0f} s: CPU {cpu:.2f} %, RSS {rss:.1f} MiB mean, "
        f"{peak:.1f} MiB peak; {engine_memory}",
    ]
