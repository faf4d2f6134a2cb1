"""Where an agent's control socket is: one per namespace and engine, as the lock and the state
directory are named (DESIGN section 10)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from reconciler.agent.lock import instance_name


def runtime_dir(environ: Mapping[str, str] | None = None, euid: int | None = None) -> Path:
    """Where an agent keeps what lives until reboot: as root `/run/reconciler`; otherwise
    `$XDG_RUNTIME_DIR/reconciler`, else `/tmp/reconciler-UID`."""
    environ = os.environ if environ is None else environ
    euid = os.geteuid() if euid is None else euid
    if euid == 0:
        return Path("/run/reconciler")
    if environ.get("XDG_RUNTIME_DIR"):
        return Path(environ["XDG_RUNTIME_DIR"]) / "reconciler"
    return Path(f"/tmp/reconciler-{euid}")


def default_socket(namespace: str, engine: str | None, environ: Mapping[str, str] | None = None,
                   euid: int | None = None) -> Path:
    """`runtime_dir()/NS@ENGINE-ID.sock` (ENGINE-ID: see `lock.engine_id`)."""
    return runtime_dir(environ, euid) / f"{instance_name(namespace, engine)}.sock"
