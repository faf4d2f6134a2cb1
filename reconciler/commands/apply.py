"""`reconciler apply`: converge once. Exit 0 when the engine matches the files, 1 when not."""

from __future__ import annotations

import sys

from reconciler.commands.context import colour, prepare
from reconciler.commands.render import report_text
from reconciler.converge import converge
from reconciler.options import PlanOptions
from runtime import EngineError


def _progress(ref: str, line: str) -> None:
    print(f"pull {ref}: {line}", file=sys.stderr)


def run(args) -> int:
    ready = prepare(args)
    if ready is None:
        return 1
    desired, runtime = ready
    try:
        options = PlanOptions(prune_volumes=args.prune_volumes, allow_empty=args.allow_empty)
        report = converge(runtime, desired, args.namespace, options, _progress)
    except EngineError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(report_text(report, colour()))
    return 0 if report.converged else 1
