"""Per-field diffs with values, between two specs of one container, that never show a secret. Pure.

What a plan prints under a change line (`env.GREETING: "hello" -> "bonjour"`, `+ mounts[2]: ...`,
`- dns[0]: ...`), what `plan --json`, the agent's logs and the status carry: one `FieldDiff` per
value that differs, found by walking two views of a spec side by side.

A view is a spec as JSON-able data (`view`): the fields that define the engine object only (not
those outside the hash that steer the reconciler, such as `state` or `depends_on`, nor those the
canonical form leaves out), each at its default where a record from an earlier release lacks it,
the limits Compose writes at the top level (`cpu_shares`, `blkio_config`, ...) as keys of their
own, ports in Compose's short form (`"127.0.0.1:8080:80"`) and sizes in units (`"64m"`). Every
string that contains a secret value is a `Hidden` keyed hash (DESIGN section 11): two are equal
when their texts are, and a change prints as `(secret changed)`. Views come from last-applied
records (`reconciler.agent.lastapplied`, which hide secrets the same way), from the desired spec
(recorded with the same key), or, for drift, from what inspect reports (`observed_diff`: any
part of a view, compared with the same part of the spec's).

Paths name the file's keys: `env.GREETING`, `labels."com.example.tier"`, `ports[0]`,
`resources.memory`, `healthcheck.interval`, `mounts[1].read_only`. Lists are matched as
sequences (difflib): an item inserted at the front is one `+`, not a change of every item.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
import types
import typing
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.agent.lastapplied import SECRET, record
from reconciler.desired.filesources import keyed_hash
from reconciler.model import NOT_HASHED, TOP_LEVEL_LIMITS, ContainerSpec

ADDED, REMOVED, CHANGED = "+", "-", "~"
SECRET_TEXT = "(secret)"

# Byte sizes shown in Compose's units: (parent key, field)
_SIZES = {("resources", "memory"), ("resources", "memory_reservation"), ("resources", "shm_size"),
          ("memswap_limit", None), ("mounts", "tmpfs_size")}
# A secret grant's keyed hash of its value: hidden, and a change of it is the grant's (`secrets[0]: (secret changed)`)
_VALUE_HASH = "digest"
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Hidden:
    """A string that holds a secret value, as its keyed hash ("hmac-sha256:HEX"): never shown."""

    digest: str = dataclasses.field(repr=False)

    def __repr__(self) -> str:
        return SECRET_TEXT


@dataclass(frozen=True)
class FieldDiff:
    """One difference: at `path`, `old` became `new` (`op` "~"), `new` was added (`op` "+", `old`
    None) or `old` was removed (`op` "-", `new` None). Values are JSON-able views, where a string
    that holds a secret is a `Hidden`."""

    path: str
    old: Any
    new: Any
    op: str = CHANGED

    @property
    def secret(self) -> bool:
        """Whether either side holds a secret value (shown only as `(secret)`)."""
        return _has_hidden(self.old) or _has_hidden(self.new)

    def __str__(self) -> str:
        if self.op == ADDED:
            return f"+ {self.path}: {show(self.new)}"
        if self.op == REMOVED:
            return f"- {self.path}: {show(self.old)}"
        if isinstance(self.old, Hidden) or isinstance(self.new, Hidden):
            return f"{self.path}: (secret changed)"
        return f"{self.path}: {show(self.old)} -> {show(self.new)}"

    def data(self) -> dict[str, Any]:
        """As plan JSON, the status and logs carry it: {"path", "op", "old", "new", "secret",
        "text"}; a secret value is the string "(secret)", `old`/`new` null where there is none."""
        return {"path": self.path, "op": self.op, "old": _public(self.old), "new": _public(self.new),
                "secret": self.secret, "text": str(self)}


def diff_values(old: Any, new: Any, path: str = "") -> tuple[FieldDiff, ...]:
    """Every difference between two views (or parts of views) under `path`: mappings key by key
    (sorted), lists as sequences, anything else as one value; None on one side is an add or a
    removal. An empty result: they are equal."""
    if old == new:
        return ()
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        found: list[FieldDiff] = []
        for key in sorted(old.keys() | new.keys()):
            where = path if _is_value_hash(key, old, new) else _join(path, key)
            found += diff_values(old.get(key), new.get(key), where)
        return tuple(found)
    if isinstance(old, list) and isinstance(new, list):
        return _list_diff(path, old, new)
    if old is None:
        return (FieldDiff(path, None, new, ADDED),)
    if new is None:
        return (FieldDiff(path, old, None, REMOVED),)
    return (FieldDiff(path, old, new, CHANGED),)


def view(data: Mapping[str, Any], secrets: Collection[str] = (), key: bytes = b"",
         kind: type = ContainerSpec) -> dict[str, Any]:
    """The view of a spec recorded as `lastapplied.record` does (`data`): see the module's
    docstring. A string containing one of `secrets` (texts, hashed with `key`) is hidden too, so a
    value recorded in clear that is secret now is never shown. Raises ValueError when `data` is
    not a record of a `kind`."""
    hide = _hider(secrets, key)
    try:
        top = {name: value for name, value in _typed(kind, data, hide).items() if name not in NOT_HASHED}
    except (AttributeError, KeyError, TypeError) as error:
        raise ValueError(f"not a record of a {kind.__name__}: {error}") from None
    limits = top.get("resources") or {}
    top.update({file_key: limits[name] for name, file_key in TOP_LEVEL_LIMITS.items() if name in limits})
    if "resources" in top:
        top["resources"] = {name: value for name, value in limits.items() if name not in TOP_LEVEL_LIMITS}
    if top.get("secrets"):
        top["secrets"] = [{**grant, _VALUE_HASH: Hidden(grant[_VALUE_HASH])}
                          if isinstance(grant.get(_VALUE_HASH), str) and grant[_VALUE_HASH] else grant
                          for grant in top["secrets"]]
    return {name: _presented(name, value) for name, value in top.items()}


def spec_view(spec: ContainerSpec, secrets: Collection[str], key: bytes) -> dict[str, Any]:
    """The view of a desired spec, its secret values hidden under `key` as a last-applied record's are."""
    return view(record(spec, secrets, key), secrets, key)


