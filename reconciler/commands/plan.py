"""`reconciler plan`: what apply would change, and why. Exit 0 (or 2 with changes under
--detailed-exitcode) on success, 1 on error."""

from __future__ import annotations

import sys

from reconciler.commands.context import colour, prepare
from reconciler.commands.render import plan_json, plan_text
from reconciler.converge import Refused, make_plan, observe
from runtime import EngineError


def run(args) -> int:
    ready = prepare(args)
    if ready is None:
        return 1
    desired, runtime = ready
    try:
        observed = observe(runtime, args.namespace, desired)
        plan = make_plan(desired, observed, args.namespace, args.prune_volumes, args.allow_empty)
    except (Refused, EngineError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(plan_json(plan) if args.json else plan_text(plan, colour()))
    return 2 if args.detailed_exitcode and plan.has_changes else 0
