"""Compose's merge of several files (compose-spec 13-merge.md; compose-go `override.Merge` and
`override.EnforceUnicity`), on trees that keep their origins: the origin of a merged value is the
origin of the value that won.

Mappings are merged key by key, later files winning; sequences are appended, then made unique by
Compose's key for the paths that have one (ports as written, expose, volumes and devices by
target, secrets and configs by target, environment/labels/sysctls... by the name before `=`), a
later entry replacing an earlier one in its place. `command`, `entrypoint` and `healthcheck.test`
are replaced; environment, labels and the like merge by name whether written as a mapping or as a
list; `depends_on` and a service's `networks` merge by name; `build` as a string is its
`context`; `logging` options merge only when the driver is the same; `ulimits` entries are
replaced; an IPAM config merges by subnet. `!reset` drops what the earlier files gave at a path,
`!override` replaces it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reconciler.desired.problems import Problem, dotted
from reconciler.importing.compose_tree import ComposeError, Map, Seq, copy, matches
from reconciler.importing.compose_yaml import Document
from reconciler.importing.project import ModelPath, Origin

_S = ("services", "*")
_REPLACED = [(*_S, "command"), (*_S, "entrypoint"), (*_S, "healthcheck", "test"), (*_S, "ulimits", "*")]
_BY_NAME = [
    (*_S, key) for key in ("environment", "labels", "annotations", "sysctls")
] + [(*_S, "build", key) for key in ("args", "labels", "additional_contexts")] + [
    (*_S, "deploy", "labels"), ("networks", "*", "labels"), ("volumes", "*", "labels"),
]
_AS_MAPPING = [(*_S, "depends_on"), (*_S, "networks"), (*_S, "models")]
_AS_LIST = [(*_S, key) for key in ("dns", "dns_opt", "dns_search", "tmpfs", "env_file", "label_file")]


def _name_key(item: Any) -> str:
    return str(item).split("=", 1)[0]


def _target(item: Any) -> str:
    if isinstance(item, dict):
        return str(item.get("target"))
    parts = str(item).split(":")
    return parts[1] if len(parts) > 1 else parts[0]


def _mount_key(default: str) -> Callable[[Any], str]:
    def key(item: Any) -> str:
        if isinstance(item, dict):
            return str(item.get("target") or f"{default}/{item.get('source')}")
        return f"{default}/{item}"

    return key


def _port_key(item: Any) -> str:
    if isinstance(item, dict):
        host, published = item.get("host_ip", "0.0.0.0"), item.get("published", "")
        return f"{host}:{published}:{item.get('target')}/{item.get('protocol', 'tcp')}"
    return str(item)


def _env_file_key(item: Any) -> str:
    return str(item.get("path")) if isinstance(item, dict) else str(item)


# compose-go override/uncity.go
UNIQUE: dict[tuple[str, ...], Callable[[Any], str]] = {
    **{(*_S, key): _name_key for key in (
        "annotations", "cap_add", "cap_drop", "dns", "dns_opt", "dns_search", "environment", "labels", "links",
        "profiles", "sysctls", "tmpfs",
    )},
    **{(*_S, "build", key): _name_key for key in ("args", "additional_contexts", "platforms", "tags", "labels")},
    (*_S, "deploy", "labels"): _name_key,
    (*_S, "networks", "*", "aliases"): _name_key,
    (*_S, "networks", "*", "link_local_ips"): _name_key,
    ("networks", "*", "labels"): _name_key,
    ("networks", "*", "ipam", "options"): _name_key,
    (*_S, "devices"): _target,
    (*_S, "volumes"): _target,
    (*_S, "configs"): _mount_key(""),
    (*_S, "secrets"): _mount_key("/run/secrets"),
    (*_S, "ports"): _port_key,
    (*_S, "expose"): str,
    (*_S, "env_file"): _env_file_key,
}


def _any(patterns: list[tuple[str, ...]], path: ModelPath) -> bool:
    return any(matches(pattern, path) for pattern in patterns)


def _as_seq(value: Any, origin: Origin) -> Seq:
    """A list form of a mapping (`KEY=VALUE`, or `KEY` for a null), a string, or a list."""
    if isinstance(value, Seq):
        return value
    if isinstance(value, Map):
        items = Seq()
        for key, item in value.items():
            text = key if item is None else f"{key}={_go_text(item)}"
            items.add(text, value.at.get(key, origin))
        return items
    return Seq([value], at=[origin])


def _go_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _as_map(value: Any, default: Any = None) -> Map:
    if isinstance(value, Map):
        return value
    return Map({str(item): copy(default) for item in value}, at=dict(zip(map(str, value), value.at, strict=True)))


def merge(base: Any, over: Any, path: ModelPath, origin: Origin) -> Any:
    """`over` (a later file's value at `path`, written at `origin`) merged onto `base`."""
    if _any(_REPLACED, path):
        return over
    if over is None:
        return base
    if _any(_BY_NAME, path) and isinstance(base, Map) != isinstance(over, Map):
        return _append(_as_seq(base, origin), _as_seq(over, origin))
    if _any(_AS_MAPPING, path) and isinstance(base, Map) != isinstance(over, Map):
        depends = path[-1] == "depends_on"
        default = Map({"condition": "service_started", "required": True}, at={}) if depends else None
        return _merge_maps(_as_map(base, default), _as_map(over, default), path)
    if _any(_AS_LIST, path):
        return _append(_as_seq(base, origin), _as_seq(over, origin))
    if matches((*_S, "build"), path) and (isinstance(base, str) or isinstance(over, str)):
        base = base if isinstance(base, Map) else Map({"context": base}, at={"context": origin})
        over = over if isinstance(over, Map) else Map({"context": over}, at={"context": origin})
    if matches((*_S, "logging"), path) and isinstance(base, Map) and isinstance(over, Map):
        if "driver" in base and "driver" in over and base["driver"] != over["driver"]:
            return over
    if matches(("networks", "*", "ipam", "config"), path) and isinstance(base, Seq) and isinstance(over, Seq):
        return _merge_ipam(base, over, path)
    if isinstance(base, Map) and isinstance(over, Map):
        return _merge_maps(base, over, path)
    if isinstance(base, Seq) and isinstance(over, Seq):
        return _append(base, over)
    if isinstance(base, Map | Seq) and isinstance(over, Map | Seq):
        raise ComposeError([Problem(origin.file, origin.line, dotted(path), "cannot override a mapping with a list")])
    return over


def _append(base: Seq, over: Seq) -> Seq:
    return Seq([*base, *over], at=[*base.at, *over.at])


def _merge_maps(base: Map, over: Map, path: ModelPath) -> Map:
    result = Map(base, at=base.at)
    for key, item in over.items():
        origin = over.at.get(key) or base.at.get(key)
        value = merge(result[key], item, (*path, key), origin) if key in result else item
        result.put(key, value, origin if key not in result or value is item else result.at[key])
    return result


def _merge_ipam(base: Seq, over: Seq, path: ModelPath) -> Seq:
    result = Seq(base, at=base.at)
    for item, origin in zip(over, over.at, strict=True):
        subnet = item.get("subnet") if isinstance(item, dict) else None
        same = [i for i, old in enumerate(result) if isinstance(old, Map) and old.get("subnet") == subnet]
        if same and isinstance(item, Map):
            result[same[0]] = _merge_maps(result[same[0]], item, (*path, same[0]))
        else:
            result.add(item, origin)
    return result


def unique(tree: Any, path: ModelPath = ()) -> Any:
    """The tree with the sequences Compose keys made unique: a later entry replaces an earlier one
    with the same key, in the earlier one's place (in place; returns the tree)."""
    if isinstance(tree, Map):
        for key in list(tree):
            tree[key] = unique(tree[key], (*path, key))
    elif isinstance(tree, Seq):
        key_of = next((key for pattern, key in UNIQUE.items() if matches(pattern, path)), None)
        if key_of is not None:
            kept, at, where = [], [], {}
            for item, origin in zip(tree, tree.at, strict=True):
                key = key_of(item)
                if key in where:
                    kept[where[key]], at[where[key]] = item, origin
                else:
                    where[key] = len(kept)
                    kept.append(item)
                    at.append(origin)
            tree = Seq(kept, at=at)
        for index, item in enumerate(tree):
            tree[index] = unique(item, (*path, index))
    return tree


def _drop(tree: Map, path: ModelPath) -> None:
    node: Any = tree
    for part in path[:-1]:
        if not isinstance(node, Map) or part not in node:
            return
        node = node[part]
    if isinstance(node, Map):
        node.drop(str(path[-1]))


def merge_document(base: Map, document: Document) -> Map:
    """A later file's document merged onto what the earlier ones gave (Compose's merge, then
    `!reset`/`!override` honoured, then sequences made unique)."""
    for path in [*document.resets, *document.overrides]:
        _drop(base, path)
    return unique(_merge_maps(base, document.tree, ()))
