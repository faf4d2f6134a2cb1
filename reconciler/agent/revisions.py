"""Which revision of a git source is applied, attempted, and how each file fared. Pure.

Flux's words: a revision is *applied* once a pass at that revision converged every resource and
every file validated (its lastAppliedRevision); until then it is *attempted* (lastAttemptedRevision),
and the status says, per file, what held it back:

    applied   every resource the file declares converged
    invalid   the file does not validate at this revision; its last valid content stays in force
    failed    a resource of the file failed (or was skipped after a failure)
    pending   a resource of the file is held back or waits (backoff, quarantine, a dependency)

A pass that changed nothing (suspended, engine unreachable, nothing valid) attempts nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Revisions:
    in_force: str | None = None  # the revision the loader read last (a full sha)
    attempted: str | None = None
    applied: str | None = None
    files: Mapping[str, str] = field(default_factory=dict)  # relative path -> applied | invalid | failed | pending

    def record(self) -> dict[str, object]:
        """What the state directory keeps across restarts (the revision in force is the source's)."""
        return {"attempted": self.attempted, "applied": self.applied, "files": dict(sorted(self.files.items()))}

    @classmethod
    def restored(cls, record: Mapping[str, object]) -> Revisions:
        """From `record()`'s form; what is missing or malformed is left out."""
        files = record.get("files")

        def sha(name: str) -> str | None:
            value = record.get(name)
            return value if isinstance(value, str) else None

        return cls(None, sha("attempted"), sha("applied"),
                   {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {})

    def as_status(self) -> dict[str, object]:
        return {"revision": self.in_force, "attempted": self.attempted, "applied": self.applied,
                "files": dict(sorted(self.files.items()))}


RANK = {"applied": 0, "pending": 1, "failed": 2, "invalid": 3}  # a file takes the worst of its resources


def file_states(files: Iterable[str], invalid: Collection[str], unsettled: Mapping[str, str]) -> dict[str, str]:
    """Each file's state: `invalid` for those that do not validate, else the worst state among
    its `unsettled` resources (file -> "failed" or "pending", already the worst), else applied."""
    states = {}
    for rel in files:
        states[rel] = "invalid" if rel in invalid else unsettled.get(rel, "applied")
    return states


def worst(states: Iterable[str]) -> str:
    return max(states, key=RANK.__getitem__, default="applied")


def after_pass(previous: Revisions, revision: str, attempted: bool, converged: bool,
               files: Mapping[str, str]) -> Revisions:
    """The revisions after a pass that read `revision`: `attempted` when the pass carried out (or
    tried) its plan, `converged` when it left nothing to do and every file validated."""
    if not attempted:
        return Revisions(revision, previous.attempted, previous.applied, previous.files)
    applied = revision if converged and all(state == "applied" for state in files.values()) else previous.applied
    return Revisions(revision, revision, applied, dict(files))
