"""The service keys that name other resources of the project: networks, volumes (our `mounts`),
`depends_on`, `volumes_from`, `network_mode`/`ipc`/`pid`'s `service:NAME`, and `ports`, whose
forms differ a little. Each name is written as the resource's name here (`compose_names`); a
reference to a resource that is not written (external, or a service left out by profiles) is
skipped with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from reconciler.importing.compose_values import Scope, Unwritable, schema_node
from reconciler.importing.project import ModelPath

_HOSTNAME = re.compile(r"[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?")
_HOST_PATH = ("/", ".", "~")
_RANGE = re.compile(r"\d-\d")
_MODES = ("ingress", "host")  # a long-form port's mode (Swarm's PublishMode): one host publishes on itself either way


def _mount_item() -> Mapping[str, Any]:
    return schema_node("container", "mounts")["items"]


def mounts(scope: Scope, path: ModelPath, value: list) -> list:
    """Compose's `volumes`, short or long form, as `mounts`: a named volume by its name here; an
    anonymous volume is skipped (no form here; adoption keeps a running container's)."""
    out = []
    for index, item in enumerate(value):
        where = (*path, index)
        converted = _short_mount(scope, where, item) if isinstance(item, str) else _long_mount(scope, where, item)
        if converted is not None:
            out.append(converted)
    return out


def _anonymous(scope: Scope, where: ModelPath) -> None:
    scope.skip(where, "an anonymous volume has no form here (declare a named volume); adoption of the running "
                      "container mounts its volume into the new container, as every later replacement does, keeping "
                      "its data")


def _volume_name(scope: Scope, where: ModelPath, key: str) -> str | None:
    why = scope.left_out.get(("volume", key))
    if why:
        scope.skip(where, f"volume {key} is not written: {why}")
        return None
    return scope.written_names.get(("volume", key), key)


def _short_mount(scope: Scope, where: ModelPath, item: str) -> str | None:
    parts = item.split(":")
    if len(parts) == 1:
        _anonymous(scope, where)
        return None
    written = scope.project.written.get(where)
    written_parts = written.split(":") if written is not None else [None] * len(parts)
    if len(written_parts) != len(parts):
        scope.skip(where, "an interpolation that gives ':' cannot be written part by part; write the mount out")
        return None
    try:
        texts = [scope.text_as(w, p) for w, p in zip(written_parts, parts, strict=True)]
    except Unwritable as why:
        scope.skip(where, str(why))
        return None
    if not parts[0].startswith(_HOST_PATH):
        name = _volume_name(scope, where, parts[0])
        if name is None:
            return None
        texts[0] = name
    return ":".join(texts)


def _long_mount(scope: Scope, where: ModelPath, item: Mapping[str, Any]) -> Mapping[str, Any] | None:
    kind = item.get("type")
    if kind not in ("volume", "bind", "tmpfs"):
        scope.skip(where, f"a mount of type {kind}: only volume, bind and tmpfs are mounted here")
        return None
    if kind == "volume" and not item.get("source"):
        _anonymous(scope, where)
        return None
    carried = scope.carry(where, item, _mount_item())
    if kind == "volume":
        name = _volume_name(scope, where, str(item["source"]))
        if name is None:
            return None
        carried["source"] = name
    return carried


def networks(scope: Scope, path: ModelPath, value: Any) -> dict[str, Any]:
    """`networks` as a table, each attachment with the service's name as its first alias (Compose
    gives every container its service's name on each of its networks)."""
    service = str(path[1])
    entries = value.items() if isinstance(value, Mapping) else ((name, None) for name in value)
    out = {}
    for key, attachment in entries:
        where = (*path, key)
        why = scope.left_out.get(("network", key))
        if why:
            scope.skip(where, f"network {key} is not written: {why}")
            continue
        scope.default_network_used |= key == "default"
        table = scope.carry(where, attachment or {}, schema_node("attachment")) or {}
        aliases = [alias for alias in table.get("aliases", []) if alias != service]
        if _HOSTNAME.fullmatch(service):
            aliases.insert(0, service)
        out[scope.written_names.get(("network", key), key)] = {**table, "aliases": aliases} if aliases else table
    return out


def ports(scope: Scope, path: ModelPath, value: list) -> list:
    """`ports` as written (a long form's `mode`, ingress or host, too); a port range (not taken
    here) is skipped: write one entry per port; so is a string that is no port form, and a mode
    that is neither, with the reason."""
    pattern = re.compile(schema_node("port")["anyOf"][1]["pattern"])
    out = []
    for index, item in enumerate(value):
        where = (*path, index)
        if isinstance(item, str) and not pattern.match(item):
            ranged = _RANGE.search(item)
            scope.skip(where, "a port range: write one entry per port" if ranged else
                       "not a port: [[IP:]HOST:]CONTAINER[/PROTOCOL] with port numbers (Compose refuses it too)")
            continue
        if isinstance(item, Mapping):
            if item.get("mode", "ingress") not in _MODES:
                scope.skip((*where, "mode"), "not a publish mode: ingress or host (Swarm's PublishMode)")
                item = {key: inner for key, inner in item.items() if key != "mode"}
            if "-" in str(item.get("published", "")) or "-" in str(item.get("target", "")):
                scope.skip(where, "a port range: write one entry per port")
                continue
        carried = scope.carry(where, item, schema_node("port"))
        if carried is not None:
            out.append(carried)
    return out


def service_ref(scope: Scope, path: ModelPath, value: Any) -> Any:
    """`service:NAME` -> `container:<NAME's container>`; anything else as written."""
    if isinstance(value, str) and value.startswith("service:"):
        return "container:" + scope.containers.get(value.removeprefix("service:"), value.removeprefix("service:"))
    return scope.carry(path, value)


def volumes_from(scope: Scope, path: ModelPath, value: list) -> list:
    """`SERVICE[:ro|rw]` -> `<its container>[:ro|rw]`; `container:NAME[:ro|rw]` as written."""
    out = []
    for index, item in enumerate(value):
        if item.startswith("container:"):
            out.append(scope.carry((*path, index), item))
            continue
        source, sep, mode = item.partition(":")
        out.append(scope.containers.get(source, source) + sep + mode)
    return out


def depends_on(scope: Scope, path: ModelPath, value: Any) -> Any:
    """`depends_on` by container name; the short form as a list, the long form as a table of
    conditions. A dependency on a service left out by profiles is skipped (an optional one,
    `required: false`, as Compose leaves it out)."""
    entries = value.items() if isinstance(value, Mapping) else ((name, None) for name in value)
    table: dict[str, str] = {}
    for service, entry in entries:
        where = (*path, service)
        if service in scope.project.inactive:
            profiles = ", ".join(scope.project.inactive[service])
            required = "" if (entry or {}).get("required", True) else " (required: false)"
            scope.skip(where, f"service {service}{required} is left out: its profiles ({profiles}) are not active")
            continue
        for key in set(entry or {}) - {"condition", "required"}:
            scope.skip((*where, key), "no equivalent here: the reconciler replaces a container only when its own "
                                      "spec changes")
        table[scope.containers.get(service, service)] = (entry or {}).get("condition", "service_started")
    if not isinstance(value, Mapping):
        return list(table)
    return table


def grants(scope: Scope, path: ModelPath, value: list) -> list:
    """A service's `secrets` or `configs`: those of a grant that is not written are skipped; a
    `mode` (a number: YAML's `0440` is 288) is written as its octal text, `"0440"`."""
    kind = str(path[-1])[:-1]
    out = []
    for index, item in enumerate(value):
        source = item.get("source") if isinstance(item, Mapping) else item
        why = scope.left_out.get((kind, str(source)))
        if why:
            scope.skip((*path, index), f"{kind} {source} is not written: {why}")
            continue
        carried = scope.carry((*path, index), item, schema_node("file_grant"))
        if isinstance(carried, Mapping) and type(carried.get("mode")) is int:
            carried = {**carried, "mode": f"0{carried['mode']:o}"}
        if carried is not None:
            out.append(carried)
    return out
