"""Engine events about a namespace's resources, read in short since/until windows.

Each window is one bounded request (the engine closes it at `until`), so `stop()` is checked
about once a window, and an engine restart is only a failed request, retried with backoff.
Container events carry the container's labels and are label-filtered by the engine; network
events carry only the network and the container id, so a disconnect is kept when either of the
two is owned (one inspect per disconnect, which is rare).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from reconciler.model import LABEL_MANAGED, is_owned
from runtime import podman
from runtime.base import EngineError, EngineUnavailable, Event, NotFound
from runtime.capabilities import PODMAN
from runtime.docker_errors import engine_errors

if TYPE_CHECKING:
    from runtime.docker import DockerRuntime

CONTAINER_ACTIONS = ("die", "stop", "destroy", "health_status", "kill", "oom")
NETWORK_ACTIONS = ("disconnect",)
WINDOW = 1.0
MAX_BACKOFF = 10.0
_NANOS = 1_000_000_000


def _timestamp(nanos: int) -> str:
    return f"{nanos // _NANOS}.{nanos % _NANOS:09d}"


def _fetch(runtime: DockerRuntime, filters: Mapping[str, Any], since: int, until: int) -> list[dict]:
    with engine_errors():
        stream = runtime.api.events(
            since=_timestamp(since), until=_timestamp(until), filters=dict(filters), decode=True
        )
        return list(stream)


def _owned(probe: Callable[[], Mapping[str, str]], namespace: str) -> bool:
    try:
        return is_owned(probe(), namespace)
    except NotFound:
        return False


def _network_event_owned(runtime: DockerRuntime, raw: Mapping[str, Any], namespace: str) -> bool:
    actor = raw.get("Actor") or {}
    if runtime.capabilities.kind == PODMAN:
        container = podman.network_event_container(raw)
        return container is not None and _owned(lambda: runtime.container_labels(container), namespace)
    container = (actor.get("Attributes") or {}).get("container")
    return (container is not None and _owned(lambda: runtime.container_labels(container), namespace)) or (
        _owned(lambda: runtime.network_labels(actor.get("ID", "")), namespace)
    )


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


def _window(runtime: DockerRuntime, namespace: str, since: int, until: int) -> list[Event]:
    if runtime.capabilities.kind == PODMAN:
        return _podman_window(runtime, namespace, since, until)
    container_filters = {
        "type": ["container"], "event": list(CONTAINER_ACTIONS), "label": [f"{LABEL_MANAGED}={namespace}"],
    }
    network_filters = {"type": ["network"], "event": list(NETWORK_ACTIONS)}
    found = [to_event(raw) for raw in _fetch(runtime, container_filters, since, until)]
    for raw in _fetch(runtime, network_filters, since, until):
        if _kept_network_event(runtime, raw, namespace):
            found.append(to_event(raw))
    return found


def _podman_window(runtime: DockerRuntime, namespace: str, since: int, until: int) -> list[Event]:
    """Podman answers nothing for a window that ended before the request (its `until` ends a
    stream rather than bounding a log), so both kinds come in one request, and a container
    event is kept by the labels it carries (a label filter would drop every network event)."""
    filters = {"type": ["container", "network"], "event": podman.event_filter(CONTAINER_ACTIONS + NETWORK_ACTIONS)}
    found = []
    for raw in _fetch(runtime, filters, since, until):
        if raw.get("Type") == "container":
            if is_owned((raw.get("Actor") or {}).get("Attributes"), namespace):
                found.append(to_event(raw))
        elif _kept_network_event(runtime, raw, namespace):
            found.append(to_event(raw))
    return found


def _kept_network_event(runtime: DockerRuntime, raw: Mapping[str, Any], namespace: str) -> bool:
    try:
        return _network_event_owned(runtime, raw, namespace)
    except EngineError:
        return False  # a hint we cannot check is dropped; the periodic pass still converges


def watch(
    runtime: DockerRuntime, namespace: str, stop: Callable[[], bool], window: float = WINDOW
) -> Iterator[Event]:
    """Events from the moment of this call on (not from the first `next`)."""
    return _watch(runtime, namespace, stop, window, since=time.time_ns())


def _watch(
    runtime: DockerRuntime, namespace: str, stop: Callable[[], bool], window: float, since: int
) -> Iterator[Event]:
    backoff = window
    checking = False
    while not stop():
        until = max(since, time.time_ns()) + int(window * _NANOS)
        try:
            if not checking:
                runtime.start_healthchecks(namespace, stop)
                checking = True
            found = _window(runtime, namespace, since, until)
        except EngineUnavailable:
            _sleep_unless_stopped(backoff, stop)
            backoff = min(backoff * 2, MAX_BACKOFF)
            continue
        backoff = window
        since = until
        yield from found
