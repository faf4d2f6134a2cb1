"""Validation of one parsed file against the desired-state JSON Schema, in plain words.

jsonschema's own messages quote values (which may hold secrets) and speak JSON; these speak TOML
("table", "array"), name the key, and suggest the closest known key or value for a misspelling.
The schema is package data of the `schemas` package (`schemas/desired-state.schema.json`), read
with importlib.resources, so it is found in a checkout, an editable install and a wheel alike.
jsonschema is imported on the first check only: a load whose every document the validation cache
knows (`validated`) never pays for it.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
import math
from collections.abc import Collection, Iterator
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from reconciler.desired.compose_only import compose_hint
from reconciler.desired.problems import FileReport, Path_

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

SCHEMA_PATH = files("schemas") / "desired-state.schema.json"
RULES = 1  # the checks of this module on top of the schema's (`_integer`, `_number`): bump on a change

_TYPE_NAMES = {"object": "a table", "array": "an array", "string": "a string", "integer": "an integer",
               "number": "a number", "boolean": "a boolean"}


def _integer(_checker: Any, value: Any) -> bool:
    """TOML's integers only: JSON Schema also counts a float such as 3.0, which no engine field takes."""
    return isinstance(value, int) and not isinstance(value, bool)


def _number(_checker: Any, value: Any) -> bool:
    """Finite numbers only: TOML's nan and inf would reach the engine as nothing it can take."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@functools.cache
def validator() -> Draft202012Validator:
    """The schema's validator, with TOML's integers and numbers (`_integer`, `_number`)."""
    from jsonschema import Draft202012Validator, validators

    types = Draft202012Validator.TYPE_CHECKER.redefine_many({"integer": _integer, "number": _number})
    toml_validator = validators.extend(Draft202012Validator, type_checker=types)
    return toml_validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


@functools.cache
def version() -> str:
    """What a check's outcome depends on besides the document: this module's RULES and the
    sha256 of the schema's text, so that any change to either is a new version."""
    return f"{RULES}:{hashlib.sha256(SCHEMA_PATH.read_bytes()).hexdigest()}"


