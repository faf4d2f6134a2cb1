"""What every part of a Compose conversion shares: where a value was written, the text to write for
it (as written, never the value an interpolation gave it), what could not be carried, and which
variables the output reads.

DESIGN section 11: no value that came from `.env` or `--env-file` is written in the TOML; a string
that held an interpolation is written as the user wrote it, in our syntax (`compose_text`), and
the variables it reads from those files go to the env file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from reconciler.desired.schema import SCHEMA_PATH
from reconciler.importing.compose_names import Naming
from reconciler.importing.compose_text import escape, translate
from reconciler.importing.emit import Skipped
from reconciler.importing.project import ComposeProject, ModelPath

NO_EQUIVALENT = 'no equivalent here (docs/format.md, "Compose keys")'


class Unwritable(Exception):
    """A value that cannot be written without a secret, or at all; the message says why."""


class Scope:
    """One conversion: the project, the output folder, the names, and what it found on the way:
    `skipped`, the variables read from the env files (`dotenv_used`) and from the process
    environment (`environ_used`; `environ_required` those of them read somewhere without a default).
    `target`: the target the files are converted for, "host" or "swarm" (`compose_deploy` skips on
    "host" what only Swarm runs, listing each in `swarm_skipped` as `key.path`)."""

    def __init__(self, project: ComposeProject, out: Path, naming: Naming):
        self.project = project
        self.out = out
        self.naming = naming
        self.skipped: list[Skipped] = []
        self.dotenv_used: set[str] = set()
        self.environ_used: set[str] = set()
        self.environ_required: set[str] = set()
        # service -> container name; (kind, key) -> resource name for networks, volumes, secrets,
        # configs that are written; (kind, key) -> why, for those that are not
        self.containers: dict[str, str] = {}
        self.written_names: dict[tuple[str, str], str] = {}
        self.left_out: dict[tuple[str, str], str] = {}
        self.external: set[tuple[str, str]] = set()  # the external networks and volumes, written adopted
        self.keep_profiles = True
        self.default_network_used = False
        self.target = "host"
        self.swarm_skipped: list[str] = []

    def origin(self, path: ModelPath) -> str:
        """FILE:LINE of `path`, or of the nearest enclosing key that has one."""
        for end in range(len(path), 0, -1):
            found = self.project.origins.get(path[:end])
            if found is not None:
                return str(found)
        return str(self.project.files[0]) if self.project.files else self.project.name

    def skip(self, path: ModelPath, why: str) -> None:
        key = ".".join(str(part) for part in path)
        self.skipped.append(Skipped(self.origin(path), key, why))

    def reads(self, name: str) -> None:
        """The output reads the variable `name` as it is, with no default (a bare `environment`
        NAME, a secret's `environment`): from the env file, else from the process environment."""
        if name in self.project.dotenv:
            self.dotenv_used.add(name)
        else:
            self.environ_used.add(name)
            self.environ_required.add(name)

    def text(self, path: ModelPath, value: Any, clear: bool = False) -> Any:
        """The TOML value to write for the scalar `value` at `path`: a string that held an
        interpolation as written (in our syntax), another string escaped, anything else as is.
        `clear`: the engine shows this value to anyone who inspects it (labels, build args), so
        it may not read the env file. Raises Unwritable."""
        return self.text_as(self.project.written.get(path), value, clear)

    def text_as(self, written: str | None, value: Any, clear: bool = False) -> Any:
        """`text` for a part of a value: `written` is that part as written (None: no interpolation)."""
        if written is None:
            return escape(value) if isinstance(value, str) else value
        found = translate(written)
        from_file = sorted(found.names & set(self.project.dotenv))
        if found.plus:
            if set(found.plus) & set(self.project.dotenv):
                raise Unwritable(f"${{VAR:+...}} has no equivalent here, and its value came from {', '.join(from_file)}"
                                 " of the env file")
            return escape(value) if isinstance(value, str) else value
        if from_file and clear:
            raise Unwritable(f"reads {', '.join(from_file)} from the env file, which may be secret, and the engine "
                             "shows this value in the clear: write the value here if it is not secret")
        self.dotenv_used |= set(from_file)
        self.environ_used |= found.names - set(self.project.dotenv)
        self.environ_required |= found.required - set(self.project.dotenv)
        return found.text

    def carry(self, path: ModelPath, value: Any, node: Mapping[str, Any] | None = None, clear: bool = False) -> Any:
        """`value` (at `path`) with every scalar through `text`, keys our schema `node` does not
        take left out, and None items dropped; each left-out part is skipped with its reason.
        Returns None when nothing is left."""
        node = _resolve(node or {})
        if isinstance(value, Mapping):
            branch = _branch(node, "object")
            known = branch.get("properties", {})
            closed = branch.get("additionalProperties") is False
            inner = branch.get("additionalProperties") if isinstance(branch.get("additionalProperties"), dict) else {}
            out = {}
            for key, item in value.items():
                if closed and key not in known:
                    self.skip((*path, key), NO_EQUIVALENT)
                    continue
                carried = self.carry((*path, key), item, known.get(key, inner), clear)
                if carried is not None:
                    out[key] = carried
            return out
        if isinstance(value, list):
            items = _branch(node, "array").get("items", {})
            carried_items = [self.carry((*path, index), item, items, clear) for index, item in enumerate(value)]
            return [item for item in carried_items if item is not None]
        if value is None:
            return None
        try:
            return self.text(path, value, clear)
        except Unwritable as why:
            self.skip(path, str(why))
            return None

    def relative(self, path: str) -> str:
        """A path the reader resolved, written relative to the output folder (our loader reads it
        relative to the TOML file's folder, which is the output folder)."""
        return os.path.relpath(path, self.out.resolve()) if Path(path).is_absolute() else path


@cache
def _schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def schema_node(kind: str, key: str | None = None) -> dict[str, Any]:
    """Our schema's node for a `kind` resource ("container", "network"...), or one of its keys."""
    node = _schema()["$defs"][kind]
    return node if key is None else node.get("properties", {}).get(key, {})


def _resolve(node: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in node:
        node = _schema()["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _branch(node: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
    """The part of `node` that describes a value of JSON type `kind` (an anyOf's branch)."""
    if node.get("type") == kind:
        return node
    for option in (*node.get("anyOf", ()), *node.get("oneOf", ())):
        option = _resolve(option)
        if option.get("type") == kind:
            return option
    return {}
