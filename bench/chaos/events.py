"""The oracle's record: the engine's own event stream for the whole run, kept to what concerns the
campaign (owned by its namespace, or named with its prefix: the unowned pair too), with armed
triggers that see each event as it arrives (the aimed kills of the agent react to them).

The campaign tests the product from outside: it imports nothing of it and knows only its
documented contract with the engine, the labels and the temporary names of a replacement."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import docker

LABEL_MANAGED = "io.reconciler.managed"
LABEL_NAME = "io.reconciler.name"
NEXT_SUFFIX = "--next-"  # NAME--next-OLDID: a replacement before it takes the name
DOCKER_WORDS = {"remove": "destroy"}  # Podman's event names -> Docker's


@dataclass(frozen=True)
class Event:
    """One engine event. `time` in unix seconds (the engine's clock: the same host's);
    `name` the engine name at that moment (a volume's is its id); `logical` the declared name it
    stands for (the name label of an owned container, else `name`)."""

    time: float
    type: str
    action: str
    id: str
    name: str
    logical: str
    attributes: dict[str, str]

    def describe(self) -> str:
        return f"{self.action} of {self.type} {self.name} ({self.id[:12]})"


Trigger = Callable[[Event], bool]


class Recorder:
    """Records from `start()` to `stop()`; `arm(trigger)` calls it on each later event, in the
    recording thread, until it returns True."""

    def __init__(self, client: docker.DockerClient, namespace: str, prefix: str) -> None:
        self.client, self.namespace, self.prefix = client, namespace, prefix
        self.events: list[Event] = []
        self._trigger: Trigger | None = None
        self._lock = threading.Lock()
        self._stream = None
        self._thread: threading.Thread | None = None
        self.lost: str | None = None  # why the stream ended before stop(), if it did

    def start(self) -> None:
        """Subscribes before returning, so nothing the caller does next is missed (and nothing from
        before is replayed: Podman, asked without `since`, starts from its older events)."""
        self._stream = self.client.events(decode=True, since=f"{time.time():.9f}",
                                          filters={"type": ["container", "network", "volume"]})
        self._thread = threading.Thread(target=self._read, name="chaos-events", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.close()
            self._thread.join(timeout=5)

    def arm(self, trigger: Trigger | None) -> None:
        with self._lock:
            self._trigger = trigger

    def snapshot(self) -> list[Event]:
        with self._lock:
            return list(self.events)

    def _read(self) -> None:
        stream = self._stream
        try:
            for raw in stream:
                event = self._parse(raw)
                if event is not None:
                    self._record(event)
            reason = "the engine ended the stream"
        except Exception as error:  # also how stop() ends it: closing the stream under the reader
            reason = f"{type(error).__name__}: {error}"
        if self._stream is stream:
            self.lost = reason

    def _record(self, event: Event) -> None:
        with self._lock:
            self.events.append(event)
            if self._trigger is not None and self._trigger(event):
                self._trigger = None

    def _parse(self, raw: dict) -> Event | None:
        actor = raw.get("Actor") or {}
        attributes = actor.get("Attributes") or {}
        ident = actor.get("ID", "")
        name = attributes.get("name") or ident
        if attributes.get(LABEL_MANAGED) != self.namespace and not name.startswith(self.prefix):
            return None
        time = raw.get("timeNano", 0) / 1e9 or float(raw.get("time", 0))
        action = DOCKER_WORDS.get(raw.get("Action", ""), raw.get("Action", ""))
        return Event(time, raw.get("Type", ""), action, ident, name,
                     attributes.get(LABEL_NAME) or name, attributes)