def diff_specs(old: Mapping[str, Any], new: ContainerSpec, secrets: Collection[str],
               key: bytes) -> tuple[FieldDiff, ...]:
    """What changes from the spec recorded as `old` (a last-applied record's "spec") to `new`.
    Raises ValueError when `old` is not a record of a container spec."""
    return diff_values(view(old, secrets, key), spec_view(new, secrets, key))


def observed_diff(seen: Mapping[str, Any], spec: ContainerSpec, secrets: Collection[str],
                  key: bytes) -> tuple[FieldDiff, ...]:
    """What healing drift changes, from what inspect shows to `spec`: `seen` is part of a view as
    the engine holds it (top-level key -> value, such as {"env": {"GREETING": "bonjour"},
    "command": ["sleep", "60"]}; a declared variable the container lacks as None), compared in
    key order with the same keys of the spec's view, and of a table only the entries `seen` holds
    (the caller leaves out what is no drift: the image's env, the engine's own variables). A string of `seen`
    that holds a secret, or that stands where the spec holds one, is hidden: a secret changed by
    hand is `(secret changed)`, whatever its old value."""
    hide = _hider(secrets, key)
    desired = spec_view(spec, secrets, key)
    found = []
    for name, value in sorted(seen.items()):
        want = desired.get(name)
        if isinstance(value, Mapping) and isinstance(want, Mapping | None):
            want = {entry: (want or {}).get(entry) for entry in value}
        for d in diff_values(_presented(name, _hidden(value, hide)), want, name):
            found.append(dataclasses.replace(d, old=_hidden(d.old, lambda text: Hidden(keyed_hash(key, text.encode()))))
                         if _has_hidden(d.new) else d)
    return tuple(found)


