"""How plans and pass reports look to a person (text, coloured on a terminal) and to a machine (JSON)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from reconciler import fielddiff
from reconciler.changes import Change, ChangeKind, Reason
from reconciler.converge import PassReport
from reconciler.desired.problems import Problem
from reconciler.tasks import Plan

_COLOURS = {
    ChangeKind.CREATE: "32",  # green
    ChangeKind.RECREATE: "33",  # yellow
    ChangeKind.START: "36",  # cyan
    ChangeKind.STOP: "36",
    ChangeKind.CLEANUP: "35",  # magenta
    ChangeKind.REMOVE: "31",  # red
    ChangeKind.CONFLICT: "1;31",  # bold red
    ChangeKind.RETAIN: "2",  # dim
    ChangeKind.WARN: "33",
    ChangeKind.PULL: "34",  # blue
    ChangeKind.CHECK: "2",
    ChangeKind.PUSH: "34",
    ChangeKind.BLOCKED: "1;33",  # bold yellow
    ChangeKind.ADOPT: "35",
    ChangeKind.UPDATE: "36",
}

PLAN_SCHEMA_VERSION = 1


def change_line(change: Change, colour: bool = False) -> str:
    text = str(change)
    return f"\x1b[{_COLOURS[change.kind]}m{text}\x1b[0m" if colour else text


def plan_text(plan: Plan, colour: bool = False, steps: bool = False) -> str:
    return plan.text(steps, lambda change, line: change_line(change, colour))


def change_data(change: Change) -> dict[str, Any]:
    return {
        "action": change.kind.verb,
        "symbol": change.kind.value,
        "kind": change.resource,
        "name": change.name,
        "reasons": [{"reason": c.reason.name.lower(), "text": str(c)} for c in change.causes],
        "source": change.source,
        "diff": [d.data() for d in change.diff],
    }


def plan_data(plan: Plan) -> dict[str, Any]:
    tasks = {task.key: task for task in plan.tasks}
    changes = []
    for change in plan.changes:
        data = change_data(change)
        task = tasks.get(change.key)
        data["steps"] = [str(a) for a in task.steps] if task else []
        data["if_it_fails"] = [list(undo) for undo in task.branches] if task else []
        data["then"] = task.then if task else None
        data["blocked"] = task.blocked if task else None
        if task and task.fallback:
            data["if_it_is_refused"] = [str(a) for a in task.fallback.steps]
        changes.append(data)
    return {
        "schema_version": PLAN_SCHEMA_VERSION,
        "changes": changes,
        "has_changes": plan.has_changes,
        "runnable": len(plan.runnable),
        "blocked": list(plan.blocked),
        "summary": plan.summary(),
    }


def plan_json(plan: Plan) -> str:
    return json.dumps(plan_data(plan), indent=2)


def problems_json(error: str, problems: Iterable[Problem]) -> str:
    """What `plan --json` prints instead of a plan when the files are invalid."""
    listed = [{"file": p.file, "line": p.line, "key": p.key, "message": p.message, "text": str(p)} for p in problems]
    return json.dumps({"schema_version": PLAN_SCHEMA_VERSION, "error": error, "problems": listed}, indent=2)


def report_text(report: PassReport, colour: bool = False) -> str:
    lines = [line for c in report.plan.changes for line in (change_line(c, colour), *fielddiff.lines(c.diff))]
    shown = {str(c) for c in report.plan.changes}
    for again in report.followed:
        new = [c for c in again.changes if c.kind.actionable and str(c) not in shown]
        shown.update(str(c) for c in new)
        lines += (["then, planned again:"] if new else []) + [f"  {change_line(c, colour)}" for c in new]
    still_blocked = {t.key for t in report.remaining.tasks if t.blocked}
    for result in report.results:
        if result.task.blocked and result.task.key not in still_blocked:
            lines.append(f"blocked: {result.task.change}: {result.task.blocked}")
    for result in report.results:  # an in-place update the engine refused: the replacement that ran instead
        if result.ok and any(c.reason is Reason.UPDATE_REFUSED for c in result.task.change.causes):
            lines.append(f"instead: {change_line(result.task.change, colour)}")
    for result in report.failures:
        spec = result.task.change.spec
        lines.append(f"failed: {result}" + (f" ({spec.source})" if spec is not None else ""))
    if report.converged:
        lines.append("Converged: the engine matches the desired state.")
    else:
        tasks = {t.key: t for t in report.remaining.tasks}
        pending = []
        for change in report.remaining.changes:
            if change.kind.pending:
                task = tasks.get(change.key)
                pending.append(f"  {change}" + (f"\n      blocked: {task.blocked}" if task and task.blocked else ""))
        lines.append("Not converged." + (" Still to do:" if pending else ""))
        lines += pending
    return "\n".join(lines)
