"""`reconciler apply`: converge once. Exit 0 when the engine matches the files, 1 when not."""

from __future__ import annotations

import sys

from reconciler.agent.statedir import StateDirError
from reconciler.commands.context import colour, pass_options, prepare, state_dir
from reconciler.commands.render import report_text
from reconciler.converge import converge
from runtime import EngineError


def _progress(ref: str, line: str) -> None:
    print(f"pull {ref}: {line}", file=sys.stderr)


def run(args) -> int:
    ready = prepare(args)
    if ready is None:
        return 1
    desired, runtime = ready
    try:
        report = converge(runtime, desired, args.namespace, pass_options(args, desired), _progress)
    except (EngineError, StateDirError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(report_text(report, colour()))
    try:
        state_dir(args).record_completions(report.completed)
    except (StateDirError, OSError) as error:
        print(f"warning: run-to-completion records not saved: {error}", file=sys.stderr)
    return 0 if report.converged else 1
