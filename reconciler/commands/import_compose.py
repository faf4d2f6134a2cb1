"""`reconciler import compose FILE... [--project-directory DIR] [--project-name NAME] [--env-file F]...
[--profile P]... [--out DIR] [--env-out FILE] [--force]` (docs/import.md).

Exit 0 when the files are written (stdout: each path written), 1 on errors (stderr: FILE:LINE:
key.path: message). Every key that could not be carried goes to stderr, one per line, and so do
the variables the files read from the process environment. The engine (`--engine`, $DOCKER_HOST)
is asked for a running project of that name, to name resources as it does; an engine that cannot
be reached means none runs, and is said on stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path

from reconciler.importing.compose_convert import Conversion, build_contexts, convert
from reconciler.importing.compose_names import PROJECT_LABEL, Naming, RunningProject, running_project
from reconciler.importing.compose_values import schema_node
from reconciler.importing.emit import ImportFailure, default_env_path, write
from reconciler.importing.project import ComposeProject
from runtime import EngineError, Runtime, connect


def compose(args) -> int:
    from reconciler.importing.compose_load import load_project
    from reconciler.importing.compose_tree import ComposeError

    try:
        project = load_project([Path(f) for f in args.files], project_directory=args.project_directory,
                               env_files=[Path(f) for f in args.env_files], profiles=args.profiles or ["*"],
                               project_name=args.project_name)
    except ComposeError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return 1
    for warning in getattr(project, "warnings", ()):
        print(f"warning: {warning}", file=sys.stderr)
    out = Path(args.out)
    runtime, running = _running(args, project)
    conversion = convert(project, out, Naming(project.name, running), keep_profiles=not args.profiles)
    if runtime is not None and schema_node("container", "adopt"):
        try:
            conversion = conversion.adopting(runtime.observe(args.namespace, names=_engine_kinds(conversion)).unowned)
        except EngineError as error:
            print(f"error: engine: {error}", file=sys.stderr)
            return 1
    env_path = Path(args.env_out) if args.env_out else default_env_path(out)
    outside = next((c for c in build_contexts(conversion) if c.startswith("..")), None)
    header = conversion.header(env_path.resolve(), (out / outside).resolve() if outside else None)
    try:
        written = write(out, conversion.files, header=header, env=conversion.env, env_path=env_path, force=args.force)
    except ImportFailure as failure:
        print(f"error: {failure}", file=sys.stderr)
        return 1
    _report(conversion)
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
    names = conversion.names()
    return {kind: names.get(kind, set()) for kind in ("container", "network", "volume")}


def _report(conversion: Conversion) -> None:
    for skipped in conversion.skipped:
        print(f"skipped: {skipped}", file=sys.stderr)
    if conversion.environ:
        print(f"note: the files read {', '.join(conversion.environ)} from the process environment: the agent "
              "(and validate, plan, apply) must have them set", file=sys.stderr)
