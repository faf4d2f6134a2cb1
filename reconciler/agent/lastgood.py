"""Last-known-good, per file: what the agent keeps in force while a file is broken.

Each refresh reads every file. A file that loads, and that the agent's target can run (`target`:
a file with a value only Swarm runs is broken on the host target, one with a value Swarm cannot
run on the Swarm target), keeps its new content; a broken file keeps its last valid content in
force (its resources are reported as stalled) and a file never seen valid contributes nothing.
The files in force must also validate together (references, duplicate names, cycles): a file
named by such a problem counts as broken too (its last valid content, if any, is tried in its
place); when the files still do not validate together, the last valid revision of the whole
directory stays in force, and the resources of every file whose content is not in force are
stalled.
A directory that cannot be read at all keeps everything as it was.

With a state directory, the raw bytes of the files in force are saved there after each refresh
that changed them, and the first refresh starts from them: a restarted agent keeps the last
valid content of a file that is broken meanwhile. Saved bytes are interpolated anew on loading,
so no value from the environment or the env file is ever written.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from reconciler.agent.statedir import StateDir
from reconciler.desired import bridges, targets
from reconciler.desired.filesources import process_key
from reconciler.desired.loader import FileDecl, HashKey, Problem, combine, discover, environment, load_bytes, read_file
from reconciler.desired.problems import LoadFailure
from reconciler.model import DesiredState
from reconciler.swarm import checks as swarm_checks

log = structlog.get_logger("reconciler.agent")


@dataclass(frozen=True)
class Refresh:
    state: DesiredState | None  # what is in force after this refresh (None: nothing ever valid)
    errors: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()
    stalled: frozenset[str] = frozenset()  # "kind/name" of resources frozen at their last valid spec
    whole: bool = True  # False when the last valid revision of the whole directory was kept
    # relative paths of the files that exist but do not validate (syntax, schema, a reference),
    # seen valid before or not; every known file when the directory cannot be read
    invalid: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Parsed:
    """One file's bytes, what they were parsed with, and what came of it."""

    data: bytes
    env: Mapping[str, str]
    secrets: frozenset[str]
    inputs: tuple[tuple[str, bytes | None], ...]  # each file it read, with its content then
    decl: FileDecl


