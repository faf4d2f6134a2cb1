"""Where an agent's control socket is: one per namespace and engine, as the lock and the state
directory are named (DESIGN section 10)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from reconciler.agent.lock import instance_name


def default_socket(namespace: str, engine: str | None, environ: Mapping[str, str] | None = None,
                   euid: int | None = None) -> Path:
    """As root `/run/reconciler/NS@ENGINE-ID.sock`; otherwise
    `$XDG_RUNTIME_DIR/reconciler/NS@ENGINE-ID.sock`, else `/tmp/reconciler-UID/NS@ENGINE-ID.sock`
    (ENGINE-ID: see `lock.engine_id`)."""
    environ = os.environ if environ is None else environ
    euid = os.geteuid() if euid is None else euid
    if euid == 0:
        base = Path("/run/reconciler")
    elif environ.get("XDG_RUNTIME_DIR"):
        base = Path(environ["XDG_RUNTIME_DIR"]) / "reconciler"
    else:
        base = Path(f"/tmp/reconciler-{euid}")
    return base / f"{instance_name(namespace, engine)}.sock"
