"""Cold apply of N containers against the raw SDK and docker-compose, and a no-op plan.

Like is compared with like: every contender creates and starts the same N `sleep` containers on
the default bridge, from the same image, one run after the other on the same engine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.fixtures import IMAGE, NAMESPACE, client, engine_url, remove_all, timed, write_services
from reconciler.converge import converge, make_plan, observe
from reconciler.desired.loader import load
from runtime.docker import DockerRuntime

N = int(os.environ.get("BENCH_CONTAINERS", "100"))


def raw_sdk(count: int, workers: int = 8) -> float:
    engine = client()

    def one(i: int) -> None:
        container = engine.containers.create(
            IMAGE, ["sleep", "3600"], name=f"raw-{i:03d}", init=True, stop_signal="SIGTERM",
            environment={"GREETING": "hello"}, labels={"bench": "raw"},
        )
        container.start()

    try:
        with ThreadPoolExecutor(workers) as pool:
            return timed(lambda: list(pool.map(one, range(count))))
    finally:
        remove_all(engine, "bench=raw")


def reconciler_apply(count: int) -> tuple[float, int]:
    root = write_services(count)
    runtime = DockerRuntime(engine_url())
    try:
        elapsed = timed(lambda: _apply(root, runtime))
        return elapsed, count
    finally:
        remove_all(client(), f"io.reconciler.managed={NAMESPACE}")
        shutil.rmtree(root)


def _apply(root: Path, runtime: DockerRuntime) -> None:
    result = load(root)
    report = converge(runtime, result.state, NAMESPACE)
    if not report.converged:
        raise SystemExit(f"apply did not converge: {report.failures[:3]}")


def noop_plan(count: int, rounds: int = 20) -> tuple[float, int]:
    """Median time of load + observe + diff + plan with `count` converged containers, and the
    number of engine API calls one observation makes."""
    root = write_services(count)
    runtime = DockerRuntime(engine_url())
    try:
        desired = load(root).state
        converge(runtime, desired, NAMESPACE)
        calls = _count_calls(runtime, lambda: observe(runtime, NAMESPACE, desired))
        times = []
        for _ in range(rounds):
            times.append(timed(lambda: make_plan(load(root).state, observe(runtime, NAMESPACE, desired), NAMESPACE)))
        times.sort()
        return times[len(times) // 2], calls
    finally:
        remove_all(client(), f"io.reconciler.managed={NAMESPACE}")
        shutil.rmtree(root)


def _count_calls(runtime: DockerRuntime, action) -> int:
    api = runtime.api
    calls = []
    original = api.send

    def counting(request, **kwargs):
        calls.append(request.url)
        return original(request, **kwargs)

    api.send = counting
    try:
        action()
    finally:
        api.send = original
    return len(calls)


def docker_compose(count: int) -> float | None:
    if shutil.which("docker-compose") is None:
        subprocess.run(["apt-get", "install", "-y", "-qq", "docker-compose"], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if shutil.which("docker-compose") is None:
        return None
    root = Path(tempfile.mkdtemp(prefix="bench-compose-"))
    services = ["version: '2.4'", "services:"]
    for i in range(count):
        services += [
            f"  c{i:03d}:",
            f"    image: {IMAGE}",
            "    command: [sleep, '3600']",
            "    init: true",
            "    network_mode: bridge",
            "    environment: {GREETING: hello}",
        ]
    (root / "docker-compose.yml").write_text("\n".join(services) + "\n")
    env = {**os.environ, "COMPOSE_PARALLEL_LIMIT": str(count + 10)}
    command = ["docker-compose", "-p", "benchcompose", "up", "-d"]
    try:
        return timed(lambda: subprocess.run(command, cwd=root, env=env, check=True,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    finally:
        subprocess.run(["docker-compose", "-p", "benchcompose", "down", "-t", "1"], cwd=root, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(root)


def main() -> list[str]:
    raw = raw_sdk(N)
    ours, _ = reconciler_apply(N)
    compose = docker_compose(N)
    plan_time, calls = noop_plan(N)
    lines = [
        f"cold start, {N} containers: raw SDK (8 threads) {raw:.2f} s; reconciler apply {ours:.2f} s "
        f"({ours / raw:.2f}x raw)",
        f"cold start, {N} containers: docker-compose up -d "
        + (f"{compose:.2f} s (reconciler is {compose / ours:.2f}x faster)" if compose else "not installed"),
        f"no-op plan with {N} managed containers: {plan_time * 1000:.0f} ms median (load + observe + diff + plan), "
        f"{calls} engine API calls per observation",
    ]
    return lines
