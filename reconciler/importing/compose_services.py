"""A Compose service as a `[container.NAME]` table.

Most service keys are ours under Compose's name and value form (docs/format.md, "Compose keys"):
they are carried as written. Compose's names for our keys (`reconciler/desired/aliases.py`) are
written under ours with a note; the keys without an equivalent (`reconciler/desired/compose_only.py`)
are skipped with its reason. Compose's implicit behaviour is made explicit: the default network,
the service name as a network alias, other services named by their containers' names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from reconciler.desired.aliases import ALIASES
from reconciler.desired.compose_only import WHY_NOT, compose_hint
from reconciler.importing.compose_attach import (
    depends_on,
    grants,
    mounts,
    networks,
    ports,
    service_ref,
    volumes_from,
)
from reconciler.importing.compose_deploy import deploy_keys
from reconciler.importing.compose_labels import carry_labels
from reconciler.importing.compose_text import go_text
from reconciler.importing.compose_values import NO_EQUIVALENT, Scope, Unwritable, schema_node
from reconciler.importing.emit import Resource
from reconciler.importing.project import ModelPath

# Compose's name -> ours, for the aliases that move a value as written: environment, volumes,
# stop_grace_period to a top-level key; mem_limit, cpus... into `resources`
_RENAMED = {a.name: a.targets[0][0] for a in ALIASES.values() if a.rename and len(a.targets[0]) == 1}
_RESOURCES = {a.name: a.targets[0][1] for a in ALIASES.values() if a.rename and a.targets[0][0] == "resources"}
_CLEAR = {"labels", "annotations"}  # shown by `docker inspect`: no value from the env file
_DEPLOY_LIMITS = {("limits", "cpus"): "cpus", ("limits", "memory"): "memory", ("limits", "pids"): "pids_limit",
                  ("reservations", "memory"): "memory_reservation"}


class _Table:
    """The table being written, its notes, and its `resources` (with what each came from)."""

    def __init__(self) -> None:
        self.table: dict[str, Any] = {}
        self.notes: dict[str, str] = {}
        self.resources: dict[str, Any] = {}
        self.resource_notes: list[str] = []

    def resource(self, key: str, value: Any, note: str) -> None:
        self.table.setdefault("resources", self.resources)
        self.resources[key] = value
        self.resource_notes.append(note)
        self.notes["resources"] = "from " + ", ".join(self.resource_notes)


def service(scope: Scope, name: str, body: Mapping[str, Any]) -> Resource:
    """The `[container.NAME]` table of service `name` (NAME its container's name)."""
    at: ModelPath = ("services", name)
    out = _Table()
    for key, value in body.items():
        path = (*at, key)
        if key.startswith("x-"):
            scope.skip(path, "an extension field, which Compose itself ignores")
        elif key in _HANDLERS:
            _HANDLERS[key](scope, path, value, out)
        elif key in _RESOURCES:
            out.resource(_RESOURCES[key], scope.carry(path, value), f"{key}: {_shown(scope, path, value)}")
        elif key in _RENAMED:
            _put(out, _RENAMED[key], scope.carry(path, value, schema_node("container", _RENAMED[key])), f"from {key}")
        elif key == "labels":
            _put(out, key, carry_labels(scope, path, value, schema_node("container", key)))
        elif key in WHY_NOT["container"]:
            scope.skip(path, compose_hint("container", key) or NO_EQUIVALENT)
        elif schema_node("container", key):
            _put(out, key, scope.carry(path, value, schema_node("container", key), clear=key in _CLEAR))
        else:
            scope.skip(path, NO_EQUIVALENT)
    if "networks" not in body and "network_mode" not in body:
        scope.default_network_used = True
        network = scope.written_names[("network", "default")]
        out.table["networks"] = {network: {"aliases": [name]}}
        out.notes["networks"] = "Compose's default network, with the service's name as alias"
    container = scope.containers[name]
    comment = f"service {name}" if container == name else f"service {name}, container {container}"
    return Resource("container", container, out.table, out.notes, comment)


def _put(out: _Table, key: str, value: Any, note: str = "") -> None:
    if value is None or value == [] or value == {}:
        return
    out.table[key] = value
    if note:
        out.notes[key] = note


def _shown(scope: Scope, path: ModelPath, value: Any) -> str:
    """The value as a note shows it: as written (a `${VAR}` is never resolved in a note)."""
    try:
        return str(scope.text(path, value))
    except Unwritable:
        return "(not shown)"


def _environment(scope: Scope, path: ModelPath, value: Any, out: _Table) -> None:
    """`environment` -> `env` as a table; Compose's bare `NAME` (the value from the environment
    Compose runs in) is written `NAME = "${NAME}"`, read from the env file or the agent's environment.
    Every value is a string, as Compose v2 makes it (`compose_text.go_text`: `1e3` is "1000")."""
    env: dict[str, Any] = {}
    if isinstance(value, Mapping):
        entries = [((*path, key), key, item, scope.project.written.get((*path, key))) for key, item in value.items()]
    else:
        entries = []
        for index, item in enumerate(value):
            key, sep, rest = str(item).partition("=")
            written = scope.project.written.get((*path, index))
            part = written.partition("=")[2] if written is not None and "=" in written else None
            entries.append(((*path, index), key, rest if sep else None, part))
    for where, key, item, written in entries:
        if item is None:
            scope.reads(key)
            env[key] = "${" + key + "}"
            continue
        try:
            env[key] = scope.text_as(written, item if isinstance(item, str) else go_text(item))
        except Unwritable as why:
            scope.skip(where, str(why))
    _put(out, "env", env, "from environment")


def _pull_policy(scope: Scope, path: ModelPath, value: Any, out: _Table) -> None:
    try:
        converted = ALIASES["pull_policy"].convert(value, dict(scope.project.model["services"][path[1]]))
    except ValueError as why:
        scope.skip(path, str(why))
        return
    for (key,), item in converted.items():
        _put(out, key, item, f"from pull_policy: {value}")


def _deploy(scope: Scope, path: ModelPath, value: Mapping[str, Any], out: _Table) -> None:
    """`deploy.resources` limits as `resources` (as Compose v2 applies them on one host); the other
    keys as keys of the container (`compose_deploy`: replicas, mode, update, restart)."""
    for key, item in value.items():
        if key == "resources" and isinstance(item, Mapping):
            for kind, limits in item.items():
                for limit, inner in (limits or {}).items():
                    where = (*path, key, kind, limit)
                    ours = _DEPLOY_LIMITS.get((kind, limit))
                    if ours is None or ours in out.resources:
                        scope.skip(where, f"{ours} is written already" if ours else compose_hint("container", "deploy"))
                        continue
                    out.resource(ours, scope.carry(where, inner), f"deploy.resources.{kind}.{limit}")
        else:
            for ours, carried, note in deploy_keys(scope, (*path, key), key, item, value):
                _put(out, ours, carried, note)


def _restart(scope: Scope, path: ModelPath, value: Any, out: _Table) -> None:
    """`restart` as written, unless `deploy.restart_policy` is given: Compose v2 and docker stack
    deploy take that one (compose pkg/compose/create.go getRestartPolicy; docker/cli convertRestartPolicy)."""
    if "restart_policy" in (scope.project.model["services"][path[1]].get("deploy") or {}):
        scope.skip(path, "deploy.restart_policy is written as restart: Compose takes it over restart")
        return
    _put(out, "restart", scope.carry(path, value, schema_node("container", "restart")))


def _build(scope: Scope, path: ModelPath, value: Any, out: _Table) -> None:
    """`build`: the context written relative to the output folder, the rest as written."""
    build = {"context": value} if isinstance(value, str) else dict(value)
    context = str(build.get("context", "."))
    if "://" in context or context.startswith("git@"):
        scope.skip(path, "a remote build context (a git or https URL): only a local folder is built here")
        return
    table = scope.carry(path, {k: v for k, v in build.items() if k != "context"}, schema_node("container", "build"))
    args = table.pop("args", None)
    if args is not None:
        table["args"] = scope.carry((*path, "args"), build["args"], schema_node("container", "build")["properties"]
                                    ["args"], clear=True)
    _put(out, "build", {"context": scope.relative(context), **table}, "the context relative to this folder")


def _files(scope: Scope, path: ModelPath, value: Any, out: _Table) -> None:
    """`env_file`, `label_file`: paths relative to the output folder; an optional (`required:
    false`) file that is missing is left out, as Compose leaves it out."""
    key = str(path[-1])
    kept = []
    for index, item in enumerate([value] if isinstance(value, str) else value):
        entry = item if isinstance(item, Mapping) else {"path": item}
        where = (*path, index)
        if entry.get("required") is False and not scope.project.directory.joinpath(entry["path"]).exists():
            scope.skip(where, "an optional file (required: false) that does not exist")
            continue
        for other in set(entry) - {"path", "required"}:
            scope.skip((*where, other), NO_EQUIVALENT)
        kept.append(scope.relative(str(scope.project.directory / entry["path"])))
    _put(out, key, kept, "relative to this folder")


def _healthcheck(scope: Scope, path: ModelPath, value: Any, out: _Table) -> None:
    """`healthcheck`; one without `test` (Compose keeps the image's test, with these timings) is
    skipped: a healthcheck here names its test."""
    if isinstance(value, Mapping) and "test" not in value and not value.get("disable"):
        scope.skip(path, "a healthcheck without test (Compose keeps the image's test): a healthcheck here names its "
                         "test; write the image's test")
        return
    _put(out, "healthcheck", scope.carry(path, value, schema_node("container", "healthcheck")))


def _profiles(scope: Scope, path: ModelPath, value: Any, out: _Table) -> None:
    if scope.keep_profiles:
        _put(out, "profiles", scope.carry(path, value))


def _logging(scope: Scope, path: ModelPath, value: Mapping[str, Any], out: _Table) -> None:
    if not value.get("driver"):
        scope.skip(path, "a logging table without a driver (Compose takes the engine's default): name the driver")
        return
    _put(out, "logging", scope.carry(path, value, schema_node("container", "logging")))


def _namespace(scope: Scope, path: ModelPath, value: Any, out: _Table) -> None:
    """`network_mode`, `ipc`, `pid`: `service:NAME` -> `container:<its container's name>`."""
    _put(out, str(path[-1]), service_ref(scope, path, value))


def _none(scope: Scope, path: ModelPath, value: Any, out: _Table) -> None:
    """`container_name`: the table's name (compose_names)."""


def _attached(convert: Callable[[Scope, ModelPath, Any], Any], key: str) -> Callable:
    def handler(scope: Scope, path: ModelPath, value: Any, out: _Table) -> None:
        _put(out, key, convert(scope, path, value))
    return handler


def _mounts(scope: Scope, path: ModelPath, value: Any, out: _Table) -> None:
    _put(out, "mounts", mounts(scope, path, value), "from volumes")


_HANDLERS: dict[str, Callable[[Scope, ModelPath, Any, _Table], None]] = {
    "environment": _environment,
    "volumes": _mounts,
    "pull_policy": _pull_policy,
    "deploy": _deploy,
    "restart": _restart,
    "build": _build,
    "env_file": _files,
    "label_file": _files,
    "profiles": _profiles,
    "healthcheck": _healthcheck,
    "logging": _logging,
    "network_mode": _namespace,
    "ipc": _namespace,
    "pid": _namespace,
    "container_name": _none,
    "networks": _attached(networks, "networks"),
    "secrets": _attached(grants, "secrets"),
    "configs": _attached(grants, "configs"),
    "ports": _attached(ports, "ports"),
    "depends_on": _attached(depends_on, "depends_on"),
    "volumes_from": _attached(volumes_from, "volumes_from"),
}
