"""`pull = "newer"` against a real registry (`bench/registry_server.py`, htpasswd auth, its
credentials from a config.json as `--registry-config` names it), on the real engine:

- what a pass of 20 `newer` checks of images that did not move costs: the HTTP requests the
  registry's access log shows for the pass (by method and status; a layer is a `/blobs/` GET) and
  the pass's time, in process (`converge` with one `NewerChecks` kept across passes, as the agent
  keeps it); the first pass that checks learns the registry's auth, the next ones are the steady
  state;
- how fast a tag moved at the registry has its replacement running under `reconciler run` (a
  process, `--interval 1s`, `pull_interval = "1s"`): the clock starts when the manifest PUT that
  moves the tag returns and stops when the engine reports the container of that name running
  another image (one inspect every 10 ms); the agent's `image.checked` line splits each figure
  into waiting for the check and pulling and replacing. Each round starts from an idle agent,
  after a wait that grows by a tenth of a second each round, so the moves spread over the interval.
  The floor, in the same run: the engine pulling a new image of the same size through its API
  (with the same credentials), then creating and starting a container of it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import docker.errors

from bench import agent_bench
from bench.fixtures import IMAGE, client, engine_url, median, remove_all, timed
from bench.registry_server import USER, BenchRegistry
from reconciler.commands.context import newer_checks
from reconciler.converge import converge
from reconciler.images.authenticated import Authenticated
from reconciler.images.newer import MOVED, MemoryRecords
from reconciler.model import LABEL_MANAGED, ContainerSpec, DesiredState, Source
from runtime.docker import DockerRuntime

NAMESPACE = "bench-images"
NAME = f"{NAMESPACE}-app"
CHECKED = 20
ROUNDS = 5
INTERVAL = "1s"  # the agent's --interval and the image's pull_interval


def newer_state(refs: list[str]) -> DesiredState:
    """A sleeping container NAMESPACE-NN per reference, `pull = "newer"`, checked at every pass."""
    specs = [ContainerSpec(name=f"{NAMESPACE}-{i:02d}", image=ref, source=Source("bench.toml", i + 1), pull="newer",
                           pull_interval=0.0, command=("sleep", "3600"), init=True, stop_timeout=1)
             for i, ref in enumerate(refs)]
    return DesiredState(containers={spec.name: spec for spec in specs})


def twenty_checks(engine, registry: BenchRegistry, work: Path) -> list[tuple[float, Counter]]:
    """(seconds, requests the registry saw by "METHOD kind STATUS") of two passes checking CHECKED
    images that did not move: the first that checks, then one more."""
    refs = []
    for i in range(CHECKED):
        registry.push(engine, IMAGE, f"{NAMESPACE}/app-{i:02d}", "1")
        refs.append(f"{registry.host}/{NAMESPACE}/app-{i:02d}:1")
    config = registry.config_json(work)
    runtime = Authenticated(DockerRuntime(engine_url()), config)
    checks = newer_checks(argparse.Namespace(registry_config=str(config)), MemoryRecords())
    desired = newer_state(refs)
    if not converge(runtime, desired, NAMESPACE, checks=checks).converged:  # pulls and creates: no check yet
        raise SystemExit("image bench: the 20 containers did not converge")
    passes = []
    for _ in range(2):
        before = len(registry.requests_seen())
        seconds = timed(lambda: converge(runtime, desired, NAMESPACE, checks=checks))
        time.sleep(0.2)  # the access log line is written after the answer
        seen = registry.requests_seen()[before:]
        passes.append((seconds, Counter(f"{m} {'blob' if '/blobs/' in p else 'manifest'} {s}" for m, p, s in seen)))
    return passes


class NewerAgent(agent_bench.Agent):
    """`reconciler run` on `directory` with the registry's config.json, one-second passes."""

    def __init__(self, directory: Path, config: Path) -> None:
        work = directory.parent
        self.status_file = work / "status.json"
        self.log_path = work / "agent.log"
        self.log = open(self.log_path, "wb")  # noqa: SIM115 (closed by stop)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "--namespace", NAMESPACE, "run", str(directory),
             "--interval", INTERVAL, "--registry-config", str(config), "--state-dir", str(work / "state"),
             "--api-socket", str(work / "api.sock"), "--status-addr", "127.0.0.1:0",
             "--status-file", str(self.status_file)],
            stdout=self.log, stderr=subprocess.STDOUT)

    def checked_moved_at(self, digest: str) -> float:
        """When the agent logged the check that found the tag moved to `digest` (seconds since the epoch)."""
        def found() -> float | None:
            complete = self.log_path.read_text().splitlines(keepends=True)
            for record in (json.loads(line) for line in complete if line.startswith("{") and line.endswith("\n")):
                if record["event"] == "image.checked" and record.get("digest") == digest and record["outcome"] == MOVED:
                    return datetime.fromisoformat(record["timestamp"]).timestamp()
            return None

        return agent_bench.until(found, 30, f"the agent logged the move to {digest[:19]}")


