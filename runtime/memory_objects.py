"""The resources the in-memory engine holds, and how each is observed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reconciler.fields import NetworkAttachment
from reconciler.model import ContainerSpec
from runtime.base import Event, ObservedConfig, ObservedContainer, ObservedNetwork, ObservedVolume

NETWORK_DRIVERS = frozenset({"bridge", "host", "none", "macvlan", "ipvlan", "overlay"})
PREDEFINED_NETWORKS = ("bridge", "host", "none")
STOP_EXIT_CODE = 143  # what a container stopped with SIGTERM reports
KILL_EXIT_CODE = 137


@dataclass(frozen=True)
class Behaviour:
    """What a started container does: exits at once with `exit_code`, or runs with `health`."""

    exit_code: int | None = None
    health: str = "healthy"


@dataclass
class MemoryContainer:
    id: str
    name: str
    spec: ContainerSpec
    labels: dict[str, str]
    image_id: str
    created: float
    state: str = "created"
    health: str | None = None
    exit_code: int | None = None
    network_mode: str = "default"
    restart_count: int = 0
    started: float | None = None  # the engine's clock (see MemoryRuntime._tick) at its last start
    networks: dict[str, NetworkAttachment] = field(default_factory=dict)
    volumes: dict[str, str] = field(default_factory=dict)  # container path -> volume name
    limits: dict[str, Any] = field(default_factory=dict)  # the fields of model.IN_PLACE, as inspect reports them

    def event(self, action: str) -> Event:
        """An event about it, with its labels and name as attributes (as the engine sends them)."""
        return Event("container", action, self.name, self.id, attributes={**self.labels, "name": self.name})

    def observed(self, now: float) -> ObservedContainer:
        return ObservedContainer(
            id=self.id, name=self.name, labels=dict(self.labels), state=self.state, health=self.health,
            image_id=self.image_id, networks=frozenset(self.networks), created=self.created,
            exit_code=self.exit_code, network_mode=self.network_mode, restart_count=self.restart_count,
            volumes=dict(self.volumes),
            binds=frozenset(m.source for m in self.spec.mounts if m.type == "bind" and m.source),
            up_seconds=now - self.started if self.state == "running" and self.started is not None else None,
            limits=dict(self.limits),
            config=ObservedConfig(env=dict(self.spec.env), command=self.spec.command, entrypoint=self.spec.entrypoint,
                                  user=self.spec.user or "", working_dir=self.spec.working_dir or ""),
        )


@dataclass
class MemoryNetwork:
    id: str
    name: str
    driver: str
    labels: dict[str, str]

    def event(self, action: str, container: str = "") -> Event:
        return Event("network", action, self.name, self.id, container=container)

    def observed(self) -> ObservedNetwork:
        return ObservedNetwork(id=self.id, name=self.name, labels=dict(self.labels), driver=self.driver)


@dataclass
class MemoryVolume:
    name: str
    driver: str
    labels: dict[str, str]
    created: str = ""  # as the engine's CreatedAt tells one volume from a later one of the same name

    def observed(self) -> ObservedVolume:
        return ObservedVolume(name=self.name, labels=dict(self.labels), driver=self.driver, created=self.created)
