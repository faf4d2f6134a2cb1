"""The names Compose gives a project's containers, networks and volumes, so that an import names
each resource as the running project has it and the reconciler can take it over.

Compose's rules (docker/compose 1.29 `compose/service.py` and `compose/network.py`, and Compose v2
`pkg/compose/convergence.go` / `pkg/api`): a container is `container_name`, else
`<project>_<service>_<n>` (Compose v1) or `<project>-<service>-<n>` (v2); a network or volume is
its `name:`, else `<project>_<key>` (both versions), an `external` one its `name:` or key. The
running project is found by its containers' labels `com.docker.compose.project`,
`com.docker.compose.service`, `com.docker.compose.container-number` and
`com.docker.compose.version` (1.x for Compose v1).

Without a running project, containers are named for their service (or `container_name`),
networks and volumes for their key (or `name:`), the default network `<project>_default`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
NUMBER_LABEL = "com.docker.compose.container-number"
VERSION_LABEL = "com.docker.compose.version"


@dataclass(frozen=True)
class RunningProject:
    """A project the engine runs: Compose's `version` (its label), and service -> the name of its
    container (number 1, else the lowest number)."""

    version: str
    containers: Mapping[str, str] = field(default_factory=dict)

    @property
    def separator(self) -> str:
        """`_` for Compose v1 (version 1.x), `-` for v2."""
        return "_" if self.version.startswith("1.") else "-"


def running_project(project: str, containers: Iterable[tuple[str, Mapping[str, str]]]) -> RunningProject | None:
    """The project `project` as its containers' (name, labels) show it; None when there are none."""
    numbered: dict[str, tuple[int, str]] = {}
    version = ""
    for name, labels in containers:
        if labels.get(PROJECT_LABEL) != project or not labels.get(SERVICE_LABEL):
            continue
        version = version or labels.get(VERSION_LABEL, "")
        number = int(labels[NUMBER_LABEL]) if labels.get(NUMBER_LABEL, "").isdigit() else 1
        service = labels[SERVICE_LABEL]
        numbered[service] = min(numbered.get(service, (number, name)), (number, name))
    if not numbered:
        return None
    return RunningProject(version or "2", {service: name for service, (_, name) in numbered.items()})


@dataclass(frozen=True)
class Naming:
    """The names to write for project `project`, as `running` has them (None: not running)."""

    project: str
    running: RunningProject | None = None

    def container(self, service: str, container_name: str | None) -> str:
        """The running container's name; else `container_name`; else, for a running project, the
        name its Compose version would give a new one; else the service's name."""
        if self.running is not None and service in self.running.containers:
            return self.running.containers[service]
        if container_name:
            return container_name
        if self.running is not None:
            sep = self.running.separator
            return f"{self.project}{sep}{service}{sep}1"
        return service

    def network(self, key: str, name: str | None, external: bool = False) -> str:
        """As `_object`, except that the default network is always `<project>_default`, as Compose
        names it: `default` is a name Docker reserves, and Podman's containers on it land on `podman`."""
        if key == "default" and not name and not external:
            return f"{self.project}_default"
        return self._object(key, name, external)

    def volume(self, key: str, name: str | None, external: bool = False) -> str:
        return self._object(key, name, external)

    def _object(self, key: str, name: str | None, external: bool) -> str:
        if name:
            return name
        if self.running is not None and not external:
            return f"{self.project}_{key}"
        return key
