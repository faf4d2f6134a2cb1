"""Load a desired-state directory: discover the files, load each on its own, combine them.

`load_file` is self-contained per file (syntax, interpolation, schema, normalisation), so the
agent can keep the last valid `FileDecl` of each file; `combine` checks any set of valid
`FileDecl`s together (duplicate names, references, dependency cycles). `load` does all three.
`load`, `load_file` and `load_bytes` take an optional `ValidationCache` (`validated`), which
spares the schema check of a document that passed it before.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.desired import bridges, filesources, normalize, numerals, ports, references, schema
from reconciler.desired.envfile import read_env_file
from reconciler.desired.files import discover, is_desired_file, read_file
from reconciler.desired.interpolate import interpolate
from reconciler.desired.locate import key_lines, too_deep
from reconciler.desired.problems import (
    FileReport,
    LoadFailure,
    Path_,
    Problem,
    decode_utf8,
    dotted,
    scrub,
    written_as,
)
from reconciler.model import DesiredState, Spec

if TYPE_CHECKING:
    from reconciler.desired.validated import ValidationCache

__all__ = ["FileDecl", "LoadFailure", "LoadResult", "Problem", "combine", "discover", "is_desired_file", "load",
           "load_bytes", "load_file", "read_env_file", "read_file"]

HashKey = Callable[[], bytes]  # the key of secrets' keyed hashes, made on first use (StateDir.hash_key)
MAX_DEPTH = 32  # tables and arrays nested deeper than this are refused
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_KINDS = {"container": "containers", "network": "networks", "volume": "volumes", "secret": "secrets",
          "config": "configs"}


@dataclass(frozen=True)
class FileDecl:
    """What one file declares, validated on its own. `specs` is empty when there are errors."""

    file: str
    specs: tuple[Spec, ...]
    errors: tuple[Problem, ...]
    warnings: tuple[Problem, ...] = ()
    lines: Mapping[Path_, int] = field(default_factory=dict, repr=False, compare=False)
    secret_values: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    # the other files what it declares depends on (env files), by path
    inputs: tuple[str, ...] = field(default=(), repr=False, compare=False)
    # our key paths written under a Compose alias -> the alias's path (`aliases.resolve`)
    renamed: Mapping[Path_, Path_] = field(default_factory=dict, repr=False, compare=False)

    @property
    def valid(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class LoadResult:
    state: DesiredState | None
    errors: tuple[Problem, ...]
    warnings: tuple[Problem, ...]
    files: tuple[str, ...]


def _deepest(document: dict) -> Path_ | None:
    """The path of a table or array nested more than MAX_DEPTH levels deep, if any (iterative, so
    any depth is measured without recursion)."""
    stack: list[tuple[Path_, object]] = [((), document)]
    while stack:
        path, value = stack.pop()
        if len(path) > MAX_DEPTH:
            return path
        items = value.items() if isinstance(value, dict) else enumerate(value)
        stack.extend(((*path, key), item) for key, item in items if isinstance(item, dict | list))
    return None


def parse_toml(text: str, report: FileReport) -> dict | None:
    """A TOML document (any of ours: desired state, the notification targets), or None with the
    syntax error or the excess nesting reported in `report`, its keys' lines recorded. Nesting is
    checked on the text first (tomllib recurses into nested arrays), then on the document."""
    too_deep_at = too_deep(text, MAX_DEPTH)
    if too_deep_at is None:
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            report.errors.append(_syntax_error(text, report.file, str(error)))
            return None
        report.lines = key_lines(text)
        deepest = _deepest(document)
        if deepest is None:
            return document
        too_deep_at = report.line_of(deepest)
    message = f"tables and arrays are nested more than {MAX_DEPTH} levels deep (the limit)"
    report.errors.append(Problem(report.file, too_deep_at, "", message))
    return None


def _syntax_error(text: str, file: str, message: str) -> Problem:
    position = _TOML_POSITION.search(message)
    if position:
        line = int(position.group(1))
        message = message[: position.start()] + f" (column {position.group(2)})"
    else:
        line = text.count("\n") + (not text.endswith("\n"))
        message = message.replace(" (at end of document)", " at the end of the file")
    return Problem(file, line or None, "", f"TOML syntax error: {message}")


def _in_order(problem: Problem) -> tuple[int, list[str | int]]:
    """Problems by line, then by key path, array indices by number (`ports[9]` before `ports[10]`)."""
    parts = re.split(r"(\d+)", problem.key)
    return problem.line or 0, [int(part) if index % 2 else part for index, part in enumerate(parts)]


def _declare(rel: str, report: FileReport, specs: Iterable[Spec] = ()) -> FileDecl:
    def by_line(problems: list[Problem]) -> tuple[Problem, ...]:
        return tuple(sorted(problems, key=_in_order))

    ok = not report.errors
    return FileDecl(rel, tuple(specs) if ok else (), by_line(report.errors), by_line(report.warnings),
                    dict(report.lines), frozenset(report.secret_values), tuple(report.inputs), dict(report.renamed))


def load_file(root: Path, rel: str, env: Mapping[str, str], secrets: frozenset[str] = frozenset(),
              validated: ValidationCache | None = None, build_allow: tuple[Path, ...] = (),
              hash_key: HashKey | None = None, target: str | None = None) -> FileDecl:
    """Read, parse, interpolate, schema-check and normalise one file (relative to root); `target`
    as `load_bytes` takes it."""
    try:
        data = read_file(root, rel)
    except LoadFailure as failure:
        return FileDecl(rel, (), (failure.problem,))
    return load_bytes(root, rel, data, env, secrets, validated, build_allow=build_allow, hash_key=hash_key,
                      target=target)


def _schema_check(document: dict, report: FileReport, failed: list[Path_],
                  validated: ValidationCache | None) -> list[Path_]:
    """`schema.check` outside the paths whose interpolation `failed`; through the validation
    cache when there is one and the document may be named in it (see `validated`)."""
    if validated is None or failed or report.secret_values:
        return schema.check(document, report, skip=failed)
    return validated.check(document, report)


def load_bytes(root: Path, rel: str, data: bytes, env: Mapping[str, str],
               secrets: frozenset[str] = frozenset(), validated: ValidationCache | None = None,
               confine: Path | None = None, build_allow: tuple[Path, ...] = (),
               hash_key: HashKey | None = None, target: str | None = None) -> FileDecl:
    """`load_file` of the content `data` of file `rel`, read earlier (the agent's last-known-good
    bytes): relative paths in it (env_file, bind sources) resolve against its folder under root.
    With `confine` (a git checkout), an env file that resolves outside it is refused. A build's
    context and Dockerfile must lie inside root, or inside a folder of `build_allow`. `hash_key`
    gives the key of the keyed hashes of secret and config values (the state directory's; called
    only when the file declares one); None: a key of this process (`filesources.process_key`).
    `target` "host" makes the Swarm-only values one host cannot run errors of the file
    (`desired.targets`); None (or "swarm", whose checks need the whole state): no such check."""
    report = FileReport(rel, confine=confine, tree=Path(root).absolute(), build_allow=build_allow, environ=env,
                        hash_key=hash_key, target=target)
    path = root / rel
    try:
        text = decode_utf8(data, rel)
    except LoadFailure as failure:
        report.errors.append(failure.problem)
        return _declare(rel, report)
    document = parse_toml(text, report)
    if document is None:
        return _declare(rel, report)
    if not document:
        report.warning((), "the file declares nothing")
    document, outcome = interpolate(document, env, secrets)
    report.secret_paths, report.secret_values = outcome.secret_paths, outcome.secret_values
    for at, message in outcome.errors:
        report.error(at, message)
    for at, message in outcome.warnings:
        report.warning(at, message)
    failed = [at for at, _ in outcome.errors]
    failed += numerals.numbers(document, report, failed)
    failed += _schema_check(document, report, failed, validated)
    specs = normalize.build(document, report, path.absolute().parent, failed)
    return _declare(rel, report, specs)


def placer(decls: Iterable[FileDecl], secrets: frozenset[str]) -> Callable[[Spec, Path_, str], Problem]:
    """A `Place` for the specs of `decls`: each problem at the line of its key path in its file (or
    of the Compose alias written for it), else at its resource's; `secrets` masked in the message."""
    by_file = {d.file: d for d in decls}

    def place(spec: Spec, at: Path_, message: str) -> Problem:
        decl = by_file.get(spec.source.file)
        lines = decl.lines if decl else {}
        at = written_as(at, decl.renamed) if decl else at
        line = next((lines[at[:n]] for n in range(len(at), 0, -1) if at[:n] in lines), spec.source.line)
        return Problem(spec.source.file, line, dotted(at), scrub(message, secrets))

    return place


