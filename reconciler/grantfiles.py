"""The files that carry secrets and configs into containers on one host (DESIGN section 11).

Each grant of a container (`ContainerSpec.secrets`, `.configs`) is a file in the namespace's
files folder, named by content: the keyed hash of the value plus uid, gid and mode. A changed
value is a new file and a new mount source, so the old container keeps its file until it is gone.
The folder is `/run/reconciler/NS@ENGINE-ID/secrets/` as root, else under `$XDG_RUNTIME_DIR` (the
control socket's rule, `control.paths.runtime_dir`); it must be on a tmpfs (RAM, gone at reboot)
unless the user names one with `--secrets-dir`. As root, where it is not (a host whose `/run` is
on disk), the first write mounts a tmpfs of its own there (`mount -t tmpfs`, mode 0700).

`mounted`, `write_step` and `blocked` are pure (the planner's); `write` and `prune` touch the disk
(the executor's and the pass's).
"""

from __future__ import annotations

import dataclasses
import errno
import os
import subprocess
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import structlog

from reconciler.agent.lock import instance_name
from reconciler.changes import Change, ChangeKind
from reconciler.control.paths import runtime_dir
from reconciler.fields import FileGrant, Mount
from reconciler.model import ContainerSpec
from reconciler.tasks import Action, Step
from runtime.base import EngineError

log = structlog.get_logger("reconciler.grantfiles")

_TMPFS = frozenset({"tmpfs", "ramfs"})
# The tmpfs mounted on the default folder where it is on disk: RAM only as used, at most this much.
TMPFS_OPTIONS = "mode=0700,size=64m,nosuid,nodev,noexec"
_mounting = threading.Lock()
_MAKES = frozenset({ChangeKind.CREATE, ChangeKind.RECREATE, ChangeKind.START})  # changes that mount the files


class FilesError(EngineError):
    """A secret or config file could not be written (the step fails; the container is not created)."""


def default_folder(namespace: str, engine: str | None, environ: Mapping[str, str] | None = None,
                   euid: int | None = None) -> Path:
    """`RUNTIME-DIR/reconciler/NS@ENGINE-ID/secrets` (RUNTIME-DIR: see `control.paths.runtime_dir`)."""
    return runtime_dir(environ, euid) / instance_name(namespace, engine) / "secrets"


def filesystem_of(path: Path, mountinfo: str = "/proc/self/mountinfo") -> str:
    """The type of the filesystem `path` (or its nearest existing parent) is on, from mountinfo."""
    path = Path(os.path.abspath(path))
    best, kind = "", "unknown"
    with open(mountinfo) as lines:
        for line in lines:
            fields = line.split()
            point = fields[4].replace("\\040", " ")
            fstype = fields[fields.index("-") + 1]
            if (path == Path(point) or path.is_relative_to(point)) and len(point) >= len(best):
                best, kind = point, fstype
    return kind


def folder_refusal(folder: Path, euid: int | None = None) -> str | None:
    """Why the default folder cannot hold secrets, or None: it is not on a tmpfs and, not being
    root (`euid`, default the process's), the reconciler cannot mount one there."""
    kind = filesystem_of(folder)
    if kind in _TMPFS or (os.geteuid() if euid is None else euid) == 0:
        return None
    return (f"secrets and configs are written to {folder}, which is on {kind}, not a tmpfs (a value would "
            "outlive a reboot on disk); mount a tmpfs there, or name a folder with --secrets-dir")


def ensure_tmpfs(folder: Path) -> None:
    """Mount a tmpfs on `folder` (made beforehand) unless it is on one already. Raises FilesError."""
    with _mounting:
        if filesystem_of(folder) in _TMPFS:
            return
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", TMPFS_OPTIONS, "reconciler-secrets", str(folder)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise FilesError(f"cannot mount a tmpfs on {folder}: {done.stderr.strip() or done.returncode}")
        log.info("secrets.tmpfs_mounted", folder=str(folder))


def file_name(grant: FileGrant) -> str:
    """The file of a grant: its value's keyed hash (40 hex), uid, gid and mode (octal)."""
    return f"{grant.digest.rpartition(':')[2][:40]}-{grant.uid}-{grant.gid}-{grant.mode:04o}"


def grants(spec: ContainerSpec) -> tuple[FileGrant, ...]:
    return (*spec.secrets, *spec.configs)


def mounted(spec: ContainerSpec, folder: str) -> ContainerSpec:
    """What the engine is asked to create: `spec` with each grant as a read-only bind Mount of its
    file (never `Binds`: a missing source fails the start rather than making a folder)."""
    binds = tuple(Mount("bind", g.target, str(Path(folder) / file_name(g)), read_only=True) for g in grants(spec))
    return dataclasses.replace(spec, mounts=(*spec.mounts, *binds)) if binds else spec


