"""Load a desired-state directory: discover the files, load each on its own, combine them.

`load_file` is self-contained per file (syntax, interpolation, schema, normalisation), so the
agent can keep the last valid `FileDecl` of each file; `combine` checks any set of valid
`FileDecl`s together (duplicate names, references, dependency cycles). `load` does all three.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from reconciler.desired import normalize, references, schema
from reconciler.desired.envfile import read_env_file
from reconciler.desired.interpolate import interpolate
from reconciler.desired.locate import key_lines
from reconciler.desired.problems import FileReport, LoadFailure, Path_, Problem, decode_utf8, dotted, scrub
from reconciler.model import DesiredState, Spec

__all__ = ["FileDecl", "LoadFailure", "LoadResult", "Problem", "combine", "discover", "load", "load_file",
           "read_env_file"]

_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_KINDS = {"container": "containers", "network": "networks", "volume": "volumes"}


@dataclass(frozen=True)
class FileDecl:
    """What one file declares, validated on its own. `specs` is empty when there are errors."""

    file: str
    specs: tuple[Spec, ...]
    errors: tuple[Problem, ...]
    warnings: tuple[Problem, ...] = ()
    lines: Mapping[Path_, int] = field(default_factory=dict, repr=False, compare=False)
    secret_values: frozenset[str] = field(default=frozenset(), repr=False, compare=False)

    @property
    def valid(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class LoadResult:
    state: DesiredState | None
    errors: tuple[Problem, ...]
    warnings: tuple[Problem, ...]
    files: tuple[str, ...]


def is_desired_file(rel_path: str) -> bool:
    """True for a path (relative to the directory) that is read: a `*.toml` file outside hidden
    files and folders. Editor and tool artefacts (`.x.toml.swp`, `4913`, `x.toml~`,
    `x.toml.bak`) end otherwise or are hidden, so they are never read."""
    parts = PurePath(rel_path).parts
    return bool(parts) and not any(part.startswith(".") for part in parts) and parts[-1].endswith(".toml")


def discover(root: Path) -> list[str]:
    """The *.toml files under root (relative, with /), skipping hidden files and folders."""
    if not root.is_dir():
        reason = "is not a directory" if root.exists() else "does not exist"
        raise LoadFailure(Problem("", None, "", f"desired-state directory {root} {reason}"))

    def fail(error: OSError) -> None:
        raise LoadFailure(Problem("", None, "", f"cannot read {error.filename}: {error.strerror}"))

    found = []
    for folder, folders, files in os.walk(root, onerror=fail):
        folders[:] = [name for name in folders if not name.startswith(".")]
        base = Path(folder).relative_to(root)
        found.extend(path for path in ((base / name).as_posix() for name in files) if is_desired_file(path))
    return sorted(found)


def _parse(text: str, report: FileReport) -> dict | None:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        position = _TOML_POSITION.search(message)
        if position:
            line = int(position.group(1))
            message = message[: position.start()] + f" (column {position.group(2)})"
        else:
            line = text.count("\n") + (not text.endswith("\n"))
            message = message.replace(" (at end of document)", " at the end of the file")
        report.errors.append(Problem(report.file, line or None, "", f"TOML syntax error: {message}"))
        return None


def _declare(rel: str, report: FileReport, specs: Iterable[Spec] = ()) -> FileDecl:
    def by_line(problems: list[Problem]) -> tuple[Problem, ...]:
        return tuple(sorted(problems, key=lambda p: p.line or 0))

    ok = not report.errors
    return FileDecl(rel, tuple(specs) if ok else (), by_line(report.errors), by_line(report.warnings),
                    dict(report.lines), frozenset(report.secret_values))


def load_file(root: Path, rel: str, env: Mapping[str, str], secrets: frozenset[str] = frozenset()) -> FileDecl:
    """Read, parse, interpolate, schema-check and normalise one file (relative to root)."""
    report = FileReport(rel)
    path = root / rel
    try:
        text = decode_utf8(path.read_bytes(), rel)
    except OSError as error:
        report.errors.append(Problem(rel, None, "", f"cannot read: {error.strerror or error}"))
        return _declare(rel, report)
    except LoadFailure as failure:
        report.errors.append(failure.problem)
        return _declare(rel, report)
    document = _parse(text, report)
    if document is None:
        return _declare(rel, report)
    report.lines = key_lines(text)
    document, outcome = interpolate(document, env, secrets)
    report.secret_paths, report.secret_values = outcome.secret_paths, outcome.secret_values
    for at, message in outcome.errors:
        report.error(at, message)
    for at, message in outcome.warnings:
        report.warning(at, message)
    schema.check(document, report, skip=[at for at, _ in outcome.errors])
    specs = normalize.build(document, report, path.absolute().parent)
    return _declare(rel, report, specs)


def combine(decls: Iterable[FileDecl]) -> tuple[DesiredState, tuple[Problem, ...]]:
    """The desired state of the valid decls together, and the problems across them."""
    decls = [d for d in decls if d.valid]
    by_file = {d.file: d for d in decls}
    secrets = frozenset().union(*(d.secret_values for d in decls))

    def place(spec: Spec, at: Path_, message: str) -> Problem:
        decl = by_file.get(spec.source.file)
        lines = decl.lines if decl else {}
        line = next((lines[at[:n]] for n in range(len(at), 0, -1) if at[:n] in lines), spec.source.line)
        return Problem(spec.source.file, line, dotted(at), scrub(message, secrets))

    tables: dict[str, dict[str, Spec]] = {kind: {} for kind in _KINDS}
    problems = []
    for spec in (s for d in decls for s in d.specs):
        first = tables[spec.kind].setdefault(spec.name, spec)
        if first is not spec:
            problems.append(place(spec, (spec.kind, spec.name),
                                  f"{spec.kind} '{spec.name}' is also declared in {first.source}"))
    state = DesiredState(**{_KINDS[kind]: dict(sorted(table.items())) for kind, table in tables.items()})
    problems.extend(references.check(state, place))
    return state, tuple(sorted(problems, key=lambda p: (p.file, p.line or 0)))


def environment(
    env_file: str | None, environ: Mapping[str, str] | None = None
) -> tuple[dict[str, str], frozenset[str]]:
    """(variables for interpolation, the names that came from the env file and so are secret).
    The process environment wins over the env file. Raises LoadFailure for an unreadable file."""
    file_env = read_env_file(env_file)
    return {**file_env, **(os.environ if environ is None else environ)}, frozenset(file_env)


def load(root: Path, env_file: str | None = None, environ: Mapping[str, str] | None = None) -> LoadResult:
    """Load the whole directory. The process environment wins over the env file.

    Checks across files run once every file is valid on its own, so that a broken file does not
    also show up as dangling references elsewhere.
    """
    root = Path(root)
    try:
        files = discover(root)
        env, secrets = environment(env_file, environ)
    except LoadFailure as failure:
        return LoadResult(None, (failure.problem,), (), ())
    decls = [load_file(root, rel, env, secrets) for rel in files]
    errors = [p for d in decls for p in d.errors]
    warnings = [p for d in decls for p in d.warnings]
    if not files:
        warnings.append(Problem("", None, "", f"no *.toml files in {root}: the desired state is empty"))
    if errors:
        return LoadResult(None, tuple(errors), tuple(warnings), tuple(files))
    state, problems = combine(decls)
    return LoadResult(None if problems else state, problems, tuple(warnings), tuple(files))
