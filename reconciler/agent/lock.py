"""One agent per engine and namespace on a host: a second one refuses to start instead of fighting.

The lock is an exclusive `flock` on a file named for the namespace and the engine address, held
for the agent's lifetime and released by the kernel however the agent ends (even SIGKILL).
Agents on different hosts sharing one remote engine are not covered: give them different
namespaces.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path

DEFAULT_ENGINE = "unix:///var/run/docker.sock"


class Locked(Exception):
    """Another agent holds the lock."""


def engine_id(engine: str | None) -> str:
    """The first 12 hex digits of sha256 of the engine URL (DEFAULT_ENGINE when None)."""
    return hashlib.sha256((engine or DEFAULT_ENGINE).encode()).hexdigest()[:12]


def instance_name(namespace: str, engine: str | None) -> str:
    """`NAMESPACE@ENGINE-ID`: how the lock and the state directory name one agent."""
    return f"{namespace}@{engine_id(engine)}"


def lock_path(namespace: str, engine: str | None, directory: Path | None = None) -> Path:
    where = directory or (Path("/run/reconciler") if os.geteuid() == 0 else Path("/tmp/reconciler-locks"))
    return where / f"{instance_name(namespace, engine)}.lock"


def acquire(path: Path) -> int:
    """Take the lock; returns the open descriptor that holds it. Raises Locked with the holder's pid."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        message = (f"another reconciler (pid {holder}: an agent, or an apply) already reconciles this namespace "
                   f"on this engine ({path})")
        raise Locked(message) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd
