"""Last-known-good, per file: what the agent keeps in force while a file is broken.

Each refresh reads every file. A file that loads keeps its new content; a broken file keeps its
last valid content in force (its resources are reported as stalled) and a file never seen valid
contributes nothing. The files in force must also validate together (references, duplicate
names, cycles): a file named by such a problem counts as broken too (its last valid content, if
any, is tried in its place); when the files still do not validate together, the last valid
revision of the whole directory stays in force, and the resources of every file whose content is
not in force are stalled.
A directory that cannot be read at all keeps everything as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.desired.loader import FileDecl, Problem, combine, discover, environment, load_file
from reconciler.desired.problems import LoadFailure
from reconciler.model import DesiredState


@dataclass(frozen=True)
class Refresh:
    state: DesiredState | None  # what is in force after this refresh (None: nothing ever valid)
    errors: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()
    stalled: frozenset[str] = frozenset()  # "kind/name" of resources frozen at their last valid spec
    whole: bool = True  # False when the last valid revision of the whole directory was kept


@dataclass
class LastKnownGood:
    root: Path
    env_file: str | None = None
    environ: Mapping[str, str] | None = None
    files: dict[str, FileDecl] = field(default_factory=dict)
    state: DesiredState | None = None

    def refresh(self) -> Refresh:
        try:
            env, secrets = environment(self.env_file, self.environ)
            names = discover(self.root)
        except LoadFailure as failure:
            return Refresh(self.state, (failure.problem,), stalled=self._everything(), whole=False)
        fresh = {rel: load_file(self.root, rel, env, secrets) for rel in names}
        in_force: dict[str, FileDecl] = {}
        errors: list[Problem] = []
        warnings: list[Problem] = []
        stalled: set[str] = set()
        for rel, decl in fresh.items():
            warnings.extend(decl.warnings)
            if decl.valid:
                in_force[rel] = decl
                continue
            errors.extend(decl.errors)
            if rel in self.files:
                in_force[rel] = self.files[rel]
                stalled.update(self._resources_of({rel}))
        state, problems = combine(in_force.values())
        if problems:
            blamed = {p.file for p in problems}
            demoted = {rel: self.files[rel] if rel in blamed else decl
                       for rel, decl in in_force.items() if rel not in blamed or rel in self.files}
            state, again = combine(demoted.values())
            if again:
                frozen = {rel for rel, decl in self.files.items() if in_force.get(rel) != decl} | blamed
                stalled.update(self._resources_of(frozen))
                return Refresh(self.state, (*errors, *problems), tuple(warnings), frozenset(stalled), whole=False)
            in_force = demoted
            errors.extend(problems)
            stalled.update(self._resources_of(blamed))
        self.files, self.state = in_force, state
        return Refresh(state, tuple(errors), tuple(warnings), frozenset(stalled))

    def _resources_of(self, files: set[str]) -> set[str]:
        """The "kind/name" of each resource the last valid content of these files declares."""
        return {spec.key for rel in files if rel in self.files for spec in self.files[rel].specs}

    def _everything(self) -> frozenset[str]:
        if self.state is None:
            return frozenset()
        return frozenset(spec.key for spec in self.state.specs())
