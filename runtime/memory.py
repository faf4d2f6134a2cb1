"""An in-memory engine with the Docker adapter's behaviour, for fast unit tests of the reconciler.

Besides `Runtime`, it offers what such tests need: `calls` (every Runtime call, as
(method, arguments) with defaults filled in), `fail_next` (inject an error), `on_start` (how a
container behaves when started), `on_exec` and `hooks_run` (how a command run with exec ends, and
which ran), `image_volumes` (the VOLUME paths of an image id), `listen`
(events handed over as they happen), changes made by the engine itself (`restart_by_engine`: its
restart policy at work) and out-of-band changes "by hand" (`kill`, `set_health`,
`remove_by_hand`, `disconnect_by_hand`, `add_unowned`, `available = False` for an engine that is
down). The contract suite (tests/contract) pins that it behaves like the real engine.

This module holds the containers, networks, volumes, observation, waits and events; the test
controls are `runtime.memory_controls.MemoryControls` and the images
`runtime.memory_images.MemoryImages`, both of which `MemoryRuntime` inherits.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from reconciler.fields import Hook, NetworkAttachment
from reconciler.model import ContainerSpec, NetworkSpec, VolumeSpec, is_owned
from runtime import memory_import
from runtime import unowned as adoptable
from runtime.base import (
    Conflict,
    EngineUnavailable,
    Event,
    ExecResult,
    Forbidden,
    ImportSource,
    InvalidSpec,
    NotFound,
    ObservedContainer,
    ObservedState,
    WaitTimeout,
)
from runtime.capabilities import MEMORY, Capabilities
from runtime.conditions import reached
from runtime.docker_observe import normalise_reference
from runtime.honoured import container_refusal
from runtime.memory_controls import MemoryControls, engine_call
from runtime.memory_images import MemoryImages
from runtime.memory_limits import created_limits, updated_limits
from runtime.memory_objects import (
    KILL_EXIT_CODE,
    NETWORK_DRIVERS,
    PREDEFINED_NETWORKS,
    STOP_EXIT_CODE,
    Behaviour,
    MemoryContainer,
    MemoryNetwork,
    MemoryVolume,
)


@dataclass
class _Log:
    """Every event, in order."""

    entries: list[Event] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)


class MemoryRuntime(MemoryControls, MemoryImages):
    def __init__(self, images: Mapping[str, str] = {}, registry: Mapping[str, str] = {},
                 image_volumes: Mapping[str, Iterable[str]] = {}, repo_digests: Mapping[str, Iterable[str]] = {}):
        """The images as `MemoryImages` takes them; no container, and the predefined networks."""
        super().__init__(images, registry, image_volumes, repo_digests)
        self.calls: list[tuple[str, tuple]] = []
        self.available = True
        self.containers: dict[str, MemoryContainer] = {}
        self.networks: dict[str, MemoryNetwork] = {}
        self.volumes: dict[str, MemoryVolume] = {}
        self._failures: dict[str, list[Exception]] = {}
        self._behaviours: dict[str, Behaviour] = {}
        self._exec_outcomes: dict[tuple[str, ...], ExecResult] = {}  # command -> how it ends (see on_exec)
        self.hooks_run: list[tuple[str, Hook]] = []  # (container name, hook), in the order they ran
        self._log = _Log()
        self._listeners: list[Callable[[Event], object]] = []
        self._lock = threading.RLock()
        self._counter = 0
        for name in PREDEFINED_NETWORKS:
            self._add_network(name, name, {})

    # -- lookups ----------------------------------------------------------------------------

    def _new_id(self) -> str:
        self._counter += 1
        return hashlib.sha256(f"memory-{self._counter}".encode()).hexdigest()

    def _tick(self) -> float:
        self._counter += 1
        return 1_700_000_000.0 + self._counter

    def _container(self, ref: str) -> MemoryContainer:
        found = self.containers.get(ref) or next(
            (c for c in self.containers.values() if c.name == ref), None
        )
        if found is None:
            raise NotFound(f"No such container: {ref}")
        return found

    def _network(self, ref: str) -> MemoryNetwork:
        found = self.networks.get(ref) or next((n for n in self.networks.values() if n.name == ref), None)
        if found is None:
            raise NotFound(f"network {ref} not found")
        return found

    def _volume(self, name: str) -> MemoryVolume:
        if name not in self.volumes:
            raise NotFound(f"get {name}: no such volume")
        return self.volumes[name]

    def _add_network(self, id: str, name: str, labels: Mapping[str, str], driver: str = "bridge"):
        network = MemoryNetwork(id, name, driver if name not in ("host", "none") else name, dict(labels))
        self.networks[id] = network
        return network

    # -- events ----------------------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        with self._log.changed:
            self._log.entries.append(event)
            self._log.changed.notify_all()
        for listener in self._listeners:
            listener(event)

    def events(self, namespace: str, stop: Callable[[], bool]) -> Iterator[Event]:
        """Events from the moment of this call on (not from the first `next`)."""
        return self._events_since(len(self._log.entries), stop)

    def _events_since(self, seen: int, stop: Callable[[], bool]) -> Iterator[Event]:
        while not stop():
            with self._log.changed:
                if seen == len(self._log.entries):
                    self._log.changed.wait(timeout=0.05)
                fresh = self._log.entries[seen:]
                seen += len(fresh)
            yield from fresh

    # -- state changes shared by calls and simulations ----------------------------------------

    def _end(self, container: MemoryContainer, exit_code: int, actions: tuple[str, ...]) -> None:
        if container.state != "running":
            return
        container.state, container.exit_code, container.health = "exited", exit_code, None
        for action in actions:
            self._emit(container.event(action))
        for name in container.networks:  # the engine releases the endpoints (the config stays)
            self._emit_disconnect(self._network(name), container)

    def _disconnect(self, network: MemoryNetwork, container: MemoryContainer) -> None:
        if network.name not in container.networks:
            raise NotFound(f"container {container.id} is not connected to network {network.name}")
        del container.networks[network.name]
        self._emit_disconnect(network, container)

    def _emit_disconnect(self, network: MemoryNetwork, container: MemoryContainer) -> None:
        self._emit(network.event("disconnect", container.id))

    def _remove_container(self, container: MemoryContainer) -> None:
        self._end(container, KILL_EXIT_CODE, ("kill", "die"))
        del self.containers[container.id]
        self._emit(container.event("destroy"))

    # -- Runtime ---------------------------------------------------------------------------

    @engine_call
    def ping(self) -> None:
        return None

    def refused(self, spec: NetworkSpec | ContainerSpec) -> str | None:
        return container_refusal(spec, self.capabilities) if isinstance(spec, ContainerSpec) else None

    @property
    def capabilities(self) -> Capabilities:
        """A Docker 20.10-like engine (API 1.41) that can do everything."""
        if not self.available:
            raise EngineUnavailable("the in-memory engine is down")
        return Capabilities(kind=MEMORY, version="0", api_version="1.41")

    @engine_call
    def observe(
        self, namespace: str, names: Mapping[str, Iterable[str]] = {}, images: Iterable[str] = ()
    ) -> ObservedState:
        by_kind = {
            "container": list(self.containers.values()),
            "network": list(self.networks.values()),
            "volume": list(self.volumes.values()),
        }
        wanted = {kind: frozenset(found) for kind, found in names.items()}
        unowned = {
            kind: frozenset(r.name for r in by_kind.get(kind, ()) if r.name in wanted[kind]
                            and not is_owned(r.labels, namespace))
            for kind in wanted
        }
        claimed = wanted.get("container", frozenset()) | wanted.get("adopt", frozenset())
        owned = {kind: [r for r in found if is_owned(r.labels, namespace)]
                 for kind, found in by_kind.items()}
        found_images = {ref: self.images.get(normalise_reference(ref)) for ref in images}
        return ObservedState(
            containers=tuple(c.observed(self._tick()) for c in owned["container"]),
            networks=tuple(n.observed() for n in owned["network"]),
            volumes=tuple(v.observed() for v in owned["volume"]),
            unowned={kind: names for kind, names in unowned.items() if names},
            images={ref: id for ref, id in found_images.items() if id},
            image_volumes={ref: self.image_volumes.get(id, ()) for ref, id in found_images.items() if id},
            unowned_containers=tuple(adoptable.from_spec(c.spec, c.observed(self._tick()))
                                     for c in by_kind["container"] if not is_owned(c.labels, namespace)
                                     and adoptable.holds(c.name, claimed)),
            unowned_networks=tuple(n.observed() for n in by_kind["network"] if n.name in unowned.get("network", ())),
            unowned_volumes=tuple(v.observed() for v in by_kind["volume"] if v.name in unowned.get("volume", ())),
        )

    def _check_references(self, spec: ContainerSpec) -> None:
        mode = spec.network_mode or ""
        try:
            for attachment in spec.networks:
                self._network(attachment.name)
            shared = [m.partition(":")[2] for m in (mode, spec.ipc or "", spec.pid or "") if m.startswith("container:")]
            for ref in [*spec.volumes_from, *shared]:
                self._container(ref.split(":")[0])
        except NotFound as error:
            raise InvalidSpec(str(error)) from error

    @engine_call
    def inspect_containers(self, ids: Iterable[str]) -> tuple[ObservedContainer, ...]:
        found = []
        for ref in ids:
            try:
                found.append(self._container(ref).observed(self._tick()))
            except NotFound:
                continue
        return tuple(found)

    @engine_call
    def import_source(self, names: Sequence[str]) -> ImportSource:
        chosen = [self._container(name) for name in names] or [c for c in self.containers.values()
                                                                if c.state == "running"]
        return memory_import.source(chosen, {n.name: n for n in self.networks.values()}, self.volumes,
                                    {c.id: c.name for c in self.containers.values()})

    @engine_call
    def create_container(self, spec: ContainerSpec, name: str, labels: Mapping[str, str]) -> str:
        if any(c.name == name for c in self.containers.values()):
            raise Conflict(f'Conflict. The container name "/{name}" is already in use')
        image_id = self.images.get(normalise_reference(spec.image))
        if image_id is None:
            raise InvalidSpec(f"No such image: {spec.image}")
        self._check_references(spec)
        refused = self.refused(spec)
        if refused:
            raise InvalidSpec(f"container {name}: {refused}")
        container = MemoryContainer(self._new_id(), name, spec, {**spec.labels, **labels}, image_id, self._tick(),
                                    network_mode=self._network_mode(spec))
        mode = spec.network_mode
        if mode is None and not spec.networks:
            mode = "bridge"
        if mode in ("bridge", "host", "none"):
            container.networks[mode] = NetworkAttachment(mode)
        for attachment in spec.networks:
            container.networks[attachment.name] = attachment
        container.volumes = self._mount_volumes(spec, image_id)
        container.limits = created_limits(spec)
        self.containers[container.id] = container
        self._emit(container.event("create"))
        return container.id

    def _network_mode(self, spec: ContainerSpec) -> str:
        """The mode as the Docker adapter sends it, with container:NAME resolved to the id."""
        mode = spec.network_mode or (spec.networks[0].name if spec.networks else "default")
        if mode.startswith("container:"):
            return "container:" + self._container(mode.partition(":")[2]).id
        return mode

    def _mount_volumes(self, spec: ContainerSpec, image_id: str) -> dict[str, str]:
        """Container path -> volume name, as the engine mounts them: the volumes of the
        `volumes_from` containers, overridden by the spec's own mounts, then a new anonymous
        volume for each path the image declares that nothing else mounts."""
        volumes: dict[str, str] = {}
        for ref in spec.volumes_from:
            volumes.update(self._container(ref.split(":")[0]).volumes)
        for mount in spec.mounts:
            volumes.pop(mount.target, None)
            if mount.type == "volume":
                volumes[mount.target] = self._ensure_volume(mount.source or self._new_id())
        covered = volumes.keys() | {mount.target for mount in spec.mounts}
        for path in self.image_volumes.get(image_id, ()):
            if path not in covered:
                volumes[path] = self._ensure_volume(self._new_id())
        return volumes

    def _ensure_volume(self, name: str) -> str:
        if name not in self.volumes:
            self.volumes[name] = MemoryVolume(name, "local", {})
            self._emit(Event("volume", "create", name, name))
        return name

    @engine_call
    def update_container(self, id: str, spec: ContainerSpec) -> None:
        container = self._container(id)
        container.limits = updated_limits(container.limits, spec, id)
        self._emit(container.event("update"))

    @engine_call
    def start_container(self, id: str) -> None:
        container = self._container(id)
        if container.state == "running":
            return
        behaviour = self._behaviours.get(container.spec.name, Behaviour())
        container.state, container.exit_code, container.restart_count = "running", None, 0
        container.started = self._tick()
        container.health = behaviour.health if container.spec.healthcheck else None
        self._emit(container.event("start"))
        if behaviour.exit_code is not None:
            self._end(container, behaviour.exit_code, ("die",))

    @engine_call
    def stop_container(self, id: str, timeout: float | None = None) -> None:
        self._end(self._container(id), STOP_EXIT_CODE, ("kill", "die", "stop"))

    @engine_call
    def remove_container(self, id: str) -> None:
        self._remove_container(self._container(id))

    @engine_call
    def rename_container(self, id: str, name: str) -> None:
        container = self._container(id)
        if any(c.name == name and c is not container for c in self.containers.values()):
            raise Conflict(f'Conflict. The container name "/{name}" is already in use')
        container.name = name
        self._emit(container.event("rename"))

    @engine_call
    def container_labels(self, id: str) -> Mapping[str, str]:
        return dict(self._container(id).labels)

    @engine_call
    def containers_labelled(self, label: str, value: str) -> tuple[tuple[str, Mapping[str, str]], ...]:
        return tuple(sorted((c.name, dict(c.labels)) for c in self.containers.values() if c.labels.get(label) == value))

    @engine_call
    def exec_hook(self, id: str, hook: Hook, timeout: float) -> ExecResult:
        container = self._container(id)
        if container.state != "running":
            raise Conflict(f"Container {container.id} is not running")
        self.hooks_run.append((container.name, hook))
        outcome = self._exec_outcomes.get(hook.command, ExecResult(0, "", 0.0))
        return ExecResult(None, outcome.output, timeout) if outcome.exit_code is None else outcome

    @engine_call
    def connect_network(self, network: str, container_id: str, aliases: tuple[str, ...] = (),
                        ipv4_address: str | None = None) -> None:
        target, container = self._network(network), self._container(container_id)
        if target.name in container.networks:
            raise Forbidden(f"endpoint with name {container.name} already exists in network {target.name}")
        if (container.spec.network_mode or "bridge") not in ("bridge", "default") and not container.spec.networks:
            raise InvalidSpec(f"container sharing network mode {container.spec.network_mode} cannot connect")
        container.networks[target.name] = NetworkAttachment(target.name, tuple(aliases), ipv4_address)
        self._emit(target.event("connect", container.id))

    @engine_call
    def disconnect_network(self, network: str, container_id: str) -> None:
        self._disconnect(self._network(network), self._container(container_id))

    @engine_call
    def create_network(self, spec: NetworkSpec, labels: Mapping[str, str]) -> str:
        if any(n.name == spec.name for n in self.networks.values()):
            raise Conflict(f"network with name {spec.name} already exists")
        if spec.driver not in NETWORK_DRIVERS:
            raise InvalidSpec(f"plugin {spec.driver!r} not found")
        network = self._add_network(self._new_id(), spec.name, {**spec.labels, **labels}, spec.driver)
        self._emit(network.event("create"))
        return network.id

    @engine_call
    def remove_network(self, id: str) -> None:
        self._remove_network(self._network(id))

    def _remove_network(self, network: MemoryNetwork) -> None:
        if network.name in PREDEFINED_NETWORKS:
            raise Forbidden(f"{network.name} is a pre-defined network and cannot be removed")
        if any(network.name in c.networks for c in self.containers.values()):
            raise Forbidden(f"error while removing network: network {network.name} has active endpoints")
        del self.networks[network.id]
        self._emit(network.event("destroy"))

    @engine_call
    def network_labels(self, id: str) -> Mapping[str, str]:
        return dict(self._network(id).labels)

    @engine_call
    def create_volume(self, spec: VolumeSpec, labels: Mapping[str, str]) -> str:
        wanted = MemoryVolume(spec.name, spec.driver, {**spec.labels, **labels})
        existing = self.volumes.setdefault(spec.name, wanted)
        if existing != wanted:
            raise Conflict(f"volume {spec.name} already exists with other labels or driver")
        if existing is wanted:
            self._emit(Event("volume", "create", spec.name, spec.name))
        return spec.name

    @engine_call
    def remove_volume(self, name: str) -> None:
        self._remove_volume(self._volume(name))

    def _remove_volume(self, volume: MemoryVolume) -> None:
        if any(volume.name in c.volumes.values() for c in self.containers.values()):
            raise Conflict(f"remove {volume.name}: volume is in use")
        del self.volumes[volume.name]
        self._emit(Event("volume", "destroy", volume.name, volume.name))

    @engine_call
    def volume_labels(self, name: str) -> Mapping[str, str]:
        return dict(self._volume(name).labels)

    @engine_call
    def wait_container(self, id: str, condition: str, timeout: float) -> None:
        """Decided at once: nothing changes in this engine while a caller waits, so a condition
        not reached now is a WaitTimeout now (unit tests never sleep)."""
        container = self._container(id)
        if not reached(condition, container.state, container.health, container.exit_code):
            raise WaitTimeout(f"container {id[:12]} not {condition} after {timeout:g}s")
