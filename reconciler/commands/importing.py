"""`reconciler import`: desired-state files from what already exists.

`import compose FILE...`: Compose files converted (reconciler/commands/import_compose.py).

`import containers [NAME...]`: the running containers (all of them when no NAME) as one TOML file
each under --out, with the user networks and named volumes they use; their environment in the env
file beside --out (mode 0600). Exit 0 when written (stdout: the files), 1 on error (stderr), among
them what `validate` would refuse in the files (`compose_verify.refused`; nothing is written then).
"""

from __future__ import annotations

import sys
from pathlib import Path

from reconciler.commands.context import open_engine
from reconciler.importing.compose_verify import refused
from reconciler.importing.containers import import_host
from reconciler.importing.emit import ImportFailure, default_env_path, write
from runtime import EngineError


def _header(source: str, env_path: Path | None) -> str:
    lines = [f"Written by `reconciler import containers` from {source}: what differs from the image's and the",
             "engine's defaults. `adopt = true` takes over the running resource of that name (docs/import.md)."]
    if env_path is not None:
        lines.append(f"Env values are in {env_path}: run with --env-file {env_path}")
    return "\n".join(lines)


def containers(args) -> int:
    runtime = open_engine(args)
    if runtime is None:
        return 1
    try:
        found = import_host(runtime, args.names, args.namespace)
    except EngineError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for note in found.notes:
        print(f"note: {note}", file=sys.stderr)
    for item in found.skipped:
        print(f"skipped: {item}", file=sys.stderr)
    if not found.files:
        print("error: no running container to import", file=sys.stderr)
        return 1
    out = Path(args.out)
    env_path = (Path(args.env_out) if args.env_out else default_env_path(out)) if found.env else None
    header = _header(args.names and ", ".join(args.names) or "the running containers", env_path)
    written = write_checked(out, found.files, found.env, header=header, env_path=env_path, force=args.force)
    if written is None:
        return 1
    for path in written:
        print(path)
    return 0


def run(args) -> int:
    if args.source == "compose":
        from reconciler.commands.import_compose import compose

        return compose(args)
    return {"containers": containers}[args.source](args)


def write_checked(out: Path, files, env, *, header: str, env_path: Path | None, force: bool,
                  environ=(), outside: str | None = None, made: str = "imported",
                  target: str = "host") -> list[Path] | None:
    """Write an import's files (emit.write) once they pass `validate --target TARGET` as written;
    None, with the problems on stderr and nothing written, when they would not or when writing is refused."""
    problems = refused(out, files, env, environ, outside, target)
    validate = "validate --target swarm" if target == "swarm" else "validate"
    for problem in problems:
        print(f"error: the {made} files would not pass {validate}: {problem}", file=sys.stderr)
    if problems:
        return None
    try:
        return write(out, files, header=header, env=env, env_path=env_path, force=force)
    except ImportFailure as failure:
        print(f"error: {failure}", file=sys.stderr)
        return None
