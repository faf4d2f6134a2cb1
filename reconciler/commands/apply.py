"""`reconciler apply`: converge once. Exit 0 when the engine matches the files, 1 when not."""

from __future__ import annotations

import sys

from reconciler.commands.context import colour, load_desired, open_engine, setup
from reconciler.converge import Refused, converge
from reconciler.render import report_text
from runtime import EngineError


def _progress(ref: str, line: str) -> None:
    print(f"pull {ref}: {line}", file=sys.stderr)


def run(args) -> int:
    setup(args)
    desired = load_desired(args)
    if desired is None:
        return 1
    runtime = open_engine(args)
    if runtime is None:
        return 1
    try:
        report = converge(runtime, desired, args.namespace, args.prune_volumes, args.allow_empty, _progress)
    except Refused as refused:
        print(f"error: {refused}", file=sys.stderr)
        return 1
    except EngineError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(report_text(report, colour()))
    return 0 if report.converged else 1
