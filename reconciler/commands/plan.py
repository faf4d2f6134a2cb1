"""`reconciler plan`: what apply would change, and why. Exit 0 on success, 1 on error; with
--detailed-exitcode, 2 when there is something to run and 3 when nothing is runnable but
conflicts or blocked items remain (DESIGN section 7)."""

from __future__ import annotations

import sys

from reconciler.agent.statedir import StateDirError
from reconciler.commands import swarm_target
from reconciler.commands.context import colour, pass_options, prepare, state_dir
from reconciler.commands.render import plan_json, plan_text, problems_json
from reconciler.converge import make_plan, observe
from runtime import EngineError


def run(args) -> int:
    if args.target == "swarm":
        return swarm_target.plan(args)
    ready = prepare(args, as_json=args.json)
    if ready is None:
        return 1
    desired, runtime = ready
    try:
        options = pass_options(args, desired)
        plan = make_plan(desired, observe(runtime, args.namespace, desired, options), args.namespace, options)
    except (EngineError, StateDirError) as error:
        print(f"error: {error}", file=sys.stderr)
        if args.json:
            print(problems_json(str(error), []))
        return 1
    print(plan_json(plan) if args.json else plan_text(plan, colour(), steps=not args.brief))
    if plan.has_changes and state_dir(args).suspended():
        print(f"note: the agent of namespace {args.namespace!r} is suspended: it applies nothing until "
              "`reconciler resume`", file=sys.stderr)
    if not args.detailed_exitcode:
        return 0
    return 2 if plan.runnable else 3 if plan.blocked else 0
