"""The agent's informer on the real engine: out-of-band changes seen through engine events, and
a lost event stream repaired by a relist."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable

import pytest

from reconciler.agent.informer import Informer
from reconciler.fields import NetworkAttachment
from reconciler.model import LABEL_MANAGED, ContainerSpec, NetworkSpec
from runtime.base import ObservedState
from runtime.docker import DockerRuntime
from tests.conftest import DEMO_IMAGE

pytestmark = pytest.mark.integration


def comparable(state: ObservedState) -> ObservedState:
    """Containers in id order, uptimes left out (a list reads them coarse, an inspect exact)."""
    containers = sorted((dataclasses.replace(c, up_seconds=None) for c in state.containers), key=lambda c: c.id)
    return dataclasses.replace(state, containers=tuple(containers))


class Following:
    """An informer fed by the runtime's event stream in a thread, as the agent runs it."""

    def __init__(self, runtime: DockerRuntime, namespace: str) -> None:
        self.runtime, self.namespace = runtime, namespace
        self.informer = Informer(runtime, namespace)
        self.woken: list[str] = []
        self.done = threading.Event()
        stream = runtime.events(namespace, self.done.is_set)
        self.thread = threading.Thread(target=self._follow, args=(stream,), daemon=True)
        self.thread.start()

    def _follow(self, stream) -> None:
        for event in stream:
            if self.informer.note(event):
                self.woken.append(f"{event.kind}:{event.action}")

    def names(self, short: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
        return {"container": tuple(f"{self.namespace}-{s}" for s in short),
                "network": (f"{self.namespace}-front",), "volume": ()}

    def stop(self) -> None:
        self.done.set()
        self.thread.join(timeout=5)


@pytest.fixture
def following(namespace):
    follower = Following(DockerRuntime(), namespace)
    yield follower
    follower.stop()


def until(check: Callable[[], object], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not within the timeout"
        time.sleep(0.05)


def run(runtime: DockerRuntime, namespace: str, short: str, **fields) -> str:
    spec = ContainerSpec(name=short, image=DEMO_IMAGE, command=("sleep", "300"), init=True, stop_timeout=1, **fields)
    id = runtime.create_container(spec, f"{namespace}-{short}", {LABEL_MANAGED: namespace})
    runtime.start_container(id)
    return id


def test_out_of_band_changes_reach_the_kept_observation_through_events(following, docker_client, namespace):
    runtime, informer = following.runtime, following.informer
    runtime.create_network(NetworkSpec(name=f"{namespace}-front"), {LABEL_MANAGED: namespace})
    web = run(runtime, namespace, "web", networks=(NetworkAttachment(f"{namespace}-front"),))
    db = run(runtime, namespace, "db")
    names = following.names(("web", "db", "job"))
    informer.observe(namespace, names)

    docker_client.containers.get(db).kill()
    docker_client.networks.get(f"{namespace}-front").disconnect(web)
    until(lambda: {"container:die", "network:disconnect"} <= set(following.woken))
    relists = informer.relists
    assert comparable(informer.observe(namespace, names)) == comparable(runtime.observe(namespace, names))
    assert informer.relists == relists  # read again one by one, nothing listed

    docker_client.containers.create(DEMO_IMAGE, ["sleep", "300"], name=f"{namespace}-job",
                                    labels={"io.reconciler.test": namespace})
    until(lambda: informer.observe(namespace, names).unowned.get("container"))
    assert informer.observe(namespace, names).unowned == {"container": {f"{namespace}-job"}}
    docker_client.containers.get(f"{namespace}-job").remove(force=True)


def test_a_lost_event_stream_is_repaired_by_a_relist(docker_client, namespace, proxy):
    runtime = DockerRuntime(f"unix://{proxy.path}")
    following = Following(runtime, namespace)
    try:
        informer = following.informer
        web = run(runtime, namespace, "web")
        names = following.names(("web",))
        informer.observe(namespace, names)
        relists = informer.relists
        proxy.cut()
        docker_client.containers.get(web).kill()
        time.sleep(1.0)
        proxy.serve()
        until(lambda: "engine:reconnected" in following.woken)
        observed = informer.observe(namespace, names)
        assert informer.relists == relists + 1
        assert [c.state for c in observed.containers] == ["exited"]
    finally:
        following.stop()
