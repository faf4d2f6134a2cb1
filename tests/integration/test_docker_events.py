"""Docker events survive the engine going away: shown through a socket proxy we can cut and restore
(the shared engine itself is never restarted by a test)."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest

from reconciler.model import LABEL_MANAGED, ContainerSpec
from runtime.docker import DockerRuntime
from tests.conftest import DEMO_IMAGE

pytestmark = pytest.mark.integration


class SocketProxy:
    """A unix-socket relay to the engine socket; `cut()` drops it and every open connection."""

    def __init__(self, path: str, target: str):
        self.path, self.target = path, target
        self._listener: socket.socket | None = None
        self._open: list[socket.socket] = []

    def serve(self) -> None:
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(self.path)
        listener.listen()
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(self.target)
            self._open += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        assert self._listener is not None
        self._listener.close()
        os.unlink(self.path)
        for end in self._open:
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._open.clear()


@pytest.fixture
def proxy(docker_client, tmp_path):
    target = os.environ.get("DOCKER_HOST", "")
    if not target.startswith("unix://"):
        pytest.skip("the proxy relays a unix socket engine only")
    relay = SocketProxy(str(tmp_path / "engine.sock"), target.removeprefix("unix://"))
    relay.serve()
    return relay


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
