"""A network's and a volume's table -> `NetworkSpec` and `VolumeSpec`, with the engine's defaults
(driver bridge, local) and the IPAM addresses checked to fit together."""

from __future__ import annotations

import ipaddress
from typing import Any

from reconciler.desired import forms
from reconciler.desired.resource import Resource
from reconciler.model import NetworkSpec, VolumeSpec

PREDEFINED_NETWORKS = frozenset({"bridge", "host", "none"})
RESERVED_NETWORK = "default"  # Docker refuses to create it ("predefined default network"); Podman makes it, unused


def _ipam(r: Resource) -> dict[str, str]:
    """subnet, gateway and ip_range, checked to fit together."""
    body, ipam = r.body, {}
    parse = {"subnet": ipaddress.ip_network, "gateway": ipaddress.ip_address, "ip_range": ipaddress.ip_network}
    values = {}
    for key in ("subnet", "gateway", "ip_range"):
        if key in body:
            try:
                values[key] = parse[key](body[key])
                ipam[key] = str(values[key])
            except ValueError as error:
                r.error(key, str(error))
    subnet = values.get("subnet")
    for key in ("gateway", "ip_range"):
        if key in body and "subnet" not in r.written:
            r.error(key, f"{key} needs a subnet")
        elif subnet is not None and key in values and not _inside(values[key], subnet):
            r.error(key, f"{values[key]} is not inside the subnet {subnet}")
    return ipam


def _inside(value: Any, subnet: Any) -> bool:
    if value.version != subnet.version:
        return False
    return value.subnet_of(subnet) if hasattr(value, "subnet_of") else value in subnet


def network(r: Resource) -> NetworkSpec | None:
    name = r.path[-1]
    if name in PREDEFINED_NETWORKS:
        r.error((), f"'{name}' is a network the engine predefines; use network_mode = \"{name}\" instead")
    if name == RESERVED_NETWORK:
        r.error((), "'default' is a name Docker reserves (its default network mode): name the network otherwise "
                    "(Compose names a project's default network <project>_default)")
    body = r.body
    spec = NetworkSpec(
        name=name,
        source=r.source(),
        driver=body.get("driver", "bridge"),
        internal=body.get("internal", False),
        attachable=body.get("attachable", False),
        options=forms.string_map(body.get("options", {})),
        labels=r.labels(),
        hosts=r.hosts(),
        adopt=body.get("adopt", False),
        **_ipam(r),
    )
    return spec if r.ok else None


def volume(r: Resource) -> VolumeSpec | None:
    spec = VolumeSpec(
        name=r.path[-1],
        source=r.source(),
        driver=r.body.get("driver", "local"),
        options=forms.string_map(r.body.get("options", {})),
        labels=r.labels(),
        hosts=r.hosts(),
        adopt=r.body.get("adopt", False),
    )
    return spec if r.ok else None
