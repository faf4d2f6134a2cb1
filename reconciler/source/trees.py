"""Git trees written to disk from git's objects, exactly as committed, and their symlinks checked.

`raw` below is a function running git in the bare repository and returning its standard output
(`GitSource._raw`): this module runs no git of its own.

A tree is written entry by entry in `git ls-tree -r -t -z` order (a folder before what it holds):
folders 0755, files 0644 or 0755 as committed, symlinks as symlinks, a submodule as an empty
folder. No entry is ever written over another or through a symlink: a malformed tree (a name
twice, `..`, `.git`) raises GitError.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reconciler.source.git import GitError

Raw = Callable[..., bytes]
_MAX_HOPS = 40  # symlinks followed while resolving one, as the kernel's limit
_FORBIDDEN = frozenset({"", ".", "..", ".git"})


@dataclass(frozen=True)
class Entry:
    """One line of `git ls-tree`: `mode` ("100644", "100755", "120000", "040000", "160000"),
    `kind` ("blob", "tree", "commit"), `oid`, and `path` relative to the tree listed."""

    mode: str
    kind: str
    oid: str
    path: str


def parse_ls_tree(output: bytes) -> list[Entry]:
    """The entries of `git ls-tree -z` output."""
    entries = []
    for record in output.split(b"\0"):
        if record:
            meta, _, path = record.decode(errors="surrogateescape").partition("\t")
            mode, kind, oid = meta.split()
            entries.append(Entry(mode, kind, oid, path))
    return entries


def read_blobs(raw: Raw, oids: list[str]) -> list[bytes]:
    """The contents of the blobs `oids`, in that order (one `git cat-file --batch`). Raises GitError
    for an object that is missing or not a blob."""
    if not oids:
        return []
    output = raw("cat-file", "--batch", input="".join(f"{oid}\n" for oid in oids).encode())
    blobs, at = [], 0
    for oid in oids:
        end = output.index(b"\n", at)
        header = output[at:end].decode().split()
        if len(header) != 3 or header[1] != "blob":
            raise GitError(f"object {oid} is not a blob in the repository ({' '.join(header[1:])})")
        size = int(header[2])
        blobs.append(output[end + 1:end + 1 + size])
        at = end + 1 + size + 1
    return blobs


def _checked(path: str) -> str:
    if path.startswith("/") or any(part.lower() in _FORBIDDEN for part in path.split("/")):
        raise GitError(f"the repository holds a malformed path {path!r}; refused")
    return path


def write_entries(raw: Raw, entries: list[Entry], target: Path) -> None:
    """Write `entries` (from `git ls-tree -r -t`) into the existing empty folder `target`."""
    blobs = [entry for entry in entries if entry.kind == "blob"]
    contents = dict(zip((entry.oid for entry in blobs), read_blobs(raw, [e.oid for e in blobs]), strict=True))
    for entry in entries:
        path = target / _checked(entry.path)
        if entry.kind in ("tree", "commit"):
            path.mkdir(mode=0o755)
        elif entry.mode == "120000":
            os.symlink(os.fsdecode(contents[entry.oid]), path)
        else:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                         0o755 if entry.mode == "100755" else 0o644)
            with os.fdopen(fd, "wb") as file:
                file.write(contents[entry.oid])


def resolves_outside(links: dict[str, str], link: str) -> bool:
    """Whether the symlink at tree path `link` resolves outside the tree, following the tree's
    other symlinks on the way as the kernel would (a loop counts as leaving)."""
    here = link.split("/")[:-1]
    todo = links[link].split("/")
    hops = 0
    while todo:
        part = todo.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if not here:
                return True
            here.pop()
            continue
        here.append(part)
        target = links.get("/".join(here))
        if target is not None:
            hops += 1
            if hops > _MAX_HOPS or target.startswith("/"):
                return True
            here.pop()
            todo = target.split("/") + todo
    return False


def escaping_links(raw: Raw, entries: list[Entry]) -> list[str]:
    """The tree paths of the symlinks among `entries` (a whole tree, `ls-tree -r -t`) that lead
    outside that tree: absolute ones, and relative ones climbing above its root."""
    symlinks = [entry for entry in entries if entry.mode == "120000"]
    targets = read_blobs(raw, [entry.oid for entry in symlinks])
    links = {entry.path: os.fsdecode(target) for entry, target in zip(symlinks, targets, strict=True)}
    return [path for path, target in links.items() if target.startswith("/") or resolves_outside(links, path)]
