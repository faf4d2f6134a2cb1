"""`reconciler approve ID` and `reconciler reject ID`: calls to the running agent's control API
(`POST /v1/approve/ID`, `POST /v1/reject/ID`; docs/api.md) about the plan waiting for approval
in an agent started with `run --approve` (docs/agent.md)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from reconciler.commands.control import agent_call, passed_text
from reconciler.control.client import CallFailed, ControlError, NoAgent


def pending_text(pending: Mapping[str, Any] | None) -> list[str]:
    """A pending plan for people: its id and summary, then each change with its reasons (the
    changed keys), its per-field diff as the plan prints it, and why it is blocked; [] when none waits."""
    if not pending:
        return []
    plan = pending.get("plan") or {}
    revision = f" (revision {pending['revision'][:12]})" if pending.get("revision") else ""
    lines = [f"pending plan {pending.get('id')}{revision}, waiting since {pending.get('since')}: "
             f"{plan.get('summary', '')}"]
    for change in plan.get("changes") or ():
        reasons = "; ".join(r.get("text", "") for r in change.get("reasons") or ())
        line = f"  {change.get('symbol')} {change.get('action')} {change.get('kind')} {change.get('name')}"
        lines.append(f"{line} ({reasons})" if reasons else line)
        lines += [f"      {d.get('text', '')}" for d in change.get("diff") or ()]
        if change.get("blocked"):
            lines.append(f"      blocked: {change['blocked']}")
    lines.append(f"  reconciler approve {pending.get('id')}   (or: reconciler reject {pending.get('id')})")
    return lines


def approve(args) -> int:
    return _decide(args, "approve")


def reject(args) -> int:
    return _decide(args, "reject")


def _decide(args, kind: str) -> int:
    """Exit 0 when the plan was applied (approve) or dropped (reject); 1 otherwise, after saying
    why and, when the agent holds another plan now, showing it."""
    try:
        answer = agent_call(args, "POST", f"/v1/{kind}/{args.id}")
    except NoAgent as error:
        print(f"error: {error}: no agent (`reconciler run --approve ...`) runs for namespace {args.namespace!r} "
              "on this engine", file=sys.stderr)
        return 1
    except CallFailed as error:
        print(f"error: {error}", file=sys.stderr)
        lines = pending_text((error.body or {}).get("pending_plan"))
        if lines:
            print("\n".join(lines), file=sys.stderr)
        return 1
    except ControlError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(answer["message"])
    if answer.get("pass"):
        print(passed_text({"pass": answer["pass"]}))
    lines = pending_text(answer.get("pending_plan"))
    if lines:
        print("\n".join(lines))
    return 0
