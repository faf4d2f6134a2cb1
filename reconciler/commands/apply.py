"""`reconciler apply`: converge once. Exit 0 when the engine matches the files, 1 when not.

One writer per engine and namespace (DESIGN section 10): when an agent runs for them, `apply`
asks it for a pass with its options through the control API and prints the result (refused when
DIR is not the agent's directory, the profiles given are not the agent's, or `--target` is not the
agent's); otherwise it applies here (`--target swarm`: `commands.swarm_target.apply`) and takes
the agent's lock for as long as it runs, and applies the view of `--host-id` (default: this host's
name; docs/format.md, "Hosts") and of the profiles given (docs/format.md, "Profiles").
"""

from __future__ import annotations

import os
import sys
import time

from reconciler.agent.rollbacks import Rollbacks
from reconciler.agent.statedir import StateDirError
from reconciler.commands import swarm_target
from reconciler.commands.context import (
    colour,
    given_profiles,
    newer_checks,
    pass_options,
    prepare,
    state_dir,
)
from reconciler.commands.control import agent_call, converged, passed_text, writer
from reconciler.commands.progress import ProgressView
from reconciler.commands.render import report_text
from reconciler.control.client import ControlError, NoAgent
from reconciler.converge import converge
from reconciler.images.usage import Usage
from runtime import EngineError


def run(args) -> int:
    try:
        given = given_profiles(args)
    except ValueError as error:
        print(f"error: $RECONCILER_PROFILES: {error}", file=sys.stderr)
        return 1
    try:
        answer = agent_call(args, "POST", "/v1/sync", {"prune_volumes": args.prune_volumes,
                                                       "allow_empty": args.allow_empty,
                                                       "directory": os.path.abspath(args.dir),
                                                       "profiles": list(given), "adopt": list(args.adopt),
                                                       "target": args.target})
    except NoAgent:
        return swarm_target.apply(args) if args.target == "swarm" else _apply_here(args)
    except ControlError as error:
        print(f"error: the running agent refused: {error}", file=sys.stderr)
        return 1
    print("applied through the running agent (one writer per engine and namespace):")
    if args.host_id:
        print(f"note: the agent applies the view of its own --host-id, not necessarily {args.host_id!r}",
              file=sys.stderr)
    print(passed_text(answer))
    return 0 if converged(answer) else 1


def _apply_here(args) -> int:
    if not writer(args):
        return 1
    ready = prepare(args)
    if ready is None:
        return 1
    desired, runtime = ready
    try:
        report = converge(runtime, desired, args.namespace, pass_options(args, desired), ProgressView(sys.stderr),
                          checks=newer_checks(args, state_dir(args)))
    except (EngineError, StateDirError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(report_text(report, colour()))
    try:
        state_dir(args).record_completions(report.completed)
    except (StateDirError, OSError) as error:
        print(f"warning: run-to-completion records not saved: {error}", file=sys.stderr)
    try:
        state_dir(args).save_adopted(report.adopted)
    except (StateDirError, OSError) as error:
        print(f"warning: adoption records not saved: {error}", file=sys.stderr)
    Usage(state_dir(args)).after_pass(report, runtime)
    try:
        Rollbacks(state_dir(args)).record_applied(report, desired, desired.secret_values, time.time())
    except StateDirError as error:
        print(f"warning: last-applied records not saved: {error}", file=sys.stderr)
    return 0 if report.converged else 1
