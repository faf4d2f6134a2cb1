"""The unowned containers an adoption may take over, read from the engine's answers. Pure.

A container holds a declared name, or a parked name of one: `NAME--prev-ID`, the name an
adoption gives the container it takes over until the new one runs (see `reconciler.adoption`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from reconciler.model import ContainerSpec
from runtime.base import ObservedContainer, UnownedContainer

_PARKED = re.compile(r"^(?P<name>.+)--prev-[0-9a-f]{12}$")


def claimed_name(engine_name: str) -> str:
    """The declared name a container stands for by its engine name: NAME for `NAME--prev-ID`."""
    parked = _PARKED.match(engine_name)
    return parked.group("name") if parked else engine_name


def holds(engine_name: str, wanted: Iterable[str]) -> bool:
    """Whether a container named `engine_name` holds one of `wanted`, or a parked name of one."""
    return claimed_name(engine_name) in set(wanted)


def anonymous(volume: str) -> bool:
    """The engine names an anonymous volume with 64 hex digits."""
    return len(volume) == 64 and all(ch in "0123456789abcdef" for ch in volume)


def from_inspect(
    inspected: Mapping[str, Any], observed: ObservedContainer, image: Mapping[str, Any] | None = None
) -> UnownedContainer:
    """An inspect answer (Docker's and Podman's compatible API, 1.41) as an unowned container:
    `observed` is what the observe step made of it, `image` its image's inspect answer when the
    image is still there; env values are dropped here, names kept."""
    config = inspected.get("Config") or {}
    host = inspected.get("HostConfig") or {}
    bindings = host.get("PortBindings") or {}
    ports = frozenset(f"{b.get('HostPort') or ''}:{port}" for port, found in bindings.items() for b in found or ())
    return UnownedContainer(
        observed=observed,
        image=config.get("Image") or "",
        command=tuple(config.get("Cmd") or ()),
        entrypoint=tuple(config.get("Entrypoint") or ()),
        env_keys=frozenset(entry.partition("=")[0] for entry in config.get("Env") or ()),
        ports=ports,
        restart=(host.get("RestartPolicy") or {}).get("Name") or "no",
        binds={m["Destination"]: m["Source"] for m in inspected.get("Mounts") or ()
               if m.get("Type") == "bind" and m.get("Destination") and m.get("Source")},
        image_labels=dict(((image or {}).get("Config") or {}).get("Labels") or {}),
    )


def port_texts(spec: ContainerSpec) -> frozenset[str]:
    """The published ports of `spec` as `UnownedContainer.ports` writes them ("8080:80/tcp")."""
    return frozenset(f"{p.host_port or ''}:{p.container_port}/{p.protocol}" for p in spec.ports)


def from_spec(spec: ContainerSpec, observed: ObservedContainer) -> UnownedContainer:
    """What an engine that created a container from `spec` would show of it (the in-memory engine's)."""
    return UnownedContainer(
        observed=observed, image=spec.image, command=spec.command or (), entrypoint=spec.entrypoint or (),
        env_keys=frozenset(spec.env), ports=port_texts(spec), restart=spec.restart.partition(":")[0],
        binds={m.target: m.source for m in spec.mounts if m.type == "bind" and m.source},
    )
