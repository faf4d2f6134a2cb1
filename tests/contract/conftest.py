"""One harness, two engines: the in-memory engine and the real private dockerd.

A contract test talks to `engine.runtime` only; what cannot go through the Runtime protocol
(a container dying or being changed by hand, a resource somebody else made) goes through the
harness, which does it the way each engine allows.
"""

from __future__ import annotations

import hashlib
import io
import random
import threading
import time
import uuid
from collections.abc import Callable

import docker.errors
import pytest

from reconciler.fields import Healthcheck
from reconciler.model import LABEL_MANAGED, ContainerSpec
from runtime.base import BuildFailed, Event, Runtime
from runtime.docker import DockerRuntime
from runtime.docker_observe import normalise_reference
from runtime.memory import MemoryRuntime
from tests.conftest import DEMO_IMAGE, VOLUME_IMAGE


class Harness:
    """What a contract test may ask besides the Runtime calls themselves."""

    def __init__(self, runtime: Runtime, namespace: str):
        self.runtime = runtime
        self.namespace = namespace
        self.built: list[str] = []  # the tags of the images a test built, removed by `cleanup`

    def name(self, short: str) -> str:
        return f"{self.namespace}-{short}"

    def labels(self, **extra: str) -> dict[str, str]:
        return {LABEL_MANAGED: self.namespace, **extra}

    def spec(self, short: str, **fields) -> ContainerSpec:
        """A long-running demo container that stops at once (init forwards SIGTERM)."""
        fields.setdefault("command", ("sleep", "300"))
        fields.setdefault("image", DEMO_IMAGE)
        return ContainerSpec(name=short, init=True, stop_timeout=1, **fields)

    def create(self, short: str, **fields) -> str:
        return self.runtime.create_container(self.spec(short, **fields), self.name(short), self.labels())

    def exiting(self, short: str, code: int) -> ContainerSpec:
        """A spec whose container exits with `code` right after it starts."""
        return self.spec(short, command=("sh", "-c", f"exit {code}"))

    def failing_healthcheck(self, short: str) -> ContainerSpec:
        return self.spec(short, healthcheck=Healthcheck(("CMD", "false"), interval=0.5, timeout=1, retries=1))

    def crash_looping(self, short: str) -> ContainerSpec:
        """A spec whose container exits with 1 right after each start, restarted by the engine."""
        return self.spec(short, command=("sh", "-c", "exit 1"), restart="always")

    def await_restarts(self, id: str, times: int) -> None:
        """Return once the engine has restarted the (crash looping, started) container `times` times."""
        raise NotImplementedError

    def subnet(self) -> str:
        return f"10.{random.randint(100, 199)}.{random.randint(0, 255)}.0/24"

    def kill_by_hand(self, id: str) -> None:
        raise NotImplementedError

    def down_runtime(self) -> Runtime:
        """A runtime of the same kind whose engine does not answer."""
        raise NotImplementedError

    def add_unowned_container(self, name: str, labels: dict[str, str] | None = None) -> None:
        raise NotImplementedError

    def mounted_volumes(self, id: str) -> dict[str, str]:
        """Container path -> name of the volume mounted there, for every volume the container
        mounts (named, anonymous, or from `volumes_from`)."""
        raise NotImplementedError

    def make_image(self, tag: str) -> str:
        """A local image of its own (DEMO_IMAGE with a label), tagged `tag`; returns its id."""
        raise NotImplementedError

    def unowned_image_id(self) -> str:
        """The image id of the containers `add_unowned_container` makes."""
        raise NotImplementedError

    def fails_next_build(self, ref: str) -> None:
        """The next build (of `ref`, whose Dockerfile has a failing step) fails: a real engine's
        builder fails by itself."""

    def execs(self, command: tuple[str, ...], exit_code: int | None, output: str = "") -> None:
        """A command run with exec ends with `exit_code` (None: still running at its time limit)
        and `output`: a real engine runs it and gets there by itself."""

    def cleanup(self) -> None:
        """Remove what the test made outside the namespace."""

    def collect_events(self, until: Callable[[list[Event]], bool], timeout: float = 15.0):
        """Run `events()` in a thread (started before this returns) and a function that waits
        until `until(events so far)` or the timeout, stops the stream and returns the events."""
        seen: list[Event] = []
        done = threading.Event()
        stream = self.runtime.events(self.namespace, done.is_set)
        thread = threading.Thread(target=lambda: seen.extend(stream), daemon=True)
        thread.start()

        def finish() -> list[Event]:
            deadline = time.monotonic() + timeout
            while not until(list(seen)) and time.monotonic() < deadline:
                time.sleep(0.05)
            done.set()
            thread.join(timeout=5)
            assert not thread.is_alive(), "events() did not end promptly after stop()"
            return seen

        return finish