def combine(decls: Iterable[FileDecl]) -> tuple[DesiredState, tuple[Problem, ...]]:
    """The desired state of the valid decls together, and the problems across them."""
    decls = [d for d in decls if d.valid]
    secrets = frozenset().union(*(d.secret_values for d in decls))
    place = placer(decls, secrets)
    tables: dict[str, dict[str, Spec]] = {kind: {} for kind in _KINDS}
    problems = []
    for spec in (s for d in decls for s in d.specs):
        first = tables[spec.kind].setdefault(spec.name, spec)
        if first is not spec:
            problems.append(place(spec, (spec.kind, spec.name),
                                  f"{spec.kind} '{spec.name}' is also declared in {first.source}"))
    state = DesiredState(**{_KINDS[kind]: dict(sorted(table.items())) for kind, table in tables.items()},
                         secret_values=secrets)
    problems.extend(references.check(state, place))
    problems.extend(ports.check(state, place))
    state = filesources.resolved(state)
    return state, tuple(sorted(problems, key=lambda p: (p.file, p.line or 0)))


def environment(
    env_file: str | None, environ: Mapping[str, str] | None = None
) -> tuple[dict[str, str], frozenset[str]]:
    """(variables for interpolation, the names that came from the env file and so are secret).
    The process environment wins over the env file. Raises LoadFailure for an unreadable file."""
    file_env = read_env_file(env_file)
    return {**file_env, **(os.environ if environ is None else environ)}, frozenset(file_env)


