"""A container's last-applied spec as a record that holds no secret, and the spec again from it. Pure.

While a replacement is quarantined, the container that keeps serving runs the last-applied spec,
not the desired one; if it is removed by hand, healing recreates that spec from this record. The
record is the whole spec as JSON-able data, except that every string holding a secret value (one
that came from the env file) is replaced by `{"secret": "hmac-sha256:HEX"}`, a hash keyed with the
state directory's key (DESIGN.md section 11). Restoring takes, for each such string, the string of
the current desired spec with the same keyed hash, and fails when there is none (the secret
changed since: the old spec cannot be made again).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Collection, Iterator, Mapping
from typing import Any

from reconciler.desired.filesources import keyed_hash
from reconciler.fields import Sealed
from reconciler.model import ContainerSpec

SECRET = "secret"


class CannotRestore(Exception):
    """The record cannot be made into a spec again (a secret changed, or a record from another release)."""


def record(spec: ContainerSpec, secrets: Collection[str], key: bytes) -> dict[str, Any]:
    """`spec` as JSON-able data, each string that contains one of `secrets` replaced by its keyed hash."""
    wanted = [value for value in secrets if value]

    def hide(text: str) -> Any:
        return {SECRET: keyed_hash(key, text.encode())} if any(value in text for value in wanted) else text

    return _encode(spec, hide)


def restore(data: Mapping[str, Any], current: ContainerSpec | None, key: bytes) -> ContainerSpec:
    """The spec `data` was recorded from. A hidden string is the string of `current` (the desired
    spec now) with the same keyed hash. Raises CannotRestore when one has none, or when `data` is
    not a record of a container spec."""
    known = {keyed_hash(key, text.encode()): text for text in (_strings(current) if current is not None else ())}
    try:
        return _decode(ContainerSpec, data, known)
    except CannotRestore:
        raise
    except (KeyError, TypeError, ValueError) as error:
        raise CannotRestore(f"not a record of a container spec: {error}") from None


def _encode(value: Any, hide) -> Any:
    if isinstance(value, Sealed):  # a secret's or config's value: its file is named by its keyed hash
        return None
    if dataclasses.is_dataclass(value):
        return {f.name: _encode(getattr(value, f.name), hide) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _encode(v, hide) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_encode(v, hide) for v in value]
    return hide(value) if isinstance(value, str) else value


def _strings(value: Any) -> Iterator[str]:
    if dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            yield from _strings(getattr(value, f.name))
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


def _decode(kind: Any, data: Any, known: Mapping[str, str]) -> Any:
    """`data` as a value of type `kind` (a dataclass, tuple[T, ...], Mapping[str, T], T | None, a scalar)."""
    if isinstance(data, dict) and set(data) == {SECRET}:
        if data[SECRET] not in known:
            raise CannotRestore("it used a value from the env file that the desired spec no longer holds "
                                "(changed, or no longer declared)")
        return known[data[SECRET]]
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        return kind(**{name: _decode(hints[name], value, known) for name, value in data.items()})
    if origin in (types.UnionType, typing.Union):
        return None if data is None else _decode(next(a for a in args if a is not type(None)), data, known)
    if origin is tuple:
        return tuple(_decode(args[0], item, known) for item in data)
    if origin is Mapping or origin is dict:
        return {name: _decode(args[1], item, known) for name, item in data.items()}
    if kind is float and isinstance(data, int):
        return float(data)
    if not isinstance(data, kind):
        raise TypeError(f"{data!r} is not a {kind.__name__}")
    return data