def did_you_mean(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(word, [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    names = {dict: "a table", list: "an array", str: "a string", int: "an integer", float: "a float"}
    return next((name for kind, name in names.items() if isinstance(value, kind)), "a date or time")


def _expected(schema: dict) -> str:
    if "title" in schema:
        return schema["title"]
    if "$ref" in schema:
        return _expected(_definition(schema["$ref"]))
    if "const" in schema:
        return json.dumps(schema["const"])
    if "enum" in schema:
        return "one of " + ", ".join(str(v) for v in schema["enum"])
    if "anyOf" in schema:
        return " or ".join(_expected(branch) for branch in schema["anyOf"])
    kinds = schema.get("type", [])
    kinds = [kinds] if isinstance(kinds, str) else kinds
    return " or ".join(_TYPE_NAMES[k] for k in kinds) or "something else"


def _titled(error: ValidationError) -> str:
    """What was expected, from the nearest schema around the error that has a title."""
    current: ValidationError | None = error
    while current is not None:
        if "title" in current.schema or "$ref" in current.schema:
            return _expected(current.schema)
        current = current.parent
    return _expected(error.schema)


def _definition(ref: str) -> dict:
    return validator().schema["$defs"][ref.removeprefix("#/$defs/")]


def _misfit(error: ValidationError) -> bool:
    """Whether the error says the value is of another type than its branch wants."""
    if error.relative_path:
        return False
    if error.validator == "type":
        return True
    return error.validator == "enum" and not any(type(v) is type(error.instance) for v in error.validator_value)


def _branch_errors(error: ValidationError) -> list[ValidationError] | None:
    """For anyOf/oneOf: the errors of the one branch whose type fits the value, if exactly one does."""
    branches: dict[int, list[ValidationError]] = {}
    for sub in error.context or ():
        branches.setdefault(sub.schema_path[0], []).append(sub)
    fitting = [errors for errors in branches.values() if not any(_misfit(e) for e in errors)]
    return fitting[0] if len(fitting) == 1 else None


def _fits_a_branch(error: ValidationError) -> bool:
    """For anyOf/oneOf: whether some branch takes the value's type (the value is then wrong, not its type)."""
    branches: dict[int, list[ValidationError]] = {}
    for sub in error.context or ():
        branches.setdefault(sub.schema_path[0], []).append(sub)
    return any(not any(_misfit(e) for e in errors) for errors in branches.values())


def _messages(error: ValidationError, report: FileReport) -> Iterator[tuple[Path_, str]]:
    path: Path_ = tuple(error.absolute_path)
    value, check = error.instance, error.validator
    if "propertyNames" in error.absolute_schema_path:
        yield _bad_name(path, value, error)
    elif check == "additionalProperties":
        known = error.schema.get("properties", {})
        for key in value:
            if key not in known:
                yield (*path, key), _unknown(path, key, known)
    elif check in ("anyOf", "oneOf"):
        branch = _branch_errors(error)
        if branch is None and _fits_a_branch(error) and not isinstance(value, dict | list):
            yield path, f"{report.show(path, value)} is not {_expected(error.schema)}"
        elif branch is None:
            yield path, f"expected {_expected(error.schema)}, got {_type_name(value)}"
        else:
            for sub in branch:
                yield from _messages(sub, report)
    elif check == "type":
        yield path, f"expected {_expected(error.schema)}, got {_type_name(value)}"
    elif check == "enum":
        shown = report.show(path, value)
        hint = did_you_mean(value, error.validator_value) if isinstance(value, str) else ""
        yield path, f"{shown} is not one of {', '.join(map(str, error.validator_value))}{hint}"
    elif check in ("pattern", "const"):
        yield path, f"{report.show(path, value)} is not {_titled(error)}"
    elif check == "required":
        for key in error.validator_value:
            if key not in value:
                yield path, f"missing required key '{key}'"
    else:
        yield path, _bound_message(check, error.validator_value, report.show(path, value))


def _unknown(path: Path_, key: str, known: Collection[str]) -> str:
    """The message for a key the schema does not know: why Compose's keys without an equivalent
    have none, or how they are written here (`compose_only`), or the closest known key."""
    kind = "" if not path else str(path[0]) if len(path) == 2 else None
    hint = compose_hint(kind, key) if kind is not None else None
    if hint:
        return hint
    return f"unknown {'kind' if not path else 'key'} '{key}'{did_you_mean(key, known)}"


def _bad_name(path: Path_, name: str, error: ValidationError) -> tuple[Path_, str]:
    if error.validator == "enum":
        return (*path, name), f"unknown key '{name}'{did_you_mean(name, error.validator_value)}"
    return (*path, name), f"invalid name '{name}': expected {_expected(error.schema)}"


def _bound_message(check: str, bound: Any, shown: str) -> str:
    texts = {
        "minimum": f"{shown} is less than the minimum {bound}",
        "maximum": f"{shown} is more than the maximum {bound}",
        "exclusiveMinimum": f"{shown} must be more than {bound}",
        "minLength": "must not be empty",
        "minItems": "must not be empty",
        "uniqueItems": "has an item more than once",
    }
    return texts.get(check, f"is invalid ({check})")


def check(document: dict, report: FileReport, skip: Collection[Path_] = ()) -> list[Path_]:
    """Report every schema error of the document, once each, except at or below the `skip` paths;
    return the paths reported, so that the normaliser checks everything else."""
    seen: set[tuple[Path_, str]] = set()
    for error in sorted(validator().iter_errors(document), key=lambda e: list(map(str, e.absolute_path))):
        for path, message in _messages(error, report):
            skipped = any(path[: len(s)] == s for s in skip)
            if (path, message) not in seen and not skipped:
                seen.add((path, message))
                report.error(path, message)
    return [path for path, _ in seen]
