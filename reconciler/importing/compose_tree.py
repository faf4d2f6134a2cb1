"""The tree a Compose file is read into: mappings and sequences that remember where each of their
keys and items was written, so that merges, `extends` and `include` carry lines along.

`Map` is a dict whose `at` maps each key to its `Origin`; `Seq` is a list whose `at` holds one
`Origin` per item. `flatten` turns such a tree into plain values plus the `origins` of a
`ComposeProject` (path -> Origin).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.desired.problems import Problem, dotted
from reconciler.importing.project import ModelPath, Origin


class ComposeError(Exception):
    """Compose files that cannot be read as Compose reads them; `problems` lists each one as
    FILE:LINE: key.path: message (never with a variable's value)."""

    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = problems


def problem(origin: Origin | None, path: ModelPath, message: str, file: str = "") -> Problem:
    """A problem placed at `origin` (or in `file` when no line is known)."""
    if origin is None:
        return Problem(file, None, dotted(path), message)
    return Problem(origin.file, origin.line, dotted(path), message)


@dataclass(frozen=True)
class Interpolated(Origin):
    """The origin of a value that held an interpolation, with its text as written."""

    text: str = ""


class Map(dict):
    """A mapping with the origin of each key in `at`."""

    def __init__(self, *args: Any, at: dict[str, Origin] | None = None):
        super().__init__(*args)
        self.at: dict[str, Origin] = dict(at or {})

    def put(self, key: str, value: Any, origin: Origin) -> None:
        self[key] = value
        self.at[key] = origin

    def drop(self, key: str) -> None:
        self.pop(key, None)
        self.at.pop(key, None)


class Seq(list):
    """A sequence with the origin of each item in `at` (same length)."""

    def __init__(self, items: Any = (), at: list[Origin] | None = None):
        super().__init__(items)
        self.at: list[Origin] = list(at or [])

    def add(self, value: Any, origin: Origin) -> None:
        self.append(value)
        self.at.append(origin)


def matches(pattern: tuple[str, ...], path: ModelPath) -> bool:
    """Whether `path` is `pattern`, where `*` stands for any key and `[]` for any index."""
    return len(pattern) == len(path) and all(
        want == "*" and isinstance(part, str) or want == "[]" and isinstance(part, int) or want == part
        for want, part in zip(pattern, path, strict=True)
    )


def copy(value: Any) -> Any:
    """A deep copy of a tree (scalars shared), origins kept."""
    if isinstance(value, Map):
        return Map({key: copy(item) for key, item in value.items()}, at=value.at)
    if isinstance(value, Seq):
        return Seq([copy(item) for item in value], at=value.at)
    return value


def origin_of(tree: Any, path: ModelPath) -> Origin | None:
    """Where the value at `path` (or the nearest enclosing key or item) was written."""
    found, node = None, tree
    for part in path:
        if isinstance(node, Map) and isinstance(part, str) and part in node:
            found, node = node.at.get(part, found), node[part]
        elif isinstance(node, Seq) and isinstance(part, int) and 0 <= part < len(node):
            found, node = node.at[part] if part < len(node.at) else found, node[part]
        else:
            break
    return found


def flatten(tree: Any) -> tuple[Any, dict[ModelPath, Origin], dict[ModelPath, str]]:
    """Plain dicts and lists for a tree, the origin of every mapping key and sequence item, and the
    text as written of every value that held an interpolation."""
    origins: dict[ModelPath, Origin] = {}
    written: dict[ModelPath, str] = {}

    def place(path: ModelPath, origin: Origin) -> None:
        origins[path] = Origin(origin.file, origin.line)
        if isinstance(origin, Interpolated):
            written[path] = origin.text

    def walk(value: Any, path: ModelPath) -> Any:
        if isinstance(value, dict):
            plain = {}
            for key, item in value.items():
                if isinstance(value, Map) and key in value.at:
                    place((*path, key), value.at[key])
                plain[key] = walk(item, (*path, key))
            return plain
        if isinstance(value, list):
            at = value.at if isinstance(value, Seq) else []
            for index, origin in enumerate(at[: len(value)]):
                place((*path, index), origin)
            return [walk(item, (*path, index)) for index, item in enumerate(value)]
        return value

    return walk(tree, ()), origins, written
