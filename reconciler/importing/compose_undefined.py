"""A service's references to what the project does not define, refused as Compose v2 refuses
them (compose-go `loader` checks: "service NAME refers to undefined volume|network|secret|config
X", "service NAME depends on undefined service X"): a named volume, a network, a secret or a
config the top level does not declare, and a `depends_on`, `volumes_from` or `service:NAME` on a
service the files do not have. The network `default` is always defined.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from reconciler.desired.problems import Problem
from reconciler.importing.compose_schema import nearest_origin
from reconciler.importing.compose_tree import problem
from reconciler.importing.project import ModelPath, Origin

_HOST_PATH = ("/", ".", "~")
_NAMESPACES = ("network_mode", "ipc", "pid")


def _names(value: Any) -> Iterator[tuple[int | str, Any]]:
    """(key or index, name) of a list of names or a mapping keyed by them."""
    if isinstance(value, Mapping):
        yield from ((key, key) for key in value)
    elif isinstance(value, list):
        yield from enumerate(value)


def _volume(item: Any) -> str | None:
    if isinstance(item, str):
        source, sep, _ = item.partition(":")
        return source if sep and source and not source.startswith(_HOST_PATH) else None
    if isinstance(item, Mapping) and item.get("type") == "volume":
        return item.get("source") or None
    return None


def _references(body: Mapping[str, Any]) -> Iterator[tuple[tuple[int | str, ...], str, str]]:
    """(path inside the service, what, name) of each reference of one service."""
    for index, item in enumerate(body.get("volumes") or ()):
        if _volume(item):
            yield ("volumes", index), "volume", str(_volume(item))
    for key, name in _names(body.get("networks")):
        yield ("networks", key), "network", str(name)
    for kind in ("secrets", "configs"):
        for index, item in enumerate(body.get(kind) or ()):
            source = item.get("source") if isinstance(item, Mapping) else item
            yield (kind, index), kind[:-1], str(source)
    for key, name in _names(body.get("depends_on")):
        yield ("depends_on", key), "service", str(name)
    for index, item in enumerate(body.get("volumes_from") or ()):
        if isinstance(item, str) and not item.startswith("container:"):
            yield ("volumes_from", index), "service", item.partition(":")[0]
    for key in _NAMESPACES:
        value = body.get(key)
        if isinstance(value, str) and value.startswith("service:"):
            yield (key,), "service", value.removeprefix("service:")


def undefined(model: Mapping[str, Any], origins: Mapping[ModelPath, Origin], file: str) -> list[Problem]:
    """Each reference of a service to a volume, network, secret, config or service `model` does
    not define, at FILE:LINE: key.path (`file` for one with no origin)."""
    defined = {kind: set(model.get(f"{kind}s") or {}) for kind in ("volume", "network", "secret", "config", "service")}
    defined["network"].add("default")
    problems = []
    for service, body in (model.get("services") or {}).items():
        for inner, kind, name in _references(body if isinstance(body, Mapping) else {}):
            if name in defined[kind]:
                continue
            path = ("services", service, *inner)
            verb = "depends on" if kind == "service" else "refers to"
            problems.append(problem(nearest_origin(path, origins), path, f"{verb} undefined {kind} {name!r} (Compose "
                                                                  "refuses it too)", file))
    return problems