def _content(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


@dataclass(frozen=True)
class Version:
    """One content of one file: its raw bytes and what they declare."""

    data: bytes
    decl: FileDecl


@dataclass
class LastKnownGood:
    root: Path
    env_file: str | None = None
    environ: Mapping[str, str] | None = None
    store: StateDir | None = None
    confine: Path | None = None  # a git checkout: no file read may resolve outside it (see move_to)
    build_allow: tuple[Path, ...] = ()  # folders outside root a build may read (`--build-allow`)
    # the key of secrets' keyed hashes when it is not the store's: the Swarm cluster's (swarm.cluster_key)
    key: HashKey | None = None
    # "host" or "swarm": a file is valid only when that target can run it (`_target_checked`); None: any
    target: str | None = None
    files: dict[str, Version] = field(default_factory=dict)  # the content in force, by relative path
    state: DesiredState | None = None
    saved: dict[str, bytes] | None = None  # what the store holds; None until read
    parsed: dict[str, Parsed] = field(default_factory=dict)  # the last parse of each file, by relative path
    # the last combination: the declarations it was made of (by file) and what it gave
    combined: tuple[dict[str, FileDecl], tuple[DesiredState, tuple[Problem, ...]]] | None = None

    def move_to(self, root: Path, confine: Path) -> None:
        """Read from `root` from now on (a git source's checkout of another revision, `confine`):
        every file is parsed again there, since the relative paths in it resolve against its folder,
        and a file or env file that resolves outside `confine` is refused."""
        if root != self.root:
            self.root, self.confine, self.parsed = root, confine, {}

    def refresh(self) -> Refresh:
        try:
            env, secrets = environment(self.env_file, self.environ)
        except LoadFailure as failure:
            return self._unreadable(failure.problem)
        if self.saved is None:
            self._restore(env, secrets)
        warnings: list[Problem] = []
        try:
            names = discover(self.root, warnings, self.confine)
        except LoadFailure as failure:
            return self._unreadable(failure.problem)
        fresh = {rel: self._load(rel, env, secrets) for rel in names}
        invalid = {rel for rel, version in fresh.items() if not version.decl.valid}
        in_force: dict[str, Version] = {}
        errors: list[Problem] = []
        stalled: set[str] = set()
        for rel, version in fresh.items():
            warnings.extend(version.decl.warnings)
            if version.decl.valid:
                in_force[rel] = version
                continue
            errors.extend(version.decl.errors)
            if rel in self.files:
                in_force[rel] = self.files[rel]
                stalled.update(self._resources_of({rel}))
        state, problems = self._combine_again(in_force)
        if problems:
            blamed = {p.file for p in problems}
            invalid |= blamed
            demoted = {rel: self.files[rel] if rel in blamed else version
                       for rel, version in in_force.items() if rel not in blamed or rel in self.files}
            state, again = _combine(demoted)
            if again:
                frozen = {rel for rel, version in self.files.items() if in_force.get(rel) != version} | blamed
                stalled.update(self._resources_of(frozen))
                return Refresh(self.state, (*errors, *problems), tuple(warnings), frozenset(stalled), whole=False,
                               invalid=frozenset(invalid))
            in_force = demoted
            errors.extend(problems)
            stalled.update(self._resources_of(blamed))
        self.files, self.state = in_force, state
        self._save()
        warnings.extend(bridges.crowded(state))
        return Refresh(state, tuple(errors), tuple(warnings), frozenset(stalled), invalid=frozenset(invalid))

    def _combine_again(self, in_force: Mapping[str, Version]) -> tuple[DesiredState, tuple[Problem, ...]]:
        """`_combine(in_force)`, kept while every file in force holds the very declaration it
        held last time (a file not parsed again keeps its declaration): a pass over files that
        did not change checks no reference again."""
        decls = {rel: version.decl for rel, version in in_force.items()}
        if self.combined is not None and self.combined[0].keys() == decls.keys() and all(
                self.combined[0][rel] is decl for rel, decl in decls.items()):
            return self.combined[1]
        result = _combine(in_force)
        self.combined = (decls, result)
        return result

    def _load(self, rel: str, env: Mapping[str, str], secrets: frozenset[str]) -> Version:
        """The file as it is now; parsed and validated again only when its bytes, the environment
        or a file it reads (an env file) changed since the last time (see `Parsed`)."""
        try:
            data = read_file(self.root, rel)
        except LoadFailure as failure:
            return Version(b"", FileDecl(rel, (), (failure.problem,)))
        if self.confine is not None and not Path(os.path.realpath(self.root / rel)).is_relative_to(self.confine):
            refused = Problem(rel, None, "", "a symlink to a file outside the repository; refused")
            return Version(b"", FileDecl(rel, (), (refused,)))
        known = self.parsed.get(rel)
        if known is not None and known.data == data and known.env == env and known.secrets == secrets and (
                all(_content(path) == content for path, content in known.inputs)):
            return Version(data, known.decl)
        decl = self._target_checked(load_bytes(self.root, rel, data, env, secrets, confine=self.confine,
                                              build_allow=self.build_allow, hash_key=self._hash_key,
                                              target=self.target))
        self.parsed[rel] = Parsed(data, dict(env), secrets, tuple((path, _content(path)) for path in decl.inputs),
                                  decl)
        return Version(data, decl)

    def _target_checked(self, decl: FileDecl) -> FileDecl:
        """`decl`, or, on the Swarm target, when it is valid on its own but Swarm cannot run it
        (`swarm.checks.file_errors`), the same file invalid with those errors. (The host target's
        errors are the loader's: `load_bytes(target="host")`.)"""
        errors = swarm_checks.file_errors(decl) if self.target == targets.SWARM and decl.valid else []
        return dataclasses.replace(decl, specs=(), errors=tuple(errors)) if errors else decl

    def _hash_key(self) -> bytes:
        """The key of secrets' keyed hashes: `key`'s when set, else the store's (made on first use),
        else this process's."""
        if self.key is not None:
            return self.key()
        return self.store.hash_key() if self.store is not None else process_key()

    def _unreadable(self, problem: Problem) -> Refresh:
        """The directory or the env file cannot be read: everything stays as it was, frozen."""
        return Refresh(self.state, (problem,), stalled=self._everything(), whole=False,
                       invalid=frozenset(self.files))

    def _restore(self, env: Mapping[str, str], secrets: frozenset[str]) -> None:
        """Start from the content the store holds: each file that still validates on its own."""
        self.saved = self.store.lastgood() if self.store else {}
        for rel, data in self.saved.items():
            decl = self._target_checked(load_bytes(self.root, rel, data, env, secrets, build_allow=self.build_allow,
                                                  hash_key=self._hash_key, target=self.target))
            if decl.valid:
                self.files[rel] = Version(data, decl)
            else:
                log.warning("lastgood.dropped", file=rel, reason="its saved content no longer validates",
                            problems=[str(p) for p in decl.errors])
        state, problems = _combine(self.files)
        self.state = None if problems else state

    def _save(self) -> None:
        """Make the store hold the content in force; a failed write is logged and tried again next time."""
        if self.store is None or self.saved is None:
            return
        try:
            for rel in set(self.saved) - set(self.files):
                self.store.forget_lastgood(rel)
                del self.saved[rel]
            for rel, version in self.files.items():
                if self.saved.get(rel) != version.data:
                    self.store.save_lastgood(rel, version.data)
                    self.saved[rel] = version.data
        except OSError as error:
            log.warning("lastgood.save_failed", directory=str(self.store.path), error=str(error))

    def _resources_of(self, files: set[str]) -> set[str]:
        """The "kind/name" of each resource the last valid content of these files declares."""
        return {spec.key for rel in files if rel in self.files for spec in self.files[rel].decl.specs}

    def _everything(self) -> frozenset[str]:
        if self.state is None:
            return frozenset()
        return frozenset(spec.key for spec in self.state.specs())


def _combine(files: Mapping[str, Version]) -> tuple[DesiredState, tuple[Problem, ...]]:
    return combine(version.decl for version in files.values())
