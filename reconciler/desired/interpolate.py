"""`${VAR}` interpolation in the string values of a parsed TOML document.

Forms: `${VAR}`, `${VAR:-default}` (unset or empty), `${VAR-default}` (unset), `${VAR:?message}`
(error when unset or empty), `${VAR?message}` (error when unset), and `$$` for a literal `$`. A `$`
followed by anything else is kept as written, so shell code such as `$HOME` or `$1` in a command
passes through untouched. Defaults may themselves use `${...}`. Keys are never interpolated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.desired.problems import Path_

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = (":-", ":?", "-", "?")


class InterpolationError(ValueError):
    pass


@dataclass
class Interpolation:
    """The outcome over a document: errors and warnings by path, and which paths hold secrets."""

    errors: list[tuple[Path_, str]] = field(default_factory=list)
    warnings: list[tuple[Path_, str]] = field(default_factory=list)
    secret_paths: list[Path_] = field(default_factory=list)
    secret_values: set[str] = field(default_factory=set)


def _closing_brace(text: str, start: int) -> int:
    """Index of the `}` that closes the `${` whose body starts at `start`, or -1."""
    depth = 1
    i = start
    while i < len(text):
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


class _Resolver:
    def __init__(self, env: Mapping[str, str], secrets: frozenset[str]):
        self.env = env
        self.secrets = secrets
        self.used_secrets: set[str] = set()
        self.unset: list[str] = []

    def resolve(self, text: str) -> str:
        out: list[str] = []
        i = 0
        while i < len(text):
            if text.startswith("$$", i):
                out.append("$")
                i += 2
            elif text.startswith("${", i):
                end = _closing_brace(text, i + 2)
                if end < 0:
                    raise InterpolationError(f"unclosed '${{' at character {i + 1}")
                out.append(self._expression(text[i + 2 : end]))
                i = end + 1
            else:
                out.append(text[i])
                i += 1
        return "".join(out)

    def _expression(self, body: str) -> str:
        match = _NAME.match(body)
        if not match:
            raise InterpolationError(f"invalid variable name in '${{{body}}}'")
        name, rest = match.group(), body[match.end() :]
        operator = next((op for op in _OPERATORS if rest.startswith(op)), None)
        if operator is None and rest:
            raise InterpolationError(f"invalid interpolation '${{{body}}}': expected ':-', '-', ':?' or '?'")
        argument = rest[len(operator or "") :]
        value = self.env.get(name)
        missing = value is None or (value == "" and operator in (":-", ":?"))
        if not missing:
            if name in self.secrets:
                self.used_secrets.add(value)
            return value
        if operator in (":?", "?"):
            raise InterpolationError(f"required variable {name} is not set" + (f": {argument}" if argument else ""))
        if operator in (":-", "-"):
            return self.resolve(argument)
        self.unset.append(name)
        return ""


def interpolate(
    document: Any, env: Mapping[str, str], secrets: frozenset[str] = frozenset()
) -> tuple[Any, Interpolation]:
    """Return the document with every string value resolved, and what was found on the way."""
    outcome = Interpolation()

    def walk(value: Any, path: Path_) -> Any:
        if isinstance(value, dict):
            return {key: walk(item, (*path, key)) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item, (*path, index)) for index, item in enumerate(value)]
        if not isinstance(value, str) or "$" not in value:
            return value
        resolver = _Resolver(env, secrets)
        try:
            resolved = resolver.resolve(value)
        except InterpolationError as error:
            outcome.errors.append((path, str(error)))
            return value
        if resolver.used_secrets:
            outcome.secret_paths.append(path)
            outcome.secret_values |= resolver.used_secrets
        for name in resolver.unset:
            outcome.warnings.append((path, f"variable {name} is not set; using an empty string"))
        return resolved

    return walk(document, ()), outcome
