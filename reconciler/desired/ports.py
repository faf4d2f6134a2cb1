"""Host ports published more than once: a check across every container of the desired state.

The engine binds each published host port when a container starts, so two bindings of the same
port and protocol on overlapping addresses cannot both run ("address already in use"), whether
they are in one container or in two, in one file or in two. Addresses overlap as Docker binds
them: a binding without an address, or on 0.0.0.0, takes every IPv4 address and, since Docker
binds the IPv6 wildcard alongside, every IPv6 one; `::` takes every IPv6 address; any other
address only itself. An IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) is the IPv4 address: the
engine binds it as such (Go's net.IP.To4). Ports the engine chooses (no host port) never collide.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass

from reconciler.desired.problems import Path_, Problem
from reconciler.desired.references import Place
from reconciler.fields import PortMapping
from reconciler.model import ContainerSpec, DesiredState

_ALL = None  # in a scope: every address of that IP version


@dataclass(frozen=True)
class _Binding:
    spec: ContainerSpec
    index: int
    port: PortMapping

    @property
    def path(self) -> Path_:
        return ("container", self.spec.name, "ports", self.index)

    @property
    def scope(self) -> frozenset[tuple[int, str | None]]:
        """The (IP version, address or _ALL) pairs this binding takes on the host."""
        if self.port.host_ip is None:
            return frozenset({(4, _ALL), (6, _ALL)})
        address = ipaddress.ip_address(self.port.host_ip)
        address = getattr(address, "ipv4_mapped", None) or address
        if address.is_unspecified:
            return frozenset({(4, _ALL), (6, _ALL)} if address.version == 4 else {(6, _ALL)})
        return frozenset({(address.version, str(address))})

    @property
    def shown(self) -> str:
        """The address as a message shows it; an IPv4-mapped one as ::ffff: and the IPv4 address."""
        if self.port.host_ip is None:
            return "all addresses"
        mapped = getattr(ipaddress.ip_address(self.port.host_ip), "ipv4_mapped", None)
        return f"::ffff:{mapped}" if mapped else self.port.host_ip

    def collides(self, other: _Binding) -> bool:
        if (self.port.host_port, self.port.protocol) != (other.port.host_port, other.port.protocol):
            return False
        return any(version == other_version and (_ALL in (address, other_address) or address == other_address)
                   for version, address in self.scope for other_version, other_address in other.scope)


def _bindings(state: DesiredState) -> Iterator[_Binding]:
    """Every binding with a host port, in the order the containers are declared (file, line)."""
    declared = sorted(state.containers.values(), key=lambda s: (s.source.file, s.source.line or 0, s.name))
    for spec in declared:
        for index, port in enumerate(spec.ports):
            if port.host_port is not None:
                yield _Binding(spec, index, port)


def check(state: DesiredState, place: Place) -> list[Problem]:
    """A problem at each binding that collides with one declared before it, naming that one."""
    problems, seen = [], []
    for binding in _bindings(state):
        first = next((earlier for earlier in seen if earlier.collides(binding)), None)
        seen.append(binding)
        if first is None:
            continue
        at = place(first.spec, first.path, "")
        owner = "this container" if first.spec is binding.spec else f"container '{first.spec.name}'"
        port = f"{binding.port.host_port}/{binding.port.protocol}"
        problems.append(place(binding.spec, binding.path,
                              f"host port {port} on {binding.shown} is already published by {owner} on"
                              f" {first.shown} ({at.file}:{at.line}, ports[{first.index}])"))
    return problems
