"""Compose's interpolation (compose-spec 12-interpolation.md, compose-go `template`), on the values
of one file's tree; keys are never interpolated.

`$$` is a literal `$`; `$VAR` and `${VAR}` take the variable (`[_a-zA-Z][_a-zA-Z0-9]*`), "" with a
warning when it is unset; `${VAR:-d}` / `${VAR-d}` take `d` when it is unset or empty / unset;
`${VAR:+r}` / `${VAR+r}` take `r` when it is set and not empty / set, else the value (""); `${VAR:?e}`
/ `${VAR?e}` are an error when it is unset or empty / unset. Defaults and replacements may hold
interpolations themselves. A `$` before anything else is kept; a `${` that is not one of these
forms is an error. Then, as compose-go does, strings at the paths that hold numbers or booleans are
cast (`"true"`, `"yes"` -> True; `"3"` -> 3) whether interpolated or not.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.desired.problems import Problem, dotted
from reconciler.importing.compose_tree import Interpolated, Map, Seq, matches
from reconciler.importing.project import ModelPath, Origin

_NAME = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
_REFERENCE = re.compile(r"\$\$|\$\{?([_a-zA-Z][_a-zA-Z0-9]*)")
_SERVICE_CASTS = {
    ("cpu_count",): int, ("cpu_percent",): float, ("cpu_period",): int, ("cpu_quota",): int,
    ("cpu_rt_period",): int, ("cpu_rt_runtime",): int, ("cpus",): float, ("cpu_shares",): int,
    ("init",): bool, ("depends_on", "*", "required"): bool, ("depends_on", "*", "restart"): bool,
    ("deploy", "replicas"): int, ("deploy", "restart_policy", "max_attempts"): int,
    ("healthcheck", "retries"): int, ("healthcheck", "disable"): bool, ("oom_kill_disable",): bool,
    ("oom_score_adj",): int, ("pids_limit",): int, ("ports", "[]", "target"): int, ("privileged",): bool,
    ("read_only",): bool, ("scale",): int, ("stdin_open",): bool, ("tty",): bool, ("ulimits", "*"): int,
    ("ulimits", "*", "hard"): int, ("ulimits", "*", "soft"): int, ("volumes", "[]", "read_only"): bool,
    ("volumes", "[]", "volume", "nocopy"): bool,
}
# compose-go loader/interpolate.go interpolateTypeCastMapping
CASTS: dict[tuple[str, ...], type] = {
    **{("services", "*", *path): kind for path, kind in _SERVICE_CASTS.items()},
    **{("networks", "*", key): bool for key in ("external", "internal", "attachable", "enable_ipv4", "enable_ipv6")},
    **{(top, "*", "external"): bool for top in ("volumes", "secrets", "configs")},
}
_BOOLEANS = {"true": True, "false": False, "y": True, "yes": True, "on": True, "n": False, "no": False, "off": False}


class TemplateError(ValueError):
    """An interpolation Compose refuses; the message holds the template as written, never a value."""


@dataclass
class Variables:
    """Where interpolation looks variables up: the process environment first, then the env files.
    `taken` records the env files' variables whose values were used (under `written_name`),
    `values` every value used (to be masked in any message).

    An included project (compose-go loader/include.go) reads the parent's variables plus its own
    env files, the parent's winning; `root` is then the top project's env files and `label` this
    scope's suffix: a name whose value here differs from the top's is written `NAME_LABEL`, so that
    one env file holds every scope's value and each service reads its own."""

    environ: Mapping[str, str]
    dotenv: Mapping[str, str]
    taken: dict[str, str] = field(default_factory=dict)
    values: set[str] = field(default_factory=set)
    root: Mapping[str, str] | None = None
    label: str = ""

    def written_name(self, name: str) -> str:
        """`name` as the output writes it in this scope: `NAME_LABEL` when its value here is not the top's."""
        if self.root is None or name in self.environ or self.dotenv.get(name) == self.root.get(name):
            return name
        return f"{name}_{self.label}"

    def get(self, name: str) -> str | None:
        if name in self.environ:
            return self.environ[name]
        return self.dotenv.get(name)

    def use(self, name: str) -> str:
        if name not in self.environ and name in self.dotenv:
            self.taken[self.written_name(name)] = self.dotenv[name]
        value = self.get(name) or ""
        if value:
            self.values.add(value)
        return value


