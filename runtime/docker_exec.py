"""A command run in a container with exec, waited for up to a time limit (`Runtime.exec_hook` of
the Docker adapter; Podman 4.3's compatible API takes the same calls).

The Engine API runs an exec in two calls (POST /containers/{id}/exec, then POST /exec/{id}/start,
which streams the output until the command ends) and reports its end in GET /exec/{id}/json
(`Running`, `ExitCode`). The output is read in a thread of its own; once it ends, the exec is
inspected for its exit code (Podman 4.3 says `Running: false, ExitCode: 0` of an exec whose start
has not begun yet, so the inspection alone cannot tell the end). The engine cannot stop an exec:
a command past its time limit is left running and reported with no exit code.
"""

from __future__ import annotations

import threading
import time

import docker

from reconciler.fields import Hook
from runtime.base import ExecResult
from runtime.docker_errors import engine_errors

POLL = 0.1  # seconds between two looks at a running exec
KEPT = 4096  # characters of output kept (the end of it)


def run_exec(api: docker.APIClient, id: str, hook: Hook, timeout: float) -> ExecResult:
    """Run `hook` in the container `id` through `api` and wait for it at most `timeout` seconds
    (see `Runtime.exec_hook`). The engine answers 409 for a container that is not running
    (Conflict), 404 for one that is gone (NotFound)."""
    started = time.monotonic()
    with engine_errors():
        exec_id = api.exec_create(
            id, list(hook.command), stdout=True, stderr=True, privileged=hook.privileged, user=hook.user or "",
            environment=[f"{name}={value}" for name, value in hook.env.items()] or None, workdir=hook.working_dir,
        )["Id"]
        chunks: list[bytes] = []
        reader = threading.Thread(target=_read, args=(api, exec_id, chunks), name=f"exec-{id[:12]}", daemon=True)
        reader.start()
        while True:
            reader.join(POLL)
            seconds = time.monotonic() - started
            if not reader.is_alive():
                state = api.exec_inspect(exec_id)
                if not state.get("Running"):
                    return ExecResult(state.get("ExitCode"), _text(chunks), seconds)
            if seconds >= timeout:
                return ExecResult(None, _text(chunks), seconds)


def _read(api: docker.APIClient, exec_id: str, chunks: list[bytes]) -> None:
    """Append the exec's output to `chunks` as it comes, until it ends or the connection fails (the
    exec's end is read from its inspection, not from here)."""
    try:
        for chunk in api.exec_start(exec_id, stream=True):
            chunks.append(chunk)
    except (docker.errors.DockerException, OSError, ValueError):
        return


def _text(chunks: list[bytes]) -> str:
    return b"".join(chunks)[-KEPT:].decode("utf-8", errors="replace")
