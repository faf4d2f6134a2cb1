"""What the benchmarks share: an engine client, N-container desired states, cleanup, timing."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import docker

IMAGE = "localhost/demo:1"
NAMESPACE = "bench"


def client() -> docker.DockerClient:
    return docker.from_env(timeout=120, max_pool_size=32)


def write_services(count: int, directory: Path | None = None, greeting: str = "hello", prefix: str = "bench") -> Path:
    """A desired-state directory of `count` sleeping containers on the default bridge, named
    PREFIX-000, PREFIX-001, ... (another prefix keeps two benchmarks' containers apart)."""
    root = directory or Path(tempfile.mkdtemp(prefix="bench-"))
    lines = []
    for i in range(count):
        lines += [
            f"[container.{prefix}-{i:03d}]",
            f'image = "{IMAGE}"',
            'command = ["sleep", "3600"]',
            "init = true",
            "stop_timeout = 1",
            f'env = {{ GREETING = "{greeting}" }}',
            "",
        ]
    (root / "services.toml").write_text("\n".join(lines))
    return root


def remove_all(engine: docker.DockerClient, label: str) -> None:
    for container in engine.containers.list(all=True, filters={"label": label}):
        container.remove(force=True)


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def median(values: list[float]) -> float:
    return statistics.median(values)


def engine_url() -> str | None:
    return os.environ.get("DOCKER_HOST")
