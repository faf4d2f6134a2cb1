"""Which files make up a desired state, and reading one of them within limits.

`discover` lists the `*.toml` files under the directory, skipping hidden files and folders. A
symlinked folder is followed, as `find -L` reads it, unless it leads to a folder that is read
anyway (inside the directory, or inside a folder already followed), whose files are read at their
own place, or to one that holds such a folder (a loop), or, in a git checkout, outside the
checkout. A FIFO, socket or device called `x.toml` is skipped, since reading it would block the
load. `read_file` returns a file's bytes, at most `MAX_BYTES`.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePath

from reconciler.desired.problems import LoadFailure, Problem

MAX_BYTES = 1024 * 1024  # 1 MiB per file
_SPECIAL = {stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a character device",
            stat.S_IFBLK: "a block device"}


def is_hidden(rel_path: str) -> bool:
    """True for a path (relative to the directory) at or under a hidden file or folder (a name
    starting with "."), and for the directory itself: the one rule of what is never read."""
    parts = PurePath(rel_path).parts
    return not parts or any(part.startswith(".") for part in parts)


def is_desired_file(rel_path: str) -> bool:
    """True for a path (relative to the directory) that is read: a `*.toml` file outside hidden
    files and folders. Editor and tool artefacts (`.x.toml.swp`, `4913`, `x.toml~`,
    `x.toml.bak`) end otherwise or are hidden, so they are never read."""
    return not is_hidden(rel_path) and rel_path.endswith(".toml")


def _special(path: Path) -> str | None:
    """What the file at `path` is when it is a FIFO, socket or device; None for anything else
    (a broken link too: reading it reports why)."""
    try:
        return _SPECIAL.get(stat.S_IFMT(os.stat(path).st_mode))
    except OSError:
        return None


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _not_followed(target: str, whole: list[str]) -> str | None:
    """Why a folder link to `target` is not followed, given the folders read in full (the
    directory first), or None when it is to be followed."""
    root = whole[0]
    for folder in whole:
        if _within(target, folder):
            inside = os.path.relpath(target, root)
            place = target if folder != root else "the directory itself" if inside == "." else inside
            return f"it leads to {place}, which is read anyway"
        if _within(folder, target):
            what = "the directory" if folder == root else f"{folder}, a folder read"
            return f"it leads to {target}, which holds {what}: its files would be read twice"
    return None


def discover(root: Path, warnings: list[Problem] | None = None, confine: Path | None = None) -> list[str]:
    """The *.toml files under root (relative, with /), sorted. Each symlinked folder not followed
    and each FIFO, socket or device skipped (see the module) adds a warning to `warnings`, when
    a list is given. With `confine` (a git checkout holding root), a symlinked folder leading
    outside it is not followed either; its warning names the link, never where it leads."""
    if not root.is_dir():
        reason = "is not a directory" if root.exists() else "does not exist"
        raise LoadFailure(Problem("", None, "", f"desired-state directory {root} {reason}"))

    def fail(error: OSError) -> None:
        raise LoadFailure(Problem("", None, "", f"cannot read {error.filename}: {error.strerror}"))

    def warn(path: str, message: str) -> None:
        if warnings is not None:
            warnings.append(Problem(path, None, "", message))

    whole = [os.path.realpath(root)]  # folders read in full: the directory, then each link followed
    fence = os.path.realpath(confine) if confine is not None else None
    found = []
    for folder, folders, files in os.walk(root, onerror=fail, followlinks=True):
        base = Path(folder).relative_to(root)
        followed = []
        for name in sorted(name for name in folders if not is_hidden(name)):
            link = Path(folder) / name
            target = os.path.realpath(link) if link.is_symlink() else None
            if target and fence is not None and not _within(target, fence):
                warn((base / name).as_posix(), "a symlinked folder leading outside the repository; not followed")
                continue
            reason = _not_followed(target, whole) if target else None
            if reason is None:
                followed.append(name)
                whole.extend([target] if target else [])
            else:
                warn((base / name).as_posix(), f"symlinked folder not followed: {reason}")
        folders[:] = followed
        for name in files:
            path = (base / name).as_posix()
            kind = _special(Path(folder) / name) if is_desired_file(path) else None
            if kind is not None:
                warn(path, f"skipped: {kind}, not a regular file")
            elif is_desired_file(path):
                found.append(path)
    return sorted(found)


def read_file(root: Path, rel: str) -> bytes:
    """The raw bytes of one file (relative to root). Raises LoadFailure when it cannot be read,
    is over MAX_BYTES, or is a FIFO, socket or device (opened without blocking, then checked, so a
    FIFO that appeared after `discover` cannot hang the load either)."""
    def fail(message: str) -> LoadFailure:
        return LoadFailure(Problem(rel, None, "", message))

    try:
        with os.fdopen(os.open(root / rel, os.O_RDONLY | os.O_NONBLOCK), "rb") as handle:
            kind = _SPECIAL.get(stat.S_IFMT(os.fstat(handle.fileno()).st_mode))
            if kind is not None:
                raise fail(f"cannot read: {kind}, not a regular file")
            data = handle.read(MAX_BYTES + 1)
    except OSError as error:
        raise fail(f"cannot read: {error.strerror or error}") from None
    if len(data) > MAX_BYTES:
        raise fail("file is larger than 1 MiB, the limit: split it")
    return data
