"""Bind mounts out of a git checkout, pinned to their content.

A relative bind source in a desired-state file read from a git checkout resolves, like every
relative path, inside that revision's checkout (`<home>/checkouts/<sha>/...`). Mounting that path
would tie each container to one revision: every commit would change the spec hash, and pruning
an old checkout would pull the files from under a running container. So the source is pinned to
the content the revision holds there: the git object (a tree for a folder, a blob for a file) is
copied once to `<home>/content/<object-id>` and mounted from there. The spec hash then changes
exactly when the mounted content changes: a commit that does not touch a mounted folder replaces
nothing, one that does replaces what mounts it, and a copy stays while any container binds it.

What cannot be pinned is a problem of the file, at the mount's line: a path the revision does
not hold (git mode mounts only what the repository holds; data belongs in a volume), and a path
that leads outside the repository through a symlink.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from reconciler.desired.problems import Problem
from reconciler.fields import Mount
from reconciler.model import ContainerSpec, DesiredState
from reconciler.source.git import GitError
from reconciler.source.repository import GitSource


@dataclass(frozen=True)
class Pinned:
    state: DesiredState
    problems: tuple[Problem, ...] = ()
    held: frozenset[str] = frozenset()  # "container/NAME" of the containers a problem holds back
    paths: frozenset[str] = frozenset()  # the content copies the state mounts


def pin(state: DesiredState, source: GitSource) -> Pinned:
    """`state` with every bind source inside a checkout of `source` replaced by its content copy."""
    checkouts = os.path.realpath(source.home / "checkouts")
    problems: list[Problem] = []
    held: set[str] = set()
    paths: set[str] = set()
    containers = {}
    for name, spec in state.containers.items():
        mounts = []
        for index, mount in enumerate(spec.mounts):
            inside = mount.type == "bind" and mount.source and Path(mount.source).is_relative_to(checkouts)
            if not inside:
                mounts.append(mount)
                continue
            try:
                copy = _content(source, Path(mount.source).relative_to(checkouts))
            except ValueError as why:
                problems.append(Problem(spec.source.file, mount.line or spec.source.line,
                                        f"container.{name}.mounts[{index}]", str(why)))
                held.add(spec.key)
                mounts.append(mount)
                continue
            paths.add(copy)
            mounts.append(dataclasses.replace(mount, source=copy, create_host_path=False))
        containers[name] = spec if mounts == list(spec.mounts) else _with_mounts(spec, mounts)
    return Pinned(dataclasses.replace(state, containers=containers), tuple(problems), frozenset(held),
                  frozenset(paths))


def _with_mounts(spec: ContainerSpec, mounts: list[Mount]) -> ContainerSpec:
    return dataclasses.replace(spec, mounts=tuple(mounts))


def _content(source: GitSource, under_checkouts: Path) -> str:
    """The content copy for `<sha>/<path>` (a path under the checkouts folder). Raises ValueError
    saying why it cannot be pinned."""
    sha, *parts = under_checkouts.parts
    checkout = Path(os.path.realpath(source.home / "checkouts" / sha))
    rel = Path(*parts) if parts else Path(".")
    real = Path(os.path.realpath(checkout / rel))
    if not real.is_relative_to(checkout):
        raise ValueError(f"{rel} leads outside the repository through a symlink; refused")
    inside = real.relative_to(checkout).as_posix()
    found = source.object_at(inside, sha)
    if found is None:
        raise ValueError(f"{rel} is not in the repository at revision {sha[:12]}: a bind mount from a git source "
                         "mounts only what the repository holds (keep data in a volume)")
    try:
        return str(source.materialise(found[1]))
    except GitError as error:
        raise ValueError(f"{rel}: {error}") from None