def load(root: Path, env_file: str | None = None, environ: Mapping[str, str] | None = None,
         validated: ValidationCache | None = None, build_allow: tuple[Path, ...] = (),
         hash_key: HashKey | None = None, target: str | None = None) -> LoadResult:
    """Load the whole directory. The process environment wins over the env file. `target` "host"
    refuses the Swarm-only values one host cannot run, as any invalid value (see `load_bytes`).

    Checks across files run once every file is valid on its own, so that a broken file does not
    also show up as dangling references elsewhere.
    """
    root = Path(root)
    warnings: list[Problem] = []
    try:
        files = discover(root, warnings)
        env, secrets = environment(env_file, environ)
    except LoadFailure as failure:
        return LoadResult(None, (failure.problem,), (), ())
    decls = [load_file(root, rel, env, secrets, validated, build_allow, hash_key, target) for rel in files]
    errors = [p for d in decls for p in d.errors]
    warnings.extend(p for d in decls for p in d.warnings)
    if not files:
        warnings.append(Problem("", None, "", f"no *.toml files in {root}: the desired state is empty"))
    if errors:
        return LoadResult(None, tuple(errors), tuple(warnings), tuple(files))
    state, problems = combine(decls)
    warnings.extend(bridges.crowded(state))
    return LoadResult(None if problems else state, problems, tuple(warnings), tuple(files))
