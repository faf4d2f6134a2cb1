"""Checks across resources: every reference names a declared resource, and no dependency cycles.

References are a container's networks, its volume mounts, `depends_on`, `volumes_from`,
`network_mode = "container:NAME"` and `ipc`/`pid = "container:NAME"`. The last five also order
containers, so a cycle through any of them is an error naming the cycle.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator

from reconciler.desired.problems import Path_, Problem
from reconciler.desired.schema import did_you_mean
from reconciler.fields import Dependency
from reconciler.model import ContainerSpec, DesiredState, Spec

Place = Callable[[Spec, Path_, str], Problem]


def _ordering(spec: ContainerSpec) -> Iterator[tuple[Path_, str]]:
    """The containers this one must follow, each with the key path that names it."""
    for dependency in spec.depends_on:
        yield ("depends_on", dependency.name), dependency.name
    for index, entry in enumerate(spec.volumes_from):
        yield ("volumes_from", index), entry.split(":")[0]
    if spec.network_mode and spec.network_mode.startswith("container:"):
        yield ("network_mode",), spec.network_mode.removeprefix("container:")
    for key in ("ipc", "pid"):
        mode = getattr(spec, key) or ""
        if mode.startswith("container:"):
            yield (key,), mode.removeprefix("container:")


def referenced(spec: ContainerSpec) -> Iterator[tuple[str, Path_, str]]:
    """(kind, key path, name) of every resource this container needs before it is created."""
    for attachment in spec.networks:
        yield "network", ("networks", attachment.name), attachment.name
    for index, mount in enumerate(spec.mounts):
        if mount.type == "volume":
            yield "volume", ("mounts", index), mount.source
    for key in ("secrets", "configs"):
        for index, grant in enumerate(getattr(spec, key)):
            yield key.removesuffix("s"), (key, index), grant.source
    for path, name in _ordering(spec):
        yield "container", path, name


def _addresses(spec: ContainerSpec, state: DesiredState) -> Iterator[tuple[Path_, str]]:
    for attachment in spec.networks:
        network = state.networks.get(attachment.name)
        if attachment.ipv4_address is None or network is None:
            continue
        path = ("networks", attachment.name, "ipv4_address")
        if network.subnet is None:
            yield path, f"a fixed address needs a subnet on network '{network.name}'"
        elif ipaddress.ip_address(attachment.ipv4_address) not in ipaddress.ip_network(network.subnet):
            yield path, f"{attachment.ipv4_address} is not inside {network.name}'s subnet {network.subnet}"


def _cycles(state: DesiredState) -> list[list[str]]:
    """Each dependency cycle once, as the names along it, starting from its smallest name."""
    edges = {name: sorted({n for _, n in _ordering(spec) if n in state.containers})
             for name, spec in state.containers.items()}
    found: dict[tuple[str, ...], list[str]] = {}
    done: set[str] = set()

    def visit(name: str, trail: list[str]) -> None:
        if name in trail:
            cycle = trail[trail.index(name):]
            start = cycle.index(min(cycle))
            cycle = cycle[start:] + cycle[:start]
            found.setdefault(tuple(cycle), cycle)
            return
        if name in done:
            return
        for following in edges[name]:
            visit(following, [*trail, name])
        done.add(name)

    for name in sorted(edges):
        visit(name, [])
    return list(found.values())


def _never_met(spec: ContainerSpec, dependency: Dependency, target: ContainerSpec) -> str | None:
    """Why the dependency's condition can never be met by the container it names, or None: the
    planner starts a dependent only once its condition holds (DESIGN section 7), so a dependent
    that is to run would never converge. A stopped dependent waits for nothing."""
    name, condition = dependency.name, dependency.condition
    if target.state == "stopped" and spec.state != "stopped":
        return (f"'{name}' is declared state = \"stopped\": it is never started, so the condition {condition}"
                " is never met")
    if condition == "healthy" and target.healthcheck is None:
        return f"'{name}' has no healthcheck, so it never becomes healthy"
    return None


def check(state: DesiredState, place: Place) -> list[Problem]:
    problems = []
    declared = {"network": state.networks, "volume": state.volumes, "container": state.containers,
                "secret": state.secrets, "config": state.configs}
    for spec in state.containers.values():
        at = ("container", spec.name)
        for kind, path, name in referenced(spec):
            if name not in declared[kind]:
                hint = did_you_mean(name, declared[kind])
                problems.append(place(spec, (*at, *path), f"{kind} '{name}' is not declared{hint}"))
        for path, message in _addresses(spec, state):
            problems.append(place(spec, (*at, *path), message))
        for dependency in spec.depends_on:
            target = state.containers.get(dependency.name)
            problem = _never_met(spec, dependency, target) if target is not None else None
            if problem:
                problems.append(place(spec, (*at, "depends_on", dependency.name), problem))
    for cycle in _cycles(state):
        first = state.containers[cycle[0]]
        path = next(p for p, n in _ordering(first) if n == (cycle[1:] or cycle)[0])
        problems.append(place(first, ("container", first.name, *path),
                              "dependency cycle: " + " -> ".join([*cycle, cycle[0]])))
    return problems
