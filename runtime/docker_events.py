"""Engine events, read as one stream.

One request streams every container, network, volume and image event of `EVENT_ACTIONS` from
`since` on, whoever owns the resource: the agent's informer decides what concerns it (an unowned
container may take a desired name). A thread closes the stream as soon as `stop()` holds, so a
stop is prompt. When the stream ends (the engine restarted or went away) it is opened again with
`since` the last event seen, with backoff while the engine does not answer, and an `engine
reconnected` event says that what happened meanwhile is unknown: a relist and a pass are due.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from runtime import podman
from runtime.base import ENGINE_RECONNECTED, EVENT_ACTIONS, EngineError, EngineUnavailable, Event
from runtime.capabilities import PODMAN
from runtime.docker_errors import engine_errors

if TYPE_CHECKING:
    from runtime.docker import DockerRuntime

RETRY = 0.5  # seconds before the first new attempt when the engine does not answer
MAX_BACKOFF = 10.0
STOP_POLL = 0.1  # seconds between two looks at stop() while the stream is open
_NANOS = 1_000_000_000


def _timestamp(nanos: int) -> str:
    return f"{nanos // _NANOS}.{nanos % _NANOS:09d}"


def _subscribe(runtime: DockerRuntime, since: int):
    """The open event stream (docker's CancellableStream: `close()` ends it from any thread)."""
    names = podman.event_filter if runtime.capabilities.kind == PODMAN else list
    actions = sorted({action for kind in EVENT_ACTIONS.values() for action in kind})
    filters = {"type": list(EVENT_ACTIONS), "event": names(actions)}
    with engine_errors():
        return runtime.api.events(since=_timestamp(since), filters=filters, decode=True)


def to_event(raw: Mapping[str, Any], on_podman: bool = False) -> Event:
    """An engine event in Docker's words (Podman's `remove` is `destroy`); a container event
    carries its attributes (its container's labels among them), a network connect or disconnect
    its container's id."""
    actor = raw.get("Actor") or {}
    attributes = actor.get("Attributes") or {}
    kind = raw.get("Type", "")
    action = podman.event_action(kind, str(raw.get("Action", "")).split(":", 1)[0]) if on_podman else (
        str(raw.get("Action", "")).split(":", 1)[0])
    container = ""
    if kind == "network":
        container = (podman.network_event_container(raw) if on_podman else attributes.get("container")) or ""
    return Event(
        kind=kind, action=action, id=actor.get("ID", ""),
        name=attributes.get("name") or (actor.get("ID", "") if kind == "volume" else ""),
        attributes=dict(attributes) if kind == "container" else {},
        container=container,
    )


def _sleep_unless_stopped(seconds: float, stop: Callable[[], bool]) -> None:
    deadline = time.monotonic() + seconds
    while not stop() and time.monotonic() < deadline:
        time.sleep(min(0.1, seconds))


def _kept(runtime: DockerRuntime, raw: Mapping[str, Any], healths: dict[str, str | None]) -> Event | None:
    """The event, or None for a health report that says nothing new: where the reconciler runs
    the checks, each check makes one, changed or not (Docker's come on a change); `healths`
    holds the health last reported per container."""
    event = to_event(raw, runtime.capabilities.kind == PODMAN)
    if event.kind != "container" or runtime.capabilities.runs_healthchecks:
        return event
    if event.action == "destroy":
        healths.pop(event.id, None)
    elif event.action == "health_status":
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
            runtime.limits.forget()  # a `docker update` by hand may have been missed
            yield ENGINE_RECONNECTED
        ended = threading.Event()
        threading.Thread(target=_close_on_stop, args=(stream, stop, ended), name="events-stop", daemon=True).start()
        try:
            for raw in _read(stream):
                since = max(since, int(raw.get("timeNano") or 0) + 1)
                event = _kept(runtime, raw, healths)
                if event is not None and event.kind == "container" and event.action == "update":
                    runtime.limits.forget(event.id)
                if event is not None:
                    yield event
        finally:
            ended.set()
            stream.close()
        lost = True
