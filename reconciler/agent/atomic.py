"""Writing files so that a reader, or a crash, never finds half of one.

`write_atomically(path, data, mode)` writes a temporary file in the same folder, fsyncs it,
renames it over `path`, then fsyncs the folder so that the rename itself survives a power cut.
`remove_durably(path)` unlinks a file and fsyncs its folder. Folders are created as needed.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def fsync_directory(folder: str | Path) -> None:
    """Make the entries of `folder` (renames, removals) durable."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: str | Path, data: bytes, mode: int = 0o644, durable: bool = True) -> None:
    """Replace `path` by a file holding `data`, with permissions `mode`, in one step. Without
    `durable`, nothing is fsynced: readers still never see half a file, but a power cut may leave
    the previous one (for a snapshot that is rewritten anyway, as the status file is)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise
    if durable:
        fsync_directory(folder)


def remove_durably(path: str | Path) -> None:
    """Remove `path` (gone already is fine) and make the removal durable."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return
    fsync_directory(os.path.dirname(os.path.abspath(path)))
