"""The merged model checked against the Compose specification's JSON schema, as compose-go does
after merge and interpolation.

The schema is the one the pinned `check-jsonschema` package ships
(`check_jsonschema/builtin_schemas/vendor/compose-spec.json`), read with importlib.resources, so
that none is copied into this repository. Each error is placed at FILE:LINE: key.path through the
model's origins; an unknown key at its own line. Messages never show a scalar value (it may have
been interpolated from a secret): they say "the value".
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from importlib import resources
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError

from reconciler.desired.problems import Problem
from reconciler.importing.compose_tree import problem
from reconciler.importing.project import ModelPath, Origin


@functools.cache
def compose_schema() -> dict[str, Any]:
    """The Compose specification's schema, as check-jsonschema ships it."""
    text = resources.files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json").read_text("utf-8")
    return json.loads(text)


def _declared(schema: Mapping[str, Any]) -> tuple[set[str], list[str]]:
    """The property names and patterns `schema` declares, through its `allOf` and `$ref`s."""
    names, patterns = set(schema.get("properties", {})), list(schema.get("patternProperties", {}))
    for part in schema.get("allOf", ()):
        while "$ref" in part:
            part = compose_schema()["$defs"][part["$ref"].rsplit("/", 1)[-1]]
        inner_names, inner_patterns = _declared(part)
        names |= inner_names
        patterns += inner_patterns
    return names, patterns


def _unexpected(error: ValidationError) -> list[str]:
    """The keys an additional/unevaluated-properties error names (its message lists their reprs)
    that the schema does not declare: an unevaluated-properties error also names the declared
    keys of a part of the schema that failed (its annotations are dropped), whose own errors are
    reported at them."""
    listed = error.message.rpartition("(")[2]
    names, patterns = _declared(error.schema)
    return [key for key in error.instance if repr(key) in listed and key not in names
            and not any(re.search(pattern, key) for pattern in patterns)]


def _message(error: ValidationError) -> str:
    if error.validator == "type":
        kinds = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        return "must be " + " or ".join(f"a {kind}" if kind != "integer" else "an integer" for kind in kinds)
    if error.validator == "enum":
        return "must be one of " + ", ".join(json.dumps(item) for item in error.validator_value)
    return error.message.replace(repr(error.instance), "the value")


def nearest_origin(path: ModelPath, origins: Mapping[ModelPath, Origin]) -> Origin | None:
    """Where `path`, or the nearest key above it that has an origin, was written."""
    for end in range(len(path), -1, -1):
        if path[:end] in origins:
            return origins[path[:end]]
    return None


def _deepest(error: ValidationError) -> ValidationError:
    """Of the alternatives of a `oneOf`/`anyOf`, the one that got furthest into the value, a type
    mismatch last."""
    while error.context:
        error = max(error.context, key=lambda sub: (len(sub.absolute_path), sub.validator != "type"))
    return error


def validate(model: Mapping[str, Any], origins: Mapping[ModelPath, Origin], file: str) -> list[Problem]:
    """Every place where `model` breaks the Compose schema; `file` names problems with no origin."""
    schema = compose_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    problems = []
    for found in sorted(validator.iter_errors(model), key=lambda error: list(map(str, error.absolute_path))):
        error = _deepest(found)
        path = tuple(error.absolute_path)
        if error.validator in ("additionalProperties", "unevaluatedProperties") and isinstance(error.instance, dict):
            for key in _unexpected(error):
                origin = nearest_origin((*path, key), origins)
                problems.append(problem(origin, (*path, key), "is not a Compose key", file))
            continue
        problems.append(problem(nearest_origin(path, origins), path, _message(error), file))
    return problems
