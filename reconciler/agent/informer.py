"""The agent's observed state, kept between passes from engine events (an informer).

The way the kubelet and controller-runtime's informers keep a cache, and treat events as hints:
- a full relist (`Runtime.observe`) fills the cache; it is due on the first observation, on each
  resync (`relist()`), when the event stream was lost and is open again, and when the desired
  state asks about names or images the last relist did not;
- an event about a container the namespace owns (by its labels, or because the cache holds it)
  marks that container stale: the next observation reads it again (one inspect each), and lists
  nothing; a network connect or disconnect marks its container stale;
- an event that may change what else the relist found (an unowned container taking or leaving a
  desired name, a desired or owned network or volume created or removed, an image pulled, tagged
  or deleted) makes the next observation a full relist; one that names a desired image
  reference (a tag moved onto another image) also wakes a pass;
- the agent's own actions, made through the informer, mark what they touch the same way, so the
  observation after them is fresh whether or not their events came back yet; the events they
  echo mark again, and an echo of the agent's own stop or removal wakes no pass.

`note(event)` says whether an event concerns the namespace (the loop wakes a pass for it).
Everything else is the wrapped runtime's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from reconciler.model import ContainerSpec, NetworkSpec, VolumeSpec, is_owned
from runtime.base import Event, ObservedContainer, ObservedState, ProgressCallback, RegistryAuth, Runtime

# what an event about an owned container must have done for a pass to be due (a kill or an oom
# only comes before the death that matters: a pass woken by it would find the container running)
WAKING = frozenset({"die", "stop", "destroy", "health_status", "rename", "update", "pause", "unpause", "disconnect"})
CRASH_LOOP_WINDOW = 60.0  # seconds: up this long, a container's restart count is no longer read


def aged(container: ObservedContainer, seconds: float, exact: bool = False) -> ObservedContainer:
    """`container` as observed `seconds` later, when nothing happened to it meanwhile: its
    restart count no longer read once it has been up for a minute (as the runtime's
    `ObservedContainer.restart_count` says), and, when its uptime must be `exact` (a container
    that shares a network stack, or whose stack is shared), up that much longer. Any other
    uptime stays what was read: at least that, as a list reads it."""
    if container.up_seconds is None or seconds <= 0 or not (exact or container.restart_count):
        return container
    up = container.up_seconds + seconds
    restarts = 0 if container.state == "running" and up >= CRASH_LOOP_WINDOW else container.restart_count
    return replace(container, up_seconds=up, restart_count=restarts)


def _qualified(ref: str) -> str:
    """`ref` as the engine names it in its events: with a tag (`:latest` by default)."""
    return ref if "@" in ref or ":" in ref.rsplit("/", 1)[-1] else f"{ref}:latest"


class Informer:
    """A `Runtime` whose `observe` answers from a cache kept by engine events (see the module).

    Thread-safe: the event thread calls `note` while the loop observes and the executor's
    workers act.
    """

    def __init__(self, runtime: Runtime, namespace: str, clock: Callable[[], float] = time.time) -> None:
        self.runtime = runtime
        self.namespace = namespace
        self._clock = clock
        self._lock = threading.Lock()
        self._relist = True
        self._stale: set[str] = set()  # ids of containers to read again
        self._containers: dict[str, tuple[ObservedContainer, float]] = {}  # owned: id -> (as read, when)
        self._last = ObservedState()  # the last relist (its networks, volumes, unowned names, images)
        self._asked: dict[str, frozenset[str]] = {}  # kind -> names the last relist asked about
        self._refs: frozenset[str] = frozenset()  # images the last relist asked about
        self._retired: set[str] = set()  # containers this agent stopped or removed: their echoes wake nothing
        self.relists = 0  # full relists made so far

    def __getattr__(self, name: str) -> Any:
        return getattr(self.runtime, name)

    # -- the cache ------------------------------------------------------------------------

    def relist(self) -> None:
        """Make the next observation a full relist (the agent's resync)."""
        with self._lock:
            self._relist = True

    def observe(self, namespace: str, names: Mapping[str, Iterable[str]] = {},
                images: Iterable[str] = ()) -> ObservedState:
        """What `Runtime.observe` answers, from the cache: a full relist when one is due, else
        one inspect per stale container and no list call."""
        wanted = {kind: frozenset(found) for kind, found in names.items()}
        refs = frozenset(images)
        with self._lock:
            relist = self._relist or not self._covers(wanted, refs)
            stale, self._stale = self._stale, set()
            self._relist = False
        try:
            if relist:
                self._relisted(self.runtime.observe(namespace, wanted, refs), wanted, refs)
            elif stale:
                self._read_again(stale)
        except BaseException:
            with self._lock:
                self._relist = True
            raise
        return self._answer(wanted, refs)

    def _covers(self, wanted: Mapping[str, frozenset[str]], refs: frozenset[str]) -> bool:
        """Whether the last relist asked about every name and image asked now."""
        return refs <= self._refs and all(found <= self._asked.get(kind, frozenset()) for kind, found in wanted.items())

    def _relisted(self, observed: ObservedState, wanted: Mapping[str, frozenset[str]], refs: frozenset[str]) -> None:
        now = self._clock()
        with self._lock:
            self._containers = {c.id: (c, now) for c in observed.containers}
            self._last, self._asked, self._refs = observed, dict(wanted), refs
            self._retired &= set(self._containers)
            self.relists += 1

    def _read_again(self, stale: set[str]) -> None:
        """Read the stale containers again: each named by its id, or by its name (the executor
        starts a container it has just made by name), and whatever the cache holds under that name."""
        with self._lock:
            refs = stale | {c.id for c, _ in self._containers.values() if c.name in stale}
        fresh = self.runtime.inspect_containers(sorted(refs))
        now = self._clock()
        with self._lock:
            for container in fresh:
                if is_owned(container.labels, self.namespace):
                    self._containers[container.id] = (container, now)
                else:
                    self._containers.pop(container.id, None)
            for gone in refs - {c.id for c in fresh}:
                self._containers.pop(gone, None)
                self._retired.discard(gone)

    def _answer(self, wanted: Mapping[str, frozenset[str]], refs: frozenset[str]) -> ObservedState:
        now = self._clock()
        with self._lock:
            kept = list(self._containers.values())
            last = self._last
        modes = [c.network_mode for c, _ in kept if c.network_mode and c.network_mode.startswith("container:")]
        sharing = {mode.removeprefix("container:") for mode in modes}
        containers = tuple(aged(c, now - at, c.id in sharing or c.network_mode in modes) for c, at in kept)
        unowned = {kind: last.unowned.get(kind, frozenset()) & wanted.get(kind, frozenset()) for kind in last.unowned}
        if "container" in unowned:  # a name an owned container holds now is held by no other
            unowned["container"] -= {c.name for c in containers}
        return replace(
            last, containers=containers,
            unowned={kind: found for kind, found in unowned.items() if found},
            images={ref: id for ref, id in last.images.items() if ref in refs},
            image_volumes={ref: paths for ref, paths in last.image_volumes.items() if ref in refs},
        )

    def bind_sources(self) -> frozenset[str]:
        """The host paths the owned containers bind, as last observed."""
        with self._lock:
            return frozenset().union(*(c.binds for c, _ in self._containers.values()))

    # -- events ---------------------------------------------------------------------------

    def note(self, event: Event) -> bool:
        """Take an engine event as a hint (see the module); True when it concerns the
        namespace, so a pass is due."""
        with self._lock:
            if event.kind == "container":
                return self._container_event(event)
            if event.kind == "network":
                return self._network_event(event)
            if event.kind == "volume":
                return self._relist_if(event.name in self._asked.get("volume", frozenset())
                                       or any(v.name == event.name for v in self._last.volumes))
            if event.kind == "image":  # a tag moved, an image pulled or deleted: only a relist says which
                self._relist = self._relist or bool(self._refs)
                return event.name in self._refs or any(event.name == _qualified(ref) for ref in self._refs)
            self._relist = True  # the stream was lost and is open again: anything may have happened
            return True

    def _relist_if(self, concerns: bool) -> bool:
        self._relist = self._relist or concerns
        return concerns

    def _container_event(self, event: Event) -> bool:
        if event.id in self._containers or is_owned(event.attributes, self.namespace):
            self._stale.add(event.id)
            return event.action in WAKING and event.id not in self._retired
        # an unowned container took or left a desired name (a rename may not say the old one)
        return self._relist_if(event.name in self._asked.get("container", frozenset())
                               or (event.action == "rename" and bool(self._last.unowned.get("container"))))

    def _network_event(self, event: Event) -> bool:
        if event.container and (event.container in self._containers or event.container in self._stale):
            self._stale.add(event.container)
            return event.action in WAKING and event.container not in self._retired
        if event.action in ("create", "destroy"):
            return self._relist_if(event.name in self._asked.get("network", frozenset())
                                   or any(event.id == n.id for n in self._last.networks))
        return False

    # -- the agent's own actions ------------------------------------------------------------

    def _touched(self, container: str, retired: bool | None = None) -> None:
        """The agent acted on `container` (an id or a name): read it again; `retired` True when
        the action stops or removes it (its echoes wake nothing), False when it starts it."""
        with self._lock:
            self._stale.add(container)
            # an unowned container an adoption acts on: only a relist reads it again
            self._relist = self._relist or any(container in (u.observed.id, u.observed.name)
                                               for u in self._last.unowned_containers)
            ids = {container} | {c.id for c, _ in self._containers.values() if c.name == container}
            if retired:
                self._retired |= ids
            elif retired is not None:
                self._retired -= ids

    def _changed(self) -> None:
        with self._lock:
            self._relist = True

    def create_container(self, spec: ContainerSpec, name: str, labels: Mapping[str, str]) -> str:
        id = self.runtime.create_container(spec, name, labels)
        self._touched(id)
        return id

    def start_container(self, id: str) -> None:
        try:
            self.runtime.start_container(id)
        finally:
            self._touched(id, retired=False)

    def stop_container(self, id: str, timeout: float | None = None) -> None:
        self._touched(id, retired=True)
        self.runtime.stop_container(id, timeout)

    def remove_container(self, id: str) -> None:
        self._touched(id, retired=True)
        self.runtime.remove_container(id)

    def rename_container(self, id: str, name: str) -> None:
        try:
            self.runtime.rename_container(id, name)
        finally:
            self._touched(id)

    def connect_network(self, network: str, container_id: str, aliases: tuple[str, ...] = (),
                        ipv4_address: str | None = None) -> None:
        try:
            self.runtime.connect_network(network, container_id, aliases, ipv4_address)
        finally:
            self._touched(container_id)

    def disconnect_network(self, network: str, container_id: str) -> None:
        try:
            self.runtime.disconnect_network(network, container_id)
        finally:
            self._touched(container_id)

    def create_network(self, spec: NetworkSpec, labels: Mapping[str, str]) -> str:
        try:
            return self.runtime.create_network(spec, labels)
        finally:
            self._changed()

    def remove_network(self, id: str) -> None:
        try:
            self.runtime.remove_network(id)
        finally:
            self._changed()

    def create_volume(self, spec: VolumeSpec, labels: Mapping[str, str]) -> str:
        try:
            return self.runtime.create_volume(spec, labels)
        finally:
            self._changed()

    def remove_volume(self, name: str) -> None:
        try:
            self.runtime.remove_volume(name)
        finally:
            self._changed()

    def pull_image(self, ref: str, progress: ProgressCallback | None = None, auth: RegistryAuth | None = None) -> str:
        try:
            return self.runtime.pull_image(ref, progress, auth)
        finally:
            self._changed()
