"""One Compose file read as current Compose (compose-go v2 on go-yaml v3) reads it.

YAML 1.2 through ruamel.yaml's composer, with scalars resolved by go-yaml v3's rules rather than
ruamel's: `22:22`, `no`, `on`, `yes`, `off` and dates stay strings; `true`/`false` (also `True`,
`TRUE`...) are booleans; `~`, `null` and an empty value are null; an integer is read by Go's
`strconv.ParseInt(s, 0, 64)` after dropping `_`, so `0755` is octal 493 (go-yaml v3 keeps YAML
1.1's octals "for compatibility"), `0o17`, `0x1F` and `0b101` work; `1e3` and `.5` are floats.
Anchors, aliases and `<<` merge keys work (keys written beside `<<` win). A duplicate key is an
error at its line, and so is a key that is not a string. Compose's `!reset` drops the key from
what earlier files gave (`resets`), `!override` replaces it (`overrides`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reconciler.desired.problems import LoadFailure, Problem, decode_utf8, dotted
from reconciler.importing.compose_tree import ComposeError, Map, Seq
from reconciler.importing.project import ModelPath, Origin

_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_GO_INT = re.compile(r"([-+]?)(0[xX][0-9a-fA-F]+|0[bB][01]+|0[oO]?[0-7]+|[1-9][0-9]*|0)")
_CONSTANTS: dict[str, Any] = {
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), None),
    **dict.fromkeys(("true", "True", "TRUE"), True),
    **dict.fromkeys(("false", "False", "FALSE"), False),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
}
_STR, _INT, _FLOAT_TAG = "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
RESET, OVERRIDE = "!reset", "!override"


@dataclass
class Document:
    """One YAML document of a Compose file: its tree, and the paths tagged `!reset`/`!override`."""

    tree: Map
    resets: list[ModelPath] = field(default_factory=list)
    overrides: list[ModelPath] = field(default_factory=list)


def plain_scalar(text: str) -> Any:
    """A plain (unquoted, untagged) scalar as go-yaml v3 resolves it into an interface{}."""
    if text in _CONSTANTS:
        return _CONSTANTS[text]
    if text[:1] not in "-+.0123456789":
        return text
    digits = text.replace("_", "")
    match = _GO_INT.fullmatch(digits)
    if match:
        sign, body = match.groups()
        number = int(body, 8) if body[:1] == "0" and body[1:2].isdigit() else int(body, 0)
        return -number if sign == "-" else number
    if _FLOAT.fullmatch(digits):
        return float(digits)
    return text


def _tag(node: Node) -> str:
    return node.tag if isinstance(node.tag, str) else str(getattr(node.tag, "value", node.tag))


def _tagged(node: Node, tag: str) -> bool:
    return _tag(node) == tag


class _Reader:
    def __init__(self, file: str, yaml: YAML):
        self.file = file
        self.yaml = yaml
        self.document = Document(Map())

    def origin(self, node: Node) -> Origin:
        return Origin(self.file, node.start_mark.line + 1)

    def fail(self, node: Node, path: ModelPath, message: str) -> ComposeError:
        return ComposeError([Problem(self.file, node.start_mark.line + 1, dotted(path), message)])

    def value(self, node: Node, path: ModelPath) -> Any:
        tag = _tag(node)
        if tag == RESET:
            self.document.resets.append(path)
        elif tag == OVERRIDE:
            self.document.overrides.append(path)
        if isinstance(node, MappingNode):
            return self.mapping(node, path)
        if isinstance(node, SequenceNode):
            items = Seq()
            for index, item in enumerate(node.value):
                value = self.value(item, (*path, index))
                if not _tagged(item, RESET):
                    items.add(value, self.origin(item))
            return items
        return self.scalar(node, tag)

    def scalar(self, node: ScalarNode, tag: str) -> Any:
        if node.style is not None:
            return node.value
        implicit = self.yaml.resolver.resolve(ScalarNode, node.value, (True, False))
        if tag in (implicit, RESET, OVERRIDE) or tag.startswith("!"):
            return plain_scalar(node.value)
        if tag == _STR:
            return node.value
        resolved = plain_scalar(node.value)
        if tag == _INT and not isinstance(resolved, int) or tag == _FLOAT_TAG and not isinstance(resolved, int | float):
            raise self.fail(node, (), f"cannot read {node.value!r} as {tag.rsplit(':', 1)[-1]}")
        return float(resolved) if tag == _FLOAT_TAG else resolved

    def mapping(self, node: MappingNode, path: ModelPath) -> Map:
        result, merged = Map(), Map()
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.value == "<<" and key_node.style is None:
                sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                for source in sources:
                    if not isinstance(source, MappingNode):
                        raise self.fail(source, path, "a << merge key takes a mapping or a list of mappings")
                    given = self.mapping(source, path)
                    for key, item in given.items():
                        if key not in merged:
                            merged.put(key, item, given.at[key])
                continue
            key = self.scalar(key_node, _tag(key_node)) if isinstance(key_node, ScalarNode) else None
            if not isinstance(key, str):
                raise self.fail(key_node, path, "a key must be a string (quote it)")
            if key in result:
                raise self.fail(key_node, (*path, key), f"duplicate key (first written at line {result.at[key].line})")
            value = self.value(value_node, (*path, key))
            if not _tagged(value_node, RESET):
                result.put(key, value, self.origin(key_node))
        for key, item in merged.items():
            if key not in result:
                result.put(key, item, merged.at[key])
        return result


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.version = (1, 2)
    return yaml


def read_documents(path: Path, name: str) -> list[Document]:
    """The documents of the Compose file at `path` (`name` is how problems call it). Raises
    ComposeError: unreadable, not UTF-8, not YAML (at the line of the fault), a duplicate key, or
    a document that is not a mapping."""
    try:
        text = decode_utf8(path.read_bytes(), name)
    except OSError as error:
        raise ComposeError([Problem(name, None, "", f"cannot read the file: {error.strerror or error}")]) from None
    except LoadFailure as failure:
        raise ComposeError([failure.problem]) from None
    yaml = _yaml()
    documents = []
    try:
        for node in yaml.compose_all(text):
            if node is None:
                continue
            reader = _Reader(name, yaml)
            if not isinstance(node, MappingNode):
                raise reader.fail(node, (), "the top level of a Compose file must be a mapping")
            reader.document.tree = reader.mapping(node, ())
            documents.append(reader.document)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ComposeError([Problem(name, line, "", f"not valid YAML: {error.problem or error.context}")]) from None
    except YAMLError as error:
        raise ComposeError([Problem(name, None, "", f"not valid YAML: {error}")]) from None
    if not documents:
        raise ComposeError([Problem(name, None, "", "empty compose file (Compose refuses it too)")])
    return documents