def moved_to_running(engine, registry: BenchRegistry, work: Path) -> tuple[list[float], list[float]]:
    """(seconds from the tag's move to the replacement running, of which the wait for the check)
    per round."""
    repository = f"{NAMESPACE}/app"
    registry.push(engine, IMAGE, repository, "1")
    directory = work / "desired"
    directory.mkdir()
    (directory / "app.toml").write_text(
        f'[container.{NAME}]\nimage = "{registry.host}/{repository}:1"\npull = "newer"\npull_interval = "{INTERVAL}"\n'
        'command = ["sleep", "3600"]\ninit = true\nstop_timeout = 1\n')
    agent = NewerAgent(directory, registry.config_json(work))
    try:
        agent.converged(1)
        seconds, waiting = [], []
        for i in range(ROUNDS):
            registry.push_new(engine, IMAGE, repository, f"next-{i}")
            time.sleep(agent_bench.SETTLE + i / ROUNDS)
            before = engine.api.inspect_container(NAME)
            digest = registry.move(repository, f"next-{i}", "1")
            moved, started = time.time(), time.perf_counter()
            agent_bench.until(lambda old=before: replaced(engine, old), 60, "the replacement running")
            seconds.append(time.perf_counter() - started)
            waiting.append(agent.checked_moved_at(digest) - moved)
            agent.converged(1)
        return seconds, waiting
    finally:
        agent.stop()
        remove_all(engine, f"{LABEL_MANAGED}={NAMESPACE}")


def replaced(engine, before: dict) -> bool:
    """Whether a container named NAME other than `before` runs another image than it did."""
    try:
        now = engine.api.inspect_container(NAME)
    except docker.errors.NotFound:  # between the old one's rename and the new one's
        return False
    return now["Id"] != before["Id"] and now["State"]["Running"] and now["Image"] != before["Image"]


def floor(engine, registry: BenchRegistry) -> list[float]:
    """Seconds for the engine alone to pull a new image (as large as a moved one), create and start it."""
    repository, auth = f"{NAMESPACE}/floor", {"username": USER, "password": registry.password}
    figures = []
    for i in range(ROUNDS):
        registry.push_new(engine, IMAGE, repository, str(i))
        ref = f"{registry.host}/{repository}:{i}"
        started = time.perf_counter()
        engine.api.pull(f"{registry.host}/{repository}", str(i), auth_config=auth)
        container = engine.api.create_container(ref, command=["sleep", "3600"], name=f"{NAMESPACE}-floor-{i}",
                                                stop_timeout=1, labels={LABEL_MANAGED: NAMESPACE},
                                                host_config=engine.api.create_host_config(init=True))
        engine.api.start(container["Id"])
        agent_bench.until(lambda ident=container["Id"]: engine.api.inspect_container(ident)["State"]["Running"],
                          30, "the floor's container running")
        figures.append(time.perf_counter() - started)
        remove_all(engine, f"{LABEL_MANAGED}={NAMESPACE}")
    return figures


def drop_images(engine, registry: BenchRegistry) -> None:
    """Untag what the host holds under the registry's name, and remove the images that then have
    no tag and came from it (the replaced ones); the demo image pushed and pulled back is the demo
    image itself: it stays under its own tag."""
    ours = f"{registry.host}/"
    for image in engine.images.list():
        for tag in image.tags:
            if tag.startswith(ours):
                engine.images.remove(tag)
    for image in engine.images.list(filters={"dangling": True}):
        if any(digest.startswith(ours) for digest in image.attrs.get("RepoDigests") or ()):
            engine.images.remove(image.id)


def main() -> list[str]:
    engine = client()
    name = agent_bench.engine_name()
    registry = BenchRegistry()
    work = Path(tempfile.mkdtemp(prefix="bench-images-"))
    try:
        (first, cold), (steady, warm) = twenty_checks(engine, registry, work)
        remove_all(engine, f"{LABEL_MANAGED}={NAMESPACE}")
        pulled = floor(engine, registry)
        seconds, waiting = moved_to_running(engine, registry, work)
    finally:
        remove_all(engine, f"{LABEL_MANAGED}={NAMESPACE}")
        drop_images(engine, registry)
        registry.stop()
        shutil.rmtree(work, ignore_errors=True)
    spread = "median {:.2f} s (mean {:.2f}, min {:.2f}, max {:.2f}, {} rounds)".format

    def figure(values: list[float]) -> str:
        return spread(median(values), statistics.mean(values), min(values), max(values), len(values))

    def requests(seen: Counter) -> str:
        return f"{sum(seen.values())} requests ({', '.join(f'{n} {kind}' for kind, n in sorted(seen.items()))})"

    return [
        f"engine: {name} at {engine_url()}; registry: docker-registry with htpasswd auth at {registry.host}",
        f"pass checking {CHECKED} images that did not move, first: {first:.3f} s, {requests(cold)}",
        f"pass checking {CHECKED} images that did not move, next: {steady:.3f} s, {requests(warm)}",
        f"floor: the engine pulling a new image, create+start: {figure(pulled)}",
        f"tag moved -> replacement running, --interval {INTERVAL}, pull_interval {INTERVAL}: {figure(seconds)}; "
        f"overhead over pull+create+start {median(seconds) - median(pulled):.2f} s",
        f"  of which moved -> checked (waiting for the next due check): {figure(waiting)}",
    ]
