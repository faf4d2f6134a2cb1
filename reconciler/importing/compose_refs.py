"""Compose's `extends` and `include` (compose-spec 05-services.md `extends`, 14-include.md).

`extends: NAME` or `extends: {service: NAME, file: PATH}` starts a service from another one, in
the same file or in PATH (relative to the directory of the file that declares it); the other
file's relative paths are resolved against its own directory, its own `extends` first (a cycle is
an error), and the service's values are merged onto the base by the merge rules.

`include: [PATH, {path: PATH | [PATH...], project_directory: DIR, env_file: F | [F...]}]` loads
another project (relative to the including file's directory; its project directory is DIR or the
directory of its first file; its variables are the process environment, then the including
project's env files, then its own `env_file`s or its `.env`) and adds its services, networks,
volumes, secrets and configs; a name both define is an error, as the Compose specification says.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from reconciler.desired.problems import Problem, dotted
from reconciler.importing.compose_merge import merge, unique
from reconciler.importing.compose_tree import ComposeError, Map, Seq, copy
from reconciler.importing.project import ModelPath, Origin

TOP_LEVEL = ("services", "networks", "volumes", "secrets", "configs")
ReadFile = Callable[[Path], Map]


def _fail(origin: Origin, path: ModelPath, message: str) -> ComposeError:
    return ComposeError([Problem(origin.file, origin.line, dotted(path), message)])


def apply_extends(tree: Map, file: Path, read: ReadFile, chain: tuple[tuple[Path, str], ...] = ()) -> None:
    """Resolve every service's `extends` in one file's tree (in place); `read` gives another
    file's tree, interpolated and with its paths resolved. Raises ComposeError."""
    services = tree.get("services")
    if not isinstance(services, Map):
        return
    for name in list(services):
        services[name] = _extended(services, name, file, read, chain)


def _extended(services: Map, name: str, file: Path, read: ReadFile, chain: tuple[tuple[Path, str], ...]) -> Any:
    service = services[name]
    if not isinstance(service, Map) or "extends" not in service:
        return service
    where, path = service.at["extends"], ("services", name, "extends")
    extends = service["extends"]
    base_name = extends if isinstance(extends, str) else extends.get("service") if isinstance(extends, Map) else None
    if not isinstance(base_name, str):
        raise _fail(where, path, "must name a service (extends: NAME or extends: {service: NAME, file: PATH})")
    other = extends.get("file") if isinstance(extends, Map) else None
    base_file = (file.parent / other).resolve() if isinstance(other, str) else file
    link = (base_file, base_name)
    if link in chain or link == (file, name):
        cycle = " -> ".join(f"{f.name}:{s}" for f, s in (*chain, (file, name), link))
        raise _fail(where, path, f"extends cycle: {cycle}")
    if base_file == file:
        base_services = services
    elif not base_file.is_file():
        raise _fail(service["extends"].at["file"], (*path, "file"), f"no file {other} (read as {base_file})")
    else:
        base_tree = read(base_file)
        base_services = base_tree.get("services") if isinstance(base_tree.get("services"), Map) else Map()
    if base_name not in base_services:
        raise _fail(where, path, f"service {base_name!r} is not defined in {base_file.name}")
    base_services[base_name] = _extended(base_services, base_name, base_file, read, (*chain, (file, name)))
    own = Map(service, at=service.at)
    own.drop("extends")
    base = copy(base_services[base_name]) if isinstance(base_services[base_name], Map) else Map()
    return unique(merge(base, own, ("services", name), where), ("services", name))


def _entries(value: Any) -> list[Any]:
    return list(value) if isinstance(value, Seq) else [value]


def include_entries(tree: Map) -> list[tuple[Origin, list[str], str | None, list[str]]]:
    """The `include` entries of a file: (origin, paths, project_directory, env_files). Raises
    ComposeError for a malformed entry."""
    entries = []
    items = tree.get("include")
    if items is None:
        return entries
    if not isinstance(items, Seq):
        raise _fail(tree.at["include"], ("include",), "must be a list of paths or mappings")
    for index, item in enumerate(items):
        origin = items.at[index]
        if isinstance(item, str):
            entries.append((origin, [item], None, []))
            continue
        paths = _entries(item.get("path")) if isinstance(item, Map) else []
        directory = item.get("project_directory") if isinstance(item, Map) else None
        env_files = _entries(item.get("env_file")) if isinstance(item, Map) and "env_file" in item else []
        if not paths or not all(isinstance(entry, str) for entry in [*paths, *env_files]):
            raise _fail(origin, ("include", index), "must be a path or a mapping with path (a path or a list)")
        entries.append((origin, paths, directory if isinstance(directory, str) else None, env_files))
    return entries


def add_included(tree: Map, included: Map, origin: Origin, index: int) -> None:
    """Add an included project's resources to a file's tree (in place); a name defined by both is
    an error at the include entry."""
    for top in TOP_LEVEL:
        theirs = included.get(top)
        if not isinstance(theirs, Map):
            continue
        ours = tree.get(top)
        if not isinstance(ours, Map):
            ours = Map()
            tree.put(top, ours, origin)
        for name, value in theirs.items():
            if name in ours:
                where = ours.at.get(name, origin)
                message = f"{top} {name!r} is defined both here (line {where.line}) and by the included project"
                raise _fail(origin, ("include", index), message)
            ours.put(name, value, theirs.at[name])
