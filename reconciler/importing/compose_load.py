"""`load_project`: Compose files read as `docker compose config` (compose-go v2) reads them.

Order, per file: YAML 1.2 (`compose_yaml`), interpolation (`compose_interpolate`), relative paths
(`compose_paths`), `include` then `extends` (`compose_refs`), merge onto the earlier files
(`compose_merge`); then the project name, profiles, and the Compose schema (`compose_schema`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from reconciler import masking
from reconciler.desired.envfile import read_env_file
from reconciler.desired.problems import LoadFailure, Problem
from reconciler.importing.compose_interpolate import Outcome, Variables, interpolate
from reconciler.importing.compose_merge import merge_document
from reconciler.importing.compose_paths import resolve_file
from reconciler.importing.compose_refs import TOP_LEVEL, add_included, apply_extends, include_entries
from reconciler.importing.compose_schema import validate
from reconciler.importing.compose_tree import ComposeError, Map, flatten
from reconciler.importing.compose_undefined import undefined
from reconciler.importing.compose_yaml import read_documents
from reconciler.importing.project import ComposeProject

# compose-go cli/options.go DefaultFileNames, DefaultOverrideFileNames
DEFAULT_FILES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
OVERRIDE_FILES = ("compose.override.yml", "compose.override.yaml", "docker-compose.override.yml",
                  "docker-compose.override.yaml")
_NAME_CHARS = re.compile(r"[a-z0-9_-]")


def normalize_name(name: str) -> str:
    """A project name as compose-go normalises it: lower case, only `[a-z0-9_-]`, no leading `_`/`-`."""
    return "".join(_NAME_CHARS.findall(name.lower())).lstrip("_-")


def default_files(directory: Path) -> list[Path]:
    """The Compose file and its override file found in `directory` or the nearest parent holding one."""
    for folder in (directory, *directory.parents):
        found = [folder / name for name in DEFAULT_FILES if (folder / name).is_file()]
        if found:
            overrides = [folder / name for name in OVERRIDE_FILES if (folder / name).is_file()]
            return [found[0], *overrides[:1]]
    return []


class _Loader:
    def __init__(self, variables: Variables, outcome: Outcome, files: list[Path]):
        self.environ = variables.environ
        self.root = variables.dotenv
        self.outcome = outcome
        self.files = files
        self.taken: dict[str, str] = {}
        self.values: set[str] = set()
        self.labels: dict[tuple[Path, ...], str] = {}

    def label(self, scope: tuple[Path, ...]) -> str:
        """The suffix of an included project's own variables (`Variables.label`): its folder's name
        in capitals, numbered when another scope has it."""
        if scope not in self.labels:
            base = re.sub(r"[^A-Z0-9_]", "_", scope[0].name.upper()) or "INCLUDE"
            label, number = base, 1
            while label in self.labels.values():
                number += 1
                label = f"{base}_{number}"
            self.labels[scope] = label
        return self.labels[scope]

    def read(self, path: Path, directory: Path, variables: Variables, chain: tuple[Path, ...]) -> list[Any]:
        """One file's documents, interpolated, paths resolved against `directory`, includes added,
        extends resolved."""
        if path not in self.files:
            self.files.append(path)
        documents = read_documents(path, str(path))
        for document in documents:
            interpolate(document.tree, variables, self.outcome)
            self.taken.update(variables.taken)
            self.values |= variables.values
            resolve_file(document.tree, directory, self.environ)
            for index, (origin, paths, project_dir, env_files) in enumerate(include_entries(document.tree)):
                files = [(path.parent / entry).resolve() for entry in paths]
                if any(file in chain for file in files):
                    raise ComposeError([Problem(origin.file, origin.line, f"include[{index}]", "include cycle")])
                folder = (path.parent / project_dir).resolve() if project_dir else files[0].parent
                own = [(path.parent / entry).resolve() for entry in env_files]
                dotenv = {**_env_files(own, folder), **variables.dotenv}
                scoped = Variables(self.environ, dotenv, root=self.root, label=self.label((folder, *own)))
                included = self.project(files, folder, scoped, (*chain, *files))
                add_included(document.tree, included, origin, index)
            document.tree.drop("include")
            apply_extends(document.tree, path, lambda other: self.other(other, variables, chain))
        return documents

    def other(self, path: Path, variables: Variables, chain: tuple[Path, ...]) -> Map:
        merged = Map()
        for document in read_documents(path, str(path)):
            interpolate(document.tree, variables, self.outcome)
            self.taken.update(variables.taken)
            self.values |= variables.values
            resolve_file(document.tree, path.parent, self.environ)
            merged = merge_document(merged, document)
        if path not in self.files:
            self.files.append(path)
        return merged

    def project(self, files: Sequence[Path], directory: Path, variables: Variables, chain: tuple[Path, ...]) -> Map:
        merged = Map()
        for path in files:
            for document in self.read(path, directory, variables, (*chain, path)):
                merged = merge_document(merged, document)
        return merged


def _env_files(paths: Sequence[Path], directory: Path) -> dict[str, str]:
    """The variables of the env files, later ones winning; with none, `.env` in `directory` if it exists."""
    paths = list(paths) or [path for path in [directory / ".env"] if path.is_file()]
    values: dict[str, str] = {}
    try:
        for path in paths:
            values.update(read_env_file(str(path)))
    except LoadFailure as failure:
        raise ComposeError([failure.problem]) from None
    return values


def _project_name(given: str | None, variables: Variables, model: Mapping[str, Any], directory: Path) -> str:
    chosen = given or variables.get("COMPOSE_PROJECT_NAME")
    if chosen:
        if normalize_name(chosen) != chosen:
            message = (f"invalid project name {chosen!r}: only lower-case letters, digits, '-' and '_', "
                       "starting with a letter or digit")
            raise ComposeError([Problem("", None, "", message)])
        return chosen
    written = model.get("name")
    name = normalize_name(written) if isinstance(written, str) and written else normalize_name(directory.name)
    if not name:
        raise ComposeError([Problem("", None, "name", "the project name must not be empty")])
    return name


def _active(profiles: Any, given: frozenset[str]) -> bool:
    return not profiles or "*" in given or not given.isdisjoint(profiles)


def load_project(
    files: Sequence[Path],
    *,
    project_directory: Path | None = None,
    env_files: Sequence[Path] = (),
    profiles: Sequence[str] = (),
    unprofiled: Sequence[str] = (),
    project_name: str | None = None,
    environ: Mapping[str, str] = os.environ,
) -> ComposeProject:
    """The project of `files` (none: `compose.yaml` and its override found from the project
    directory up), with its warnings (an unset variable, an obsolete `version`), each at
    FILE:LINE: key.path. Variables come from `environ`, then `env_files` (none: `.env` in the
    project directory; an included project's own `.env` only for it, its differing names written
    `NAME_<FOLDER>`: `Variables.written_name`); profiles from `profiles`, else `COMPOSE_PROFILES`,
    else `unprofiled` (the import's `*`: every service), which `ComposeProject.profiles` does not
    count. Raises ComposeError with every problem; no message ever holds a variable's value."""
    cwd = Path.cwd()
    paths = [(cwd / file).resolve() for file in files]
    directory = (cwd / project_directory).resolve() if project_directory else paths[0].parent if paths else cwd
    paths = paths or default_files(directory)
    if not paths:
        raise ComposeError([Problem(str(directory), None, "", f"no Compose file found ({', '.join(DEFAULT_FILES)})")])
    variables = Variables(environ, _env_files([(cwd / file).resolve() for file in env_files], directory))
    outcome, read = Outcome(), []
    loader = _Loader(variables, outcome, read)
    try:
        merged = loader.project(paths, directory, variables, ())
    except ComposeError as error:
        raise ComposeError(_masked(error.problems, loader.values)) from None
    model, origins, written = flatten(merged)
    if "version" in model:
        where = origins[("version",)]
        outcome.warnings.append(Problem(where.file, where.line, "version", "is obsolete and ignored"))
    outcome.errors.extend(validate(model, origins, str(paths[0])) or undefined(model, origins, str(paths[0])))
    if outcome.errors:
        raise ComposeError(_masked(outcome.errors, loader.values))
    name = _project_name(project_name, variables, model, directory)
    named = tuple(profiles) or tuple(
        entry.strip() for entry in (variables.get("COMPOSE_PROFILES") or "").split(",") if entry.strip()
    )
    given = frozenset(named or unprofiled)
    services = model.get("services") or {}
    inactive = {key: tuple(spec.get("profiles") or ()) for key, spec in services.items()
                if not _active(spec.get("profiles"), given)}
    model = {key: value for key, value in model.items() if key in TOP_LEVEL}
    model["services"] = {key: spec for key, spec in services.items() if key not in inactive}
    dropped = tuple(("services", key) for key in inactive)
    project = ComposeProject(
        name=name, directory=directory, files=tuple(read), model=model,
        origins={path: origin for path, origin in origins.items() if path[0] in model and path[:2] not in dropped},
        written={path: text for path, text in written.items() if path[0] in model and path[:2] not in dropped},
        dotenv={**loader.taken, **_read_by_name(model, variables)}, inactive=inactive, profiles=named,
        warnings=tuple(str(problem) for problem in _masked(outcome.warnings, loader.values)),
    )
    return project


def _read_by_name(model: Mapping[str, Any], variables: Variables) -> dict[str, str]:
    """The env files' variables that the project reads by name, from its environment as Compose v2
    does (the process environment first, then the env files): a top-level secret's or config's
    `environment`, and a service's bare `environment` NAME."""
    names = [body.get("environment") for top in ("secrets", "configs") for body in (model.get(top) or {}).values()
             if isinstance(body, Mapping)]
    for body in model["services"].values():
        environment = body.get("environment") if isinstance(body, Mapping) else None
        if isinstance(environment, Mapping):
            names += [key for key, value in environment.items() if value is None]
        elif isinstance(environment, list):
            names += [item for item in environment if isinstance(item, str) and "=" not in item]
    return {name: variables.dotenv[name] for name in names
            if isinstance(name, str) and name not in variables.environ and name in variables.dotenv}


def _masked(problems: list[Problem], values: set[str]) -> list[Problem]:
    return [Problem(p.file, p.line, p.key, masking.mask(p.message, values)) for p in problems]