class MemoryHarness(Harness):
    def __init__(self, namespace: str):
        volume_image_id = "sha256:" + "e" * 64
        runtime = MemoryRuntime(images={DEMO_IMAGE: "sha256:" + "d" * 64, VOLUME_IMAGE: volume_image_id},
                                image_volumes={volume_image_id: ["/data"]})
        super().__init__(runtime, namespace)

    def exiting(self, short: str, code: int) -> ContainerSpec:
        self.runtime.on_start(short, exit_code=code)
        return super().exiting(short, code)

    def failing_healthcheck(self, short: str) -> ContainerSpec:
        self.runtime.on_start(short, health="unhealthy")
        return super().failing_healthcheck(short)

    def kill_by_hand(self, id: str) -> None:
        self.runtime.kill(id)

    def await_restarts(self, id: str, times: int) -> None:
        self.runtime.restart_by_engine(id, times)

    def down_runtime(self) -> Runtime:
        down = MemoryRuntime()
        down.available = False
        return down

    def add_unowned_container(self, name: str, labels: dict[str, str] | None = None) -> None:
        self.runtime.add_unowned("container", name, labels)

    def mounted_volumes(self, id: str) -> dict[str, str]:
        return dict(self.runtime.containers[id].volumes)

    def make_image(self, tag: str) -> str:
        id = "sha256:" + hashlib.sha256(tag.encode()).hexdigest()
        self.runtime.images[normalise_reference(tag)] = id
        self.runtime.image_sizes[id] = 4096
        return id

    def unowned_image_id(self) -> str:
        return "sha256:unowned"

    def execs(self, command: tuple[str, ...], exit_code: int | None, output: str = "") -> None:
        self.runtime.on_exec(command, exit_code, output)

    def fails_next_build(self, ref: str) -> None:
        self.runtime.fail_next("build_image", BuildFailed(f"build {ref}: The command '/bin/sh -c false' returned a "
                                                          "non-zero code: 1"))


class DockerHarness(Harness):
    def __init__(self, client, namespace: str):
        super().__init__(DockerRuntime(), namespace)
        self.client = client
        self._unowned: list[str] = []
        self._volumes: set[str] = set()
        self._images: list[str] = []

    def kill_by_hand(self, id: str) -> None:
        self.client.containers.get(id).kill()

    def await_restarts(self, id: str, times: int, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while self.client.api.inspect_container(id)["RestartCount"] < times:
            assert time.monotonic() < deadline, f"not restarted {times} times in {timeout:g}s"
            time.sleep(0.1)

    def down_runtime(self) -> Runtime:
        return DockerRuntime(f"unix:///tmp/{self.namespace}-absent.sock")

    def add_unowned_container(self, name: str, labels: dict[str, str] | None = None) -> None:
        container = self.client.containers.create(DEMO_IMAGE, ["true"], name=name, labels=labels or {})
        self._unowned.append(container.id)

    def mounted_volumes(self, id: str) -> dict[str, str]:
        mounts = self.client.api.inspect_container(id)["Mounts"]
        found = {m["Destination"]: m["Name"] for m in mounts if m["Type"] == "volume"}
        self._volumes.update(found.values())
        return found

    def make_image(self, tag: str) -> str:
        dockerfile = io.BytesIO(f"FROM {DEMO_IMAGE}\nLABEL test.image={tag}\n".encode())
        image, _ = self.client.images.build(fileobj=dockerfile, tag=tag, rm=True)
        self._images.append(tag)
        return image.id

    def unowned_image_id(self) -> str:
        return self.client.images.get(DEMO_IMAGE).id

    def cleanup(self) -> None:
        for id in self._unowned:
            self.client.api.remove_container(id, force=True)
        for tag in self._images + self.built:
            try:
                self.client.api.remove_image(tag, force=True)
            except docker.errors.APIError:
                pass  # removed by the test
        for name in self._volumes:  # those still in use go with their containers (namespace fixture)
            try:
                self.client.api.remove_volume(name)
            except docker.errors.APIError:
                pass


@pytest.fixture(params=["memory", pytest.param("docker", marks=pytest.mark.integration)])
def engine(request):
    if request.param == "memory":
        harness: Harness = MemoryHarness(f"test-{uuid.uuid4().hex[:10]}")
    else:
        request.getfixturevalue("volume_image")
        harness = DockerHarness(request.getfixturevalue("docker_client"), request.getfixturevalue("namespace"))
    yield harness
    harness.cleanup()
