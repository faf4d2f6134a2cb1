"""Docker events survive the engine going away: shown through a socket proxy we can cut and restore
(the shared engine itself is never restarted by a test)."""

from __future__ import annotations

import threading
import time

import pytest

from reconciler.model import LABEL_MANAGED, ContainerSpec
from runtime.docker import DockerRuntime
from tests.conftest import DEMO_IMAGE

pytestmark = pytest.mark.integration


def test_events_resume_after_the_engine_was_unreachable(docker_client, namespace, proxy):
    runtime = DockerRuntime(f"unix://{proxy.path}")
    spec = ContainerSpec(name="web", image=DEMO_IMAGE, command=("sleep", "300"), init=True)
    id = runtime.create_container(spec, f"{namespace}-web", {LABEL_MANAGED: namespace})
    runtime.start_container(id)

    seen, done = [], threading.Event()
    stream = runtime.events(namespace, done.is_set)
    reader = threading.Thread(target=lambda: seen.extend(stream), daemon=True)
    reader.start()
    time.sleep(0.5)
    proxy.cut()
    time.sleep(1.5)
    proxy.serve()
    docker_client.containers.get(id).kill()

    deadline = time.monotonic() + 20
    while not any(e.action == "die" for e in seen) and time.monotonic() < deadline:
        time.sleep(0.1)
    done.set()
    reader.join(timeout=5)
    assert not reader.is_alive()
    assert ("container", "die", id) in {(e.kind, e.action, e.id) for e in seen}
