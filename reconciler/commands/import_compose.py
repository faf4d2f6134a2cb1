"""`reconciler import compose [FILE...] [-f FILE]... [--project-directory DIR] [--project-name NAME] [--env-file F]...
[--profile P]... [--out DIR] [--env-out FILE] [--force] [--target host|swarm]` (docs/import.md).

Exit 0 when the files are written (stdout: each path written), 1 on errors (stderr: FILE:LINE:
key.path: message), among them what `validate` would refuse in the converted files (nothing is
written then). Every key that could not be carried goes to stderr, one per line, and so do
the variables the files read from the process environment. The engine (`--engine`, $DOCKER_HOST)
is asked for a running project of that name, to name resources as it does and mark the ones it
holds `adopt = true`; an engine that cannot be reached means none runs, and is said on stderr.
`--target host` (the default) skips what only Swarm runs (`deploy.replicas` other than 1, a
global `deploy.mode`), each with a `skipped:` line saying `--target swarm` carries it, and checks
the files as `validate` does; `--target swarm` carries them and checks as `validate --target swarm`
does. The files' header says the target when it matters. Without a running project nothing is
marked: the names already taken are said on stderr, with how to adopt them. With --force, the
files an earlier import of the same project wrote in --out that this one does not write are
removed, each said on stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path

from reconciler.commands.importing import write_checked
from reconciler.importing.compose_convert import Conversion, build_contexts, convert
from reconciler.importing.compose_names import PROJECT_LABEL, Naming, RunningProject, running_project
from reconciler.importing.compose_taken import taken
from reconciler.importing.emit import default_env_path, earlier
from reconciler.importing.project import ComposeProject
from runtime import EngineError, Runtime, connect


def compose(args) -> int:
    from reconciler.importing.compose_load import load_project
    from reconciler.importing.compose_tree import ComposeError

    try:
        files = [Path(f) for f in [*args.files, *args.file_options]]
        project = load_project(files, project_directory=args.project_directory,
                               env_files=[Path(f) for f in args.env_files], profiles=args.profiles, unprofiled=["*"],
                               project_name=args.project_name)
    except ComposeError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return 1
    for warning in getattr(project, "warnings", ()):
        print(f"warning: {warning}", file=sys.stderr)
    out = Path(args.out)
    runtime, running = _running(args, project)
    conversion = convert(project, out, Naming(project.name, running), keep_profiles=not project.profiles,
                         target=args.target)
    notes: list[str] = []
    if runtime is not None:
        try:
            found = taken(runtime.observe(args.namespace, names=_engine_kinds(conversion)))
        except EngineError as error:
            print(f"error: engine: {error}", file=sys.stderr)
            return 1
        if running is not None:
            conversion = conversion.adopting(found.adoptable)
        notes = found.notes(adoptable=running is None)
    env_path = Path(args.env_out) if args.env_out else default_env_path(out)
    outside = next((c for c in build_contexts(conversion) if c.startswith("..")), None)
    header = conversion.header(env_path.resolve(), (out / outside).resolve() if outside else None)
    written = write_checked(out, conversion.files, conversion.env, header=header, env_path=env_path, force=args.force,
                            environ=conversion.environ, outside=outside, made="converted", target=args.target)
    if written is None:
        return 1
    for path in earlier(out, header, written) if args.force else ():
        path.unlink()
        print(f"note: removed {path}: an earlier import of project {project.name} wrote it, and this one does not",
              file=sys.stderr)
    _report(conversion)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    for path in written:
        print(path)
    return 0


def _running(args, project: ComposeProject) -> tuple[Runtime | None, RunningProject | None]:
    """The engine and the project of that name it runs (None: none runs); no engine when it cannot
    be reached, which is said on stderr."""
    try:
        runtime = connect(args.engine)
        running = running_project(project.name, runtime.containers_labelled(PROJECT_LABEL, project.name))
    except EngineError as error:
        print(f"note: engine {args.engine or 'at the local socket'} unreachable ({error}): no running project "
              "is looked for; resources are named for their Compose keys", file=sys.stderr)
        return None, None
    if running is not None:
        print(f"note: project {project.name} runs (Compose {running.version}): its names are kept", file=sys.stderr)
    return runtime, running


def _engine_kinds(conversion: Conversion) -> dict[str, set[str]]:
    """Kind -> the names written that are not adopted already (an external network or volume is)."""
    adopted = {(r.kind, r.name) for tables in conversion.files.values() for r in tables if r.table.get("adopt")}
    names = conversion.names()
    return {kind: {name for name in names.get(kind, set()) if (kind, name) not in adopted}
            for kind in ("container", "network", "volume")}


def _report(conversion: Conversion) -> None:
    for skipped in conversion.skipped:
        print(f"skipped: {skipped}", file=sys.stderr)
    if conversion.required:
        print(f"note: the files read {', '.join(conversion.required)} from the process environment without a "
              "default: the agent (and validate, plan, apply) must have them set", file=sys.stderr)