def _closing(text: str, start: int) -> int:
    """Index of the `}` closing the `{` at `start` (compose-go counts every brace), or -1."""
    depth = 0
    for index in range(start, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return index
    return -1


def substitute(text: str, variables: Variables, unset: list[str]) -> str:
    """`text` interpolated; the names of unset variables taken bare are appended to `unset`.
    Raises TemplateError."""
    out, index = [], 0
    while index < len(text):
        dollar = text.find("$", index)
        if dollar < 0:
            out.append(text[index:])
            break
        out.append(text[index:dollar])
        following = text[dollar + 1 : dollar + 2]
        if following == "$":
            out.append("$")
            index = dollar + 2
        elif following == "{":
            end = _closing(text, dollar + 1)
            if end < 0:
                raise TemplateError(f"invalid interpolation {text!r}: '${{' is never closed")
            out.append(_braced(text[dollar + 2 : end], text, variables, unset))
            index = end + 1
        elif match := _NAME.match(text, dollar + 1):
            out.append(_bare(match.group(), variables, unset))
            index = match.end()
        else:
            out.append("$")
            index = dollar + 1
    return "".join(out)


def _bare(name: str, variables: Variables, unset: list[str]) -> str:
    if variables.get(name) is None:
        unset.append(name)
    return variables.use(name)


def _braced(body: str, text: str, variables: Variables, unset: list[str]) -> str:
    match = _NAME.match(body)
    if match is None:
        raise TemplateError(f"invalid interpolation {text!r}")
    name, rest = match.group(), body[match.end() :]
    if not rest:
        return _bare(name, variables, unset)
    operator = rest[:2] if rest[:1] == ":" else rest[:1]
    if operator not in (":-", "-", ":+", "+", ":?", "?"):
        raise TemplateError(f"invalid interpolation {text!r}")
    argument, value = rest[len(operator) :], variables.get(name)
    present = value is not None and (value != "" or not operator.startswith(":"))
    if operator.endswith("-"):
        return variables.use(name) if present else substitute(argument, variables, unset)
    if operator.endswith("+"):
        return substitute(argument, variables, unset) if present else variables.use(name)
    if not present:
        raise TemplateError(f"required variable {name} is missing a value" + (f": {argument}" if argument else ""))
    return variables.use(name)


def renamed(text: str, variables: Variables) -> str:
    """`text` as written with each variable it reads named as `variables.written_name` gives."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        return match.group() if name is None else match.group()[: -len(name)] + variables.written_name(name)

    return _REFERENCE.sub(one, text)


def _cast_kind(path: ModelPath) -> type | None:
    return next((kind for pattern, kind in CASTS.items() if matches(pattern, path)), None)


def cast(value: str, kind: type) -> Any:
    """A string at a typed path as compose-go casts it; raises ValueError."""
    if kind is bool:
        if value.lower() not in _BOOLEANS:
            raise ValueError(f"invalid boolean: {value}")
        return _BOOLEANS[value.lower()]
    return kind(value) if kind is float else int(value, 10)


@dataclass
class Outcome:
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def interpolate(tree: Map, variables: Variables, outcome: Outcome) -> Map:
    """The tree with its values interpolated (in place), interpolated values' origins marked with
    their text as written; problems go to `outcome`, never with a variable's value."""

    def value(item: Any, path: ModelPath, origin: Origin) -> tuple[Any, Origin]:
        if isinstance(item, Map | Seq):
            walk(item, path)
            return item, origin
        if not isinstance(item, str):
            return item, origin
        result, unset = item, []
        if "$" in item:
            try:
                result = substitute(item, variables, unset)
            except TemplateError as error:
                outcome.errors.append(Problem(origin.file, origin.line, dotted(path), str(error)))
                return item, origin
            origin = Interpolated(origin.file, origin.line, renamed(item, variables))
        for name in unset:
            message = f"variable {name} is not set; using an empty string"
            outcome.warnings.append(Problem(origin.file, origin.line, dotted(path), message))
        kind = _cast_kind(path)
        if kind is None:
            return result, origin
        try:
            return cast(result, kind), origin
        except ValueError:
            shown = "the interpolated value" if "$" in item else repr(item)
            message = f"{shown} is not a valid {'boolean' if kind is bool else kind.__name__}"
            outcome.errors.append(Problem(origin.file, origin.line, dotted(path), message))
            return result, origin

    def walk(node: Map | Seq, path: ModelPath) -> None:
        if isinstance(node, Map):
            for key in list(node):
                node[key], node.at[key] = value(node[key], (*path, key), node.at[key])
        else:
            for index, item in enumerate(node):
                node[index], node.at[index] = value(item, (*path, index), node.at[index])

    walk(tree, ())
    return tree