@dataclass(frozen=True)
class AppliedRecords:
    """What the diffs of a plan's replacements are computed from: the last-applied records of the
    state directory (`StateDir.last_applied`: container id -> {"name", "spec_hash", "spec", ...}),
    and the secret values and key the desired specs are hidden with."""

    records: Mapping[str, Mapping[str, Any]]
    secrets: frozenset[str] = dataclasses.field(default=frozenset(), repr=False)
    key: bytes = dataclasses.field(default=b"", repr=False)

    def diff(self, container_id: str, label_hash: str | None, spec: ContainerSpec) -> tuple[FieldDiff, ...]:
        """What changes from the spec container `container_id` was created with to `spec`; empty
        when no record of it is kept, or the record is of another spec than its `label_hash` says
        (then only the changed keys are known, from the labels)."""
        entry = self.records.get(container_id)
        if entry is None or entry.get("spec_hash") != label_hash or not isinstance(entry.get("spec"), Mapping):
            return ()
        try:
            return diff_specs(entry["spec"], spec, self.secrets, self.key)
        except ValueError:
            return ()


def show(value: Any) -> str:
    """A view's value as the plan prints it: strings quoted (JSON's escapes), lists `[...]`,
    tables as TOML inline tables without their empty entries, a secret as `(secret)`."""
    if isinstance(value, Hidden):
        return SECRET_TEXT
    if isinstance(value, Mapping):
        items = [f"{_key(k)} = {show(v)}" for k, v in value.items() if not _empty(v)]
        return "{ " + ", ".join(items) + " }" if items else "{}"
    if isinstance(value, list):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False)


def lines(diffs: Collection[FieldDiff], indent: str = "    ") -> list[str]:
    """The lines a plan prints under a change, one per difference."""
    return [f"{indent}{d}" for d in diffs]