def with_files(change: Change, steps: tuple[Action, ...], rollback: tuple[tuple[Action, ...], ...],
               folder: str | None) -> tuple[tuple[Action, ...], tuple[tuple[Action, ...], ...]]:
    """A container task's steps with its files written before its first create or start, and its
    creates mounting them. Unchanged for a container with no grant, or with no folder (blocked)."""
    spec = change.spec
    if not isinstance(spec, ContainerSpec) or not grants(spec) or folder is None:
        return steps, rollback
    first = next((i for i, a in enumerate(steps) if a.step in (Step.CREATE, Step.START)), None)
    if first is None:
        return steps, rollback
    steps = tuple(dataclasses.replace(a, spec=mounted(a.spec, folder)) if a.step is Step.CREATE
                  and isinstance(a.spec, ContainerSpec) else a for a in steps)
    write = Action(Step.WRITE_FILES, spec.name, name=folder, spec=spec)
    if rollback:
        rollback = (*rollback[:first], (), *rollback[first:])
    return (*steps[:first], write, *steps[first:]), rollback


def blocked(change: Change, folder: str | None, refusal: str | None,
            owner: tuple[int, int] | None = None) -> str | None:
    """Why a container with grants cannot be made this pass: there is no folder for its files, or
    (`owner`: the uid and gid of a process that is not root, so cannot chown) a grant's file would
    need another owner."""
    spec = change.spec
    if not isinstance(spec, ContainerSpec) or not grants(spec) or change.kind not in _MAKES:
        return None
    if folder is None:
        return refusal or "secrets and configs need a folder for their files (--secrets-dir)"
    other = next((g for g in grants(spec) if owner is not None and (g.uid, g.gid) != owner), None)
    if other is not None:
        return (f"the file of {other.source} is to be owned by {other.uid}:{other.gid}, and only root can give "
                f"it an owner other than {owner[0]}:{owner[1]} (this process): run as root, or declare "
                f"uid = {owner[0]}, gid = {owner[1]}")
    return None


def write(spec: ContainerSpec, folder: str) -> None:
    """Write each grant's file that is not there yet (root-owned folder 0700; the file owned by the
    grant's uid and gid, with its mode), atomically. A default folder (under `runtime_dir`, not
    one given by --secrets-dir) that is on disk gets a tmpfs first, as root (`ensure_tmpfs`).
    Raises FilesError naming the grant, never the value."""
    base = Path(folder)
    try:
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        raise FilesError(f"cannot make {base}: {error.strerror}") from None
    if base.is_relative_to(runtime_dir()) and os.geteuid() == 0:
        ensure_tmpfs(base)
    for grant in grants(spec):
        path = base / file_name(grant)
        if path.exists():
            continue
        if grant.value is None:
            raise FilesError(f"the value of {grant.source} is not known to this pass; the next pass reads it again")
        temporary = base / f".{path.name}.{os.getpid()}"
        try:
            _write_file(temporary, grant)
            os.rename(temporary, path)
        except Exception as error:  # noqa: BLE001 - whatever failed, no partial file is left behind
            temporary.unlink(missing_ok=True)
            why = error.strerror if isinstance(error, OSError) and error.strerror else type(error).__name__
            raise FilesError(f"cannot write the file of {grant.source} in {base}: {why}") from None
        log.info("container.file_written", name=spec.name, source=grant.source, target=grant.target)


def _write_file(path: Path, grant: FileGrant) -> None:
    """Write `grant`'s whole value to the new file `path`, owned by its uid/gid, with its mode.
    `os.write` may write fewer bytes than asked (a full tmpfs): it is called until all are
    written, and one that writes none raises OSError (ENOSPC)."""
    data = memoryview(grant.value.reveal())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        while data:
            written = os.write(fd, data)
            if written <= 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            data = data[written:]
        os.fchown(fd, grant.uid, grant.gid)
        os.fchmod(fd, grant.mode)
    finally:
        os.close(fd)


def prune(folder: str | None, in_use: Iterable[str]) -> None:
    """Remove the files of `folder` no container binds any more (`in_use`: the bind sources the
    engine shows), and leftovers of interrupted writes."""
    if folder is None or not Path(folder).is_dir():
        return
    used = {os.path.abspath(path) for path in in_use}
    for entry in Path(folder).iterdir():
        if str(entry.absolute()) not in used:
            entry.unlink(missing_ok=True)
            log.info("container.file_pruned", file=entry.name)


def folder_options(namespace: str, engine: str | None, given: str | None) -> dict[str, Any]:
    """`PlanOptions` fields for the files folder: `--secrets-dir` as given, else the default
    folder when it is on a tmpfs, else none and why; and the owner every file must have when
    this process is not root (it cannot chown to another)."""
    owner = None if os.geteuid() == 0 else (os.geteuid(), os.getegid())
    if given:
        return {"files_folder": os.path.abspath(given), "files_refused": None, "files_owner": owner}
    folder = default_folder(namespace, engine)
    refusal = folder_refusal(folder)
    return {"files_folder": None if refusal else str(folder), "files_refused": refusal, "files_owner": owner}
