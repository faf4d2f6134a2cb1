"""The control API's OpenAPI 3.1 document, built from the JSON Schemas shipped in the package
(`schemas/api.schema.json`, and `schemas/plan.schema.json` for the plans it carries), so the
document, the answers and the tests that validate every answer read one source (DESIGN 12)."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

SCHEMA_VERSION = 1
API_VERSION = "1"

# path -> method -> (summary, request body schema or None, answer schema on success)
OPERATIONS: dict[str, dict[str, tuple[str, str | None, str]]] = {
    "/v1/status": {"get": ("The agent's status", None, "status")},
    "/v1/plan": {"get": ("What the last pass left to do, and its age", None, "planned")},
    "/v1/sync": {"post": ("A pass now, with an apply's options; answers once it ended", "sync_request", "passed")},
    "/v1/suspend": {"post": ("Stop changing the engine; keep observing and reporting", None, "suspension")},
    "/v1/resume": {"post": ("Change the engine again", None, "suspension")},
    "/v1/retry/{kind}/{name}": {"post": ("Forget a resource's backoff and pass now", None, "passed")},
    "/v1/approve/{id}": {"post": ("Apply the plan waiting for approval, named by its id; refused (409, with the "
                                  "fresh plan) when the files or the engine changed since", None, "decision")},
    "/v1/reject/{id}": {"post": ("Drop the plan waiting for approval until the files change", None, "decision")},
}


def _schema(name: str) -> dict[str, Any]:
    return json.loads((files("schemas") / name).read_text())


def _components(defs: dict[str, Any], prefix: str) -> dict[str, Any]:
    """`defs` as OpenAPI components named PREFIX + name, their `$ref`s pointing there."""
    text = json.dumps(defs)
    text = text.replace('"#/$defs/', f'"#/components/schemas/{prefix}')
    text = text.replace('"plan.schema.json#/$defs/', '"#/components/schemas/plan.')
    return {f"{prefix}{name}": schema for name, schema in json.loads(text).items()}


def _answers(schema: str) -> dict[str, Any]:
    def body(name: str, description: str) -> dict[str, Any]:
        return {"description": description,
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}

    return {"200": body(schema, "done"), "default": body("error", "refused or failed, with why")}


@cache
def document() -> dict[str, Any]:
    """The OpenAPI document (served at /v1/openapi.json)."""
    components = {**_components(_schema("plan.schema.json")["$defs"], "plan."),
                  **_components(_schema("api.schema.json")["$defs"], "")}
    paths: dict[str, Any] = {}
    for path, methods in OPERATIONS.items():
        paths[path] = {}
        for method, (summary, request, answer) in methods.items():
            operation: dict[str, Any] = {"summary": summary, "responses": _answers(answer)}
            if request:
                operation["requestBody"] = {"required": False, "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{request}"}}}}
            if "{id}" in path:
                operation["parameters"] = [{"name": "id", "in": "path", "required": True,
                                            "schema": {"type": "string", "pattern": "^[0-9a-f]{16}$"}}]
            if "{kind}" in path:
                operation["parameters"] = [
                    {"name": "kind", "in": "path", "required": True,
                     "schema": {"enum": ["container", "network", "volume"]}},
                    {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}},
                ]
            paths[path][method] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "reconciler agent control API", "version": API_VERSION,
                 "description": "On a unix socket (mode 0660), or TCP with TLS client certificates; docs/api.md."},
        "paths": paths,
        "components": {"schemas": components},
    }


def schema_of(name: str) -> dict[str, Any]:
    """A JSON Schema that validates one answer body against component `name` of the document."""
    return {"$ref": f"#/components/schemas/{name}", "components": document()["components"]}