def _list_diff(path: str, old: list, new: list) -> tuple[FieldDiff, ...]:
    """Items matched as sequences: a replaced run is diffed item by item (as far as both sides
    go), the rest removed (old index) or added (new index)."""
    found: list[FieldDiff] = []
    matcher = difflib.SequenceMatcher(None, [_fingerprint(v) for v in old], [_fingerprint(v) for v in new],
                                      autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        paired = min(i2 - i1, j2 - j1) if tag == "replace" else 0
        for k in range(paired):
            found += diff_values(old[i1 + k], new[j1 + k], f"{path}[{j1 + k}]")
        found += [FieldDiff(f"{path}[{k}]", old[k], None, REMOVED) for k in range(i1 + paired, i2)]
        found += [FieldDiff(f"{path}[{k}]", None, new[k], ADDED) for k in range(j1 + paired, j2)]
    return tuple(found)


def _fingerprint(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=lambda hidden: {SECRET: hidden.digest})


def _hider(secrets: Collection[str], key: bytes) -> Callable[[str], Any]:
    """A string as a view holds it: a `Hidden` keyed hash (under `key`) when it contains one of `secrets`."""
    wanted = [value for value in secrets if value]

    def hide(text: str) -> Any:
        return Hidden(keyed_hash(key, text.encode())) if any(value in text for value in wanted) else text

    return hide


def _hidden(value: Any, hide: Callable[[str], Any]) -> Any:
    """`value` (JSON-able) with `hide` applied to each of its strings, keys left as they are."""
    if isinstance(value, str):
        return hide(value)
    if isinstance(value, Mapping):
        return {k: _hidden(v, hide) for k, v in value.items()}
    return [_hidden(v, hide) for v in value] if isinstance(value, list | tuple) else value


def _typed(kind: Any, data: Any, hide) -> Any:
    """`data` (a record, JSON-able) as a view of type `kind`: dataclass fields that are compared
    and hashed, defaults for those missing, secrets hidden."""
    if isinstance(data, Mapping) and set(data) == {SECRET}:
        return Hidden(data[SECRET])
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        return {f.name: _typed(hints[f.name], data[f.name] if f.name in data else _default(f), hide)
                for f in dataclasses.fields(kind) if f.compare and f.metadata.get("hashed", True) is not False}
    if data is None:
        return None
    if origin in (types.UnionType, typing.Union):
        return _typed(next(a for a in args if a is not type(None)), data, hide)
    if origin is tuple:
        return [_typed(args[0], item, hide) for item in data]
    if origin is Mapping or origin is dict:
        return {str(name): _typed(args[1], item, hide) for name, item in data.items()}
    return hide(data) if isinstance(data, str) else data


def _default(f: dataclasses.Field) -> Any:
    value = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
    return _record_value(value)


def _record_value(value: Any) -> Any:
    """A default as a record holds it (dataclasses as tables, tuples as lists)."""
    if dataclasses.is_dataclass(value):
        return {f.name: _record_value(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_record_value(v) for v in value]
    return dict(value) if isinstance(value, Mapping) else value


def _presented(name: str, value: Any) -> Any:
    """A top-level value in the forms the file writes: ports short, sizes in units."""
    if name == "ports" and isinstance(value, list):
        return [_port(p) if isinstance(p, Mapping) else p for p in value]
    if (name, None) in _SIZES:
        return _size(value)
    if isinstance(value, Mapping):
        return {k: _size(v) if (name, k) in _SIZES else v for k, v in value.items()}
    if isinstance(value, list):
        return [{k: _size(v) if (name, k) in _SIZES else v for k, v in item.items()} if isinstance(item, Mapping)
                else item for item in value]
    return value


def _port(port: Mapping[str, Any]) -> str:
    """Compose's short form: [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL] (IPv6 in brackets)."""
    ip, host_port = port.get("host_ip"), port.get("host_port")
    text = f"[{ip}]:" if ip and ":" in ip else f"{ip}:" if ip else ""
    text += f"{host_port}:" if host_port is not None else (":" if ip else "")
    text += str(port["container_port"])
    return text if port.get("protocol", "tcp") == "tcp" else f"{text}/{port['protocol']}"


def _size(value: Any) -> Any:
    """Bytes as "64m", "1g", "512k" (the largest unit of 1024 that divides them), else "NNNb"."""
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        return value
    for unit, factor in (("g", 1024**3), ("m", 1024**2), ("k", 1024)):
        if value % factor == 0:
            return f"{value // factor}{unit}"
    return f"{value}b"


def _empty(value: Any) -> bool:
    """null, false, [] or {}: what a table shown whole leaves out (0 is a value)."""
    return value is None or value is False or (isinstance(value, list | Mapping) and not value)


def _is_value_hash(key: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether `key` of two tables is a secret grant's hidden value hash, which names no key of the file."""
    return key == _VALUE_HASH and (isinstance(old.get(key), Hidden) or isinstance(new.get(key), Hidden))


def _join(path: str, key: str) -> str:
    return f"{path}.{_key(key)}" if path else _key(key)


def _key(key: str) -> str:
    """A key as TOML writes it in a dotted path: bare when it can be, else quoted."""
    return key if _BARE_KEY.fullmatch(key) else json.dumps(key, ensure_ascii=False)


def _has_hidden(value: Any) -> bool:
    if isinstance(value, Hidden):
        return True
    if isinstance(value, Mapping):
        return any(_has_hidden(v) for v in value.values())
    return isinstance(value, list) and any(_has_hidden(v) for v in value)


def _public(value: Any) -> Any:
    """A view's value for JSON: each secret the string "(secret)"."""
    if isinstance(value, Hidden):
        return SECRET_TEXT
    if isinstance(value, Mapping):
        return {k: _public(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_public(v) for v in value]
    return value
