"""A Compose project's top-level networks, volumes, secrets and configs as `[network.NAME]`,
`[volume.NAME]`, `[secret.NAME]` and `[config.NAME]` tables (docs/format.md, "Top-level elements,
networks, volumes, secrets and configs").

`names` decides, before any service is converted, what each key is called here and which ones are
not written (an `external` secret or config: made outside, it cannot be referenced here), so that
the services name them right; the builders then write the tables. An `external` network or volume
is written `adopt = true` under the name Compose uses (its `name:`, else its key): the reconciler
takes it over as it is and never creates, changes or removes it (docs/adoption.md); `external:
false` is Compose's default, and says nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.desired.compose_only import WHY_NOT, compose_hint
from reconciler.importing.compose_labels import carry_labels
from reconciler.importing.compose_values import NO_EQUIVALENT, Scope, schema_node
from reconciler.importing.emit import Resource

_KINDS = {"networks": "network", "volumes": "volume", "secrets": "secret", "configs": "config"}
_OPTIONS = {"driver_opts": "options"}
_IPAM_POOL = ("subnet", "gateway", "ip_range")


def names(scope: Scope) -> None:
    """Fill `scope.written_names` and `scope.left_out` for every top-level network, volume, secret
    and config, and the default network (`<project>_default` when the project runs)."""
    model = scope.project.model
    for top, kind in _KINDS.items():
        for key, body in (model.get(top) or {}).items():
            body = body or {}
            external = body.get("external")
            if external and kind in ("network", "volume"):
                legacy = external.get("name") if isinstance(external, Mapping) else None  # external: {name: N}
                scope.written_names[(kind, key)] = body.get("name") or legacy or key
                scope.external.add((kind, key))
                continue
            if external:
                scope.left_out[(kind, key)] = compose_hint(kind, "external") or WHY_NOT["volume"]["external"]
                continue
            name = body.get("name") if kind in ("network", "volume") else None
            named = getattr(scope.naming, kind)(key, name) if kind in ("network", "volume") else key
            scope.written_names[(kind, key)] = named
    if ("network", "default") not in scope.written_names and ("network", "default") not in scope.left_out:
        scope.written_names[("network", "default")] = scope.naming.network("default", None)


def resources(scope: Scope) -> dict[str, list[Resource]]:
    """File name -> the tables of the top-level elements written (`networks.toml`...)."""
    files: dict[str, list[Resource]] = {}
    model = scope.project.model
    for top, kind in _KINDS.items():
        for key, body in (model.get(top) or {}).items():
            path = (top, key)
            body = {option: value for option, value in (body or {}).items() if (option, value) != ("external", False)}
            if (kind, key) in scope.left_out:
                scope.skip((*path, "external"), scope.left_out[(kind, key)])
                continue
            if kind == "network" and key == "default" and not scope.default_network_used and not body:
                continue
            if (kind, key) in scope.external:
                files.setdefault(f"{top}.toml", []).append(_external(scope, kind, key, body))
                continue
            files.setdefault(f"{top}.toml", []).append(_BUILDERS[kind](scope, key, body or {}))
    default = ("network", "default")
    if scope.default_network_used and "default" not in (model.get("networks") or {}):
        comment = "Compose's default network: the services without networks join it"
        files.setdefault("networks.toml", []).insert(0, Resource("network", scope.written_names[default], {}, {},
                                                                 comment))
    return files


def _external(scope: Scope, kind: str, key: str, body: Mapping[str, Any]) -> Resource:
    """An `external` network or volume: adopted as it is; its other keys describe nothing here."""
    for option in set(body) - {"external", "name"}:
        scope.skip((f"{kind}s", key, option), "the resource is external: made outside, adopted as it is")
    name = scope.written_names[(kind, key)]
    named = f"{kind} {key}" if name == key else f"{kind} {key}, named {name}"
    return Resource(kind, name, {"adopt": True}, {}, f"{named}: external, made outside Compose, taken over as it is")


def _comment(scope: Scope, kind: str, key: str) -> str:
    name = scope.written_names[(kind, key)]
    return f"{kind} {key}" if name == key else f"{kind} {key}, named {name} as Compose names it"


def _network(scope: Scope, key: str, body: Mapping[str, Any]) -> Resource:
    path = ("networks", key)
    table: dict[str, Any] = {}
    notes: dict[str, str] = {}
    for option, value in body.items():
        where = (*path, option)
        if option == "name":
            continue
        if option == "ipam":
            table.update(_ipam(scope, where, value))
            notes.update({pool: "from ipam.config" for pool in _IPAM_POOL if pool in table})
        elif option in ("enable_ipv6", "enable_ipv4"):
            if value is not (option == "enable_ipv4"):
                scope.skip(where, "networks are IPv4 only here (docs/format.md)")
        else:
            _carry(scope, "network", where, option, value, table, notes)
    return Resource("network", scope.written_names[("network", key)], table, notes, _comment(scope, "network", key))


def _ipam(scope: Scope, path: tuple, ipam: Mapping[str, Any]) -> dict[str, Any]:
    """One IPv4 pool of the default IPAM driver: its subnet, gateway and ip_range."""
    out: dict[str, Any] = {}
    for key, value in ipam.items():
        if key == "config" and value:
            pool = value[0]
            for option, item in pool.items():
                if option in _IPAM_POOL:
                    out[option] = scope.carry((*path, key, 0, option), item)
                else:
                    scope.skip((*path, key, 0, option), NO_EQUIVALENT)
            for index in range(1, len(value)):
                scope.skip((*path, key, index), "one address pool per network here")
        elif key != "driver" or value != "default":
            scope.skip((*path, key), "the default IPAM driver only, without options, here")
    return out


def _volume(scope: Scope, key: str, body: Mapping[str, Any]) -> Resource:
    path = ("volumes", key)
    table: dict[str, Any] = {}
    notes: dict[str, str] = {}
    for option, value in body.items():
        if option != "name":
            _carry(scope, "volume", (*path, option), option, value, table, notes)
    return Resource("volume", scope.written_names[("volume", key)], table, notes, _comment(scope, "volume", key))


def _grant(kind: str):
    def build(scope: Scope, key: str, body: Mapping[str, Any]) -> Resource:
        path = (f"{kind}s", key)
        table: dict[str, Any] = {}
        for option, value in body.items():
            where = (*path, option)
            if option == "environment":
                scope.reads(str(value))
            if option in schema_node(kind).get("properties", {}) and option != "hosts":
                carried = scope.carry(where, value)
                if carried is not None:
                    table[option] = carried
            else:
                scope.skip(where, compose_hint(kind, option) or NO_EQUIVALENT)
        return Resource(kind, key, table, {}, f"{kind} {key}")
    return build


def _carry(scope: Scope, kind: str, where: tuple, option: str, value: Any, table: dict, notes: dict) -> None:
    ours = _OPTIONS.get(option, option)
    node = schema_node(kind, ours)
    if option.startswith("x-") or not node or ours == "hosts":
        scope.skip(where, compose_hint(kind, option) or NO_EQUIVALENT)
        return
    carried = carry_labels(scope, where, value, node) if ours == "labels" else scope.carry(where, value, node)
    if carried is not None:
        table[ours] = carried
        if ours != option:
            notes[ours] = f"from {option}"


_BUILDERS = {"network": _network, "volume": _volume, "secret": _grant("secret"), "config": _grant("config")}
