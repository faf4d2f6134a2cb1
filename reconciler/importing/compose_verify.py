"""The safety net of `import compose` and `import containers`: the converted files are loaded as
`reconciler validate` loads them before anything is written, so that a folder an import writes
always passes validate (docs/import.md). A value Compose takes but our format refuses (`restart: sometimes`,
`interval: 5 parsecs`) is an error of the import, nothing written. The files are checked for the
target they are for: `--target swarm` when they hold Swarm-only values (`replicas` other than 1,
`mode = "global"`), what Swarm cannot run then refused as `validate --target swarm` refuses it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from reconciler.desired import hosts, profiles
from reconciler.desired.loader import load
from reconciler.desired.problems import Problem
from reconciler.desired.targets import host_target
from reconciler.importing.emit import Resource, write
from reconciler.swarm import checks as swarm_checks


def refused(out: Path, files: Mapping[str, Sequence[Resource]], env: Mapping[str, str], environ_names: Iterable[str],
            build_outside: str | None, target: str = "host") -> list[Problem]:
    """What validate would refuse in `files` once written under `out` (problems named as under
    `out`). They are written to a scratch folder beside `out`, its env file beside it (relative
    paths resolve the same), and loaded with `env` as the env file; the variables the files read from the process
    environment are taken as set (empty when they are not: Compose read them so). `build_outside`:
    a build context outside `out`, as written (relative to it), allowed as --build-allow allows it.
    The views of the profiles are checked as plain `validate` checks them, and what `validate
    --target TARGET` refuses besides (`target`: "host" or "swarm")."""
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    environ = {**{name: "" for name in environ_names}, **os.environ}
    with tempfile.TemporaryDirectory(prefix=f".{out.name}.check-", dir=parent) as scratch:
        folder = Path(scratch)
        env_path = folder.with_name(folder.name + ".env")
        try:
            write(folder, files, env=env, env_path=env_path)
            allow = ((folder / build_outside).resolve(),) if build_outside else ()
            result = load(folder, env_file=str(env_path) if env else None, environ=environ, build_allow=allow)
            problems = list(result.errors) or [*_views(result.state, folder), *_target(result.state, folder, target)]
        finally:
            env_path.unlink(missing_ok=True)
    return [Problem(str(out / p.file) if p.file else str(out), p.line, p.key, p.message) for p in problems]


def _target(state, folder: Path, target: str) -> list[Problem]:
    """What the target refuses: Swarm-only values on the host target (`desired.targets`), what
    Swarm cannot run on the swarm target (`reconciler.swarm.checks`' errors)."""
    place = hosts.placer(folder)
    return swarm_checks.problems(state, place)[0] if target == "swarm" else host_target(state, place)


def _views(state, folder: Path) -> list[Problem]:
    """What plain `validate` refuses in the views of the profiles (none given, each alone:
    `profiles.views`), with the import's way out: `--profile` writes the services of the profiles
    run, without their `profiles`."""
    place = hosts.placer(folder)
    found = {p for view in profiles.views(state) for p in profiles.check_view(state, view, place)}
    return [Problem(p.file, p.line, p.key, f"{p.message}; or import with --profile NAME for each profile you run, "
                    "to write only their services") for p in sorted(found, key=lambda p: (p.file, p.line or 0, p.key))]
