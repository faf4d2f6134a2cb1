"""N services on the single-node Swarm of `scripts/swarm.sh`: a cold `apply --target swarm` beside
the engine's floor (the raw SDK creating the same services on 8 threads) and the peer (`docker
stack deploy`), each timed until every task runs; then a no-op Swarm plan with its engine calls.

Every contender creates the same N services (one `sleep` task each, `init`, the same env) from
the same image, pinned to the digest a private registry holds (Swarm wants one), one after the
other on the same engine ($SWARM_HOST).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker

from bench.fixtures import IMAGE, NAMESPACE, timed
from bench.registry_server import BenchRegistry
from reconciler.desired.loader import load
from reconciler.swarm.converge import converge, observe
from reconciler.swarm.plan import make_plan
from runtime.swarm import connect_swarm

N = int(os.environ.get("BENCH_SERVICES", "100"))
REPOSITORY = "bench-swarm"


def swarm_url() -> str:
    url = os.environ.get("SWARM_HOST")
    if not url:
        raise SystemExit("swarm bench: set SWARM_HOST (scripts/swarm.sh ensure prints it)")
    return url


def swarm_client() -> docker.DockerClient:
    return docker.DockerClient(base_url=swarm_url(), timeout=120, max_pool_size=32)


def all_running(engine: docker.DockerClient, label: str, count: int, limit: float = 600) -> None:
    """Wait until `count` tasks of the services labelled `label` run."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        tasks = engine.api.tasks(filters={"label": label, "desired-state": "running"})
        if sum(1 for t in tasks if t["Status"]["State"] == "running") >= count:
            return
        time.sleep(0.2)
    raise SystemExit(f"swarm bench: {count} tasks of {label} not running within {limit:g} s")


def remove_services(engine: docker.DockerClient, label: str) -> None:
    for service in engine.services.list(filters={"label": label}):
        service.remove()
    deadline = time.monotonic() + 300
    while engine.containers.list(all=True, filters={"label": f"com.docker.stack.namespace={label}"}) or \
            engine.api.tasks(filters={"label": label}):
        if time.monotonic() > deadline:
            return
        time.sleep(0.5)


def raw_sdk(engine: docker.DockerClient, ref: str, count: int, workers: int = 8) -> float:
    def one(i: int) -> None:
        task = docker.types.TaskTemplate(docker.types.ContainerSpec(
            ref, command=["sleep", "3600"], env=["GREETING=hello"], init=True))
        engine.api.create_service(task, name=f"raw-{i:03d}", labels={"bench.raw": "1"})

    def run() -> None:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(one, range(count)))
        all_running(engine, "bench.raw", count)

    try:
        return timed(run)
    finally:
        remove_services(engine, "bench.raw")


def write_stack(count: int, ref: str) -> Path:
    root = Path(tempfile.mkdtemp(prefix="bench-swarm-"))
    lines = []
    for i in range(count):
        lines += [f"[container.svc-{i:03d}]", f'image = "{ref}"', 'command = ["sleep", "3600"]', "init = true",
                  'env = { GREETING = "hello" }', ""]
    (root / "services.toml").write_text("\n".join(lines))
    return root


def reconciler_apply(engine: docker.DockerClient, ref: str, count: int) -> float:
    root = write_stack(count, ref)
    runtime = connect_swarm(swarm_url())

    def run() -> None:
        report = converge(runtime, load(root).state, NAMESPACE)
        if not report.converged:
            raise SystemExit(f"swarm bench: apply did not converge: {[r.error for r in report.failures[:3]]}")
        all_running(engine, f"io.reconciler.managed={NAMESPACE}", count)

    try:
        return timed(run)
    finally:
        remove_services(engine, f"io.reconciler.managed={NAMESPACE}")
        shutil.rmtree(root)


def stack_deploy(engine: docker.DockerClient, ref: str, count: int) -> float:
    root = Path(tempfile.mkdtemp(prefix="bench-stack-"))
    lines = ["version: '3.8'", "services:"]
    for i in range(count):
        lines += [f"  s{i:03d}:", f"    image: {ref}", "    command: [sleep, '3600']", "    init: true",
                  "    environment: {GREETING: hello}"]
    (root / "stack.yml").write_text("\n".join(lines) + "\n")
    env = {**os.environ, "DOCKER_HOST": swarm_url()}
    command = ["docker", "stack", "deploy", "--resolve-image", "always", "-c", str(root / "stack.yml"), "benchstack"]

    def run() -> None:
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        all_running(engine, "com.docker.stack.namespace=benchstack", count)

    try:
        return timed(run)
    finally:
        subprocess.run(["docker", "stack", "rm", "benchstack"], env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        remove_services(engine, "com.docker.stack.namespace=benchstack")
        shutil.rmtree(root)


def noop_plan(engine: docker.DockerClient, ref: str, count: int, rounds: int = 10) -> tuple[float, int]:
    """Median time of load + observe + diff + plan with `count` converged services, and the number
    of engine API calls one observation makes."""
    root = write_stack(count, ref)
    runtime = connect_swarm(swarm_url())
    try:
        desired = load(root).state
        converge(runtime, desired, NAMESPACE)
        all_running(engine, f"io.reconciler.managed={NAMESPACE}", count)  # converged: Swarm starts no more tasks
        api = runtime._client()
        calls, send = [], api.send

        def counting(request, **kwargs):
            calls.append(request.url)
            return send(request, **kwargs)

        api.send = counting
        try:
            observe(runtime, NAMESPACE, desired)
        finally:
            api.send = send
        times = sorted(timed(lambda: make_plan(load(root).state, observe(runtime, NAMESPACE, desired), NAMESPACE))
                       for _ in range(rounds))
        return times[len(times) // 2], len(calls)
    finally:
        remove_services(engine, f"io.reconciler.managed={NAMESPACE}")
        shutil.rmtree(root)


def main() -> list[str]:
    engine = swarm_client()
    registry = BenchRegistry(auth=False)
    try:
        registry.push(engine, IMAGE, REPOSITORY, "1")
        ref = f"{registry.host}/{REPOSITORY}:1"
        raw = raw_sdk(engine, ref, N)
        ours = reconciler_apply(engine, ref, N)
        peer = stack_deploy(engine, ref, N)
        plan_time, calls = noop_plan(engine, ref, N)
    finally:
        registry.stop()
    return [
        f"cold start, {N} services until every task runs: raw SDK (8 threads) {raw:.2f} s; "
        f"reconciler apply --target swarm {ours:.2f} s ({ours / raw:.2f}x raw); docker stack deploy {peer:.2f} s "
        f"(reconciler is {peer / ours:.2f}x faster)",
        f"no-op swarm plan with {N} services: {plan_time * 1000:.0f} ms median (load + observe + diff + plan), "
        f"{calls} engine API calls per observation",
    ]
