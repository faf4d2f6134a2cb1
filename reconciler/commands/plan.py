"""`reconciler plan`: what apply would change, and why. Exit 0 (or 2 with changes under
--detailed-exitcode) on success, 1 on error."""

from __future__ import annotations

import sys

from reconciler.commands.context import colour, load_desired, open_engine, setup
from reconciler.converge import Refused, make_plan, observe
from reconciler.render import plan_json, plan_text
from runtime import EngineError


def run(args) -> int:
    setup(args)
    desired = load_desired(args)
    if desired is None:
        return 1
    runtime = open_engine(args)
    if runtime is None:
        return 1
    try:
        plan = make_plan(desired, observe(runtime, args.namespace, desired), args.namespace,
                         args.prune_volumes, args.allow_empty)
    except Refused as refused:
        print(f"error: {refused}", file=sys.stderr)
        return 1
    except EngineError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(plan_json(plan) if args.json else plan_text(plan, colour()))
    return 2 if args.detailed_exitcode and plan.has_changes else 0
