"""Engine events about a namespace's resources, read as one stream.

One request streams container and network events from `since` on; container events carry the
container's labels and are kept when owned; network events name only the network and the
container, so a disconnect is kept when either of the two is owned (one inspect per disconnect,
which is rare). A thread closes the stream as soon as `stop()` holds, so a stop is prompt. When
the stream ends (the engine restarted or went away) it is opened again with `since` the last event
seen, with backoff while the engine does not answer, and an `engine reconnected` event says that
what happened meanwhile is unknown: a pass is due.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from reconciler.model import is_owned
from runtime import podman
from runtime.base import ENGINE_RECONNECTED, EngineError, EngineUnavailable, Event, NotFound
from runtime.capabilities import PODMAN
from runtime.docker_errors import engine_errors

if TYPE_CHECKING:
    from runtime.docker import DockerRuntime

CONTAINER_ACTIONS = ("die", "stop", "destroy", "health_status", "kill", "oom")
NETWORK_ACTIONS = ("disconnect",)
RETRY = 0.5  # seconds before the first new attempt when the engine does not answer
MAX_BACKOFF = 10.0
STOP_POLL = 0.1  # seconds between two looks at stop() while the stream is open
_NANOS = 1_000_000_000


def _timestamp(nanos: int) -> str:
    return f"{nanos // _NANOS}.{nanos % _NANOS:09d}"


def _subscribe(runtime: DockerRuntime, since: int):
    """The open event stream (docker's CancellableStream: `close()` ends it from any thread)."""
    names = podman.event_filter if runtime.capabilities.kind == PODMAN else list
    filters = {"type": ["container", "network"], "event": names(CONTAINER_ACTIONS + NETWORK_ACTIONS)}
    with engine_errors():
        return runtime.api.events(since=_timestamp(since), filters=filters, decode=True)


def _owned(probe: Callable[[], Mapping[str, str]], namespace: str) -> bool:
    try:
        return is_owned(probe(), namespace)
    except NotFound:
        return False


def _network_event_owned(runtime: DockerRuntime, raw: Mapping[str, Any], namespace: str) -> bool:
    """Whether the container a network event names is owned, or (Docker, which names the network
    too) the network; an event whose owner cannot be read is dropped: the periodic pass still
    converges."""
    actor = raw.get("Actor") or {}
    on_podman = runtime.capabilities.kind == PODMAN
    container = podman.network_event_container(raw) if on_podman else (actor.get("Attributes") or {}).get("container")
    try:
        return (container is not None and _owned(lambda: runtime.container_labels(container), namespace)) or (
            not on_podman and _owned(lambda: runtime.network_labels(actor.get("ID", "")), namespace))
    except EngineError:
        return False


def to_event(raw: Mapping[str, Any]) -> Event:
    """An engine event in Docker's words (Podman's `remove` is `destroy`)."""
    actor = raw.get("Actor") or {}
    return Event(
        kind=raw.get("Type", ""),
        action=podman.event_action(str(raw.get("Action", "")).split(":", 1)[0]),
        name=(actor.get("Attributes") or {}).get("name", ""),
        id=actor.get("ID", ""),
    )


def _sleep_unless_stopped(seconds: float, stop: Callable[[], bool]) -> None:
    deadline = time.monotonic() + seconds
    while not stop() and time.monotonic() < deadline:
        time.sleep(min(0.1, seconds))


def _kept(
    runtime: DockerRuntime, raw: Mapping[str, Any], namespace: str, healths: dict[str, str | None]
) -> Event | None:
    """The event as kept for `namespace`, or None; `healths` holds the health last reported per
    container, where the reconciler runs the checks."""
    if raw.get("Type") != "container":
        return to_event(raw) if _network_event_owned(runtime, raw, namespace) else None
    if not is_owned((raw.get("Actor") or {}).get("Attributes"), namespace):
        return None
    event = to_event(raw)
    if event.action == "destroy":
        healths.pop(event.id, None)
    elif event.action == "health_status" and not runtime.capabilities.runs_healthchecks:
        # each check the reconciler runs makes one, changed or not (Docker's come on a change)
        health = runtime.health(event.id)
        if healths.get(event.id, "") == health:
            return None
        healths[event.id] = health
    return event


def _close_on_stop(stream, stop: Callable[[], bool], ended: threading.Event) -> None:
    while not ended.wait(STOP_POLL):
        if stop():
            stream.close()
            return


def _read(stream) -> Iterator[Mapping[str, Any]]:
    """The stream's events until it ends: closed, or the engine went away."""
    try:
        with engine_errors():
            yield from stream
    except EngineError:
        return


def watch(runtime: DockerRuntime, namespace: str, stop: Callable[[], bool]) -> Iterator[Event]:
    """Events from the moment of this call on (not from the first `next`)."""
    return _watch(runtime, namespace, stop, since=time.time_ns())


def _watch(runtime: DockerRuntime, namespace: str, stop: Callable[[], bool], since: int) -> Iterator[Event]:
    backoff, checking, lost = RETRY, False, False
    healths: dict[str, str | None] = {}  # container id -> the health last reported
    while not stop():
        try:
            if not checking:
                runtime.start_healthchecks(namespace, stop)
                checking = True
            stream = _subscribe(runtime, since)
        except EngineUnavailable:
            _sleep_unless_stopped(backoff, stop)
            backoff, lost = min(backoff * 2, MAX_BACKOFF), True
            continue
        backoff = RETRY
        if lost:
            yield ENGINE_RECONNECTED
        ended = threading.Event()
        threading.Thread(target=_close_on_stop, args=(stream, stop, ended), name="events-stop", daemon=True).start()
        try:
            for raw in _read(stream):
                since = max(since, int(raw.get("timeNano") or 0) + 1)
                event = _kept(runtime, raw, namespace, healths)
                if event is not None:
                    yield event
        finally:
            ended.set()
            stream.close()
        lost = True
