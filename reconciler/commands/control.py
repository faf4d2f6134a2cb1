"""`reconciler sync | suspend | resume | retry`: calls to the running agent's control API, and
what `status` and `apply` use to reach the agent when one runs (docs/api.md)."""

from __future__ import annotations

import sys
from typing import Any

from reconciler.agent.lock import Locked, acquire, lock_path
from reconciler.agent.statedir import StateDirError
from reconciler.commands.context import socket_path, state_dir
from reconciler.control.client import AgentClient, ControlError, NoAgent

KINDS = ("container", "network", "volume")


def agent_call(args, method: str, route: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """The answer of the agent for `--namespace` and `--engine`; raises ControlError."""
    return AgentClient(socket_path(args)).call(method, route, body)


def _call(args, method: str, route: str, body: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The answer, or None after printing why there is none."""
    try:
        return agent_call(args, method, route, body)
    except NoAgent as error:
        print(f"error: {error}: no agent (`reconciler run`) runs for namespace {args.namespace!r} on this engine",
              file=sys.stderr)
    except ControlError as error:
        print(f"error: {error}", file=sys.stderr)
    return None


def writer(args) -> bool:
    """Whether this `apply` may change the engine itself (no agent answered): it takes the agent's
    lock of the engine and namespace for as long as it runs, and the namespace's agent is not
    suspended (its state directory says so). False after printing why not."""
    try:
        acquire(lock_path(args.namespace, args.engine))
    except Locked as error:
        print(f"error: {error}, and its control API does not answer on {socket_path(args)}", file=sys.stderr)
        return False
    except OSError as error:
        print(f"error: lock: {error}", file=sys.stderr)
        return False
    try:
        suspended = state_dir(args).suspended()
    except StateDirError as error:
        print(f"error: {error}", file=sys.stderr)
        return False
    if suspended:
        print(f"error: the agent of namespace {args.namespace!r} is suspended: nothing is applied until "
              "`reconciler resume`", file=sys.stderr)
    return not suspended


def passed_text(answer: dict[str, Any]) -> str:
    """A sync's or retry's answer for people: the pass's result, then what is left to do (each
    change with its per-field diff)."""
    last = answer.get("pass") or {}
    counts = last.get("counts") or {}
    lines = [f"pass {last.get('result', 'not run')} in {last.get('duration_seconds', 0):g}s"
             + (f": {counts.get('actions', 0)} action(s), {counts.get('failures', 0)} failure(s)" if counts else "")]
    if answer.get("suspended"):
        lines.append("the agent is suspended: it changed nothing (`reconciler resume`)")
    lines += [f"warning: {text}" for text in answer.get("warnings") or []]
    errors = answer.get("errors") or []
    if errors:
        lines += [f"error: {text}" for text in errors]
        lines.append("the last valid content of those files stays in force")
    plan = answer.get("plan")
    if plan:
        for c in plan["changes"]:
            lines += [f"  {c['symbol']} {c['kind']} {c['name']}", *(f"      {d['text']}" for d in c.get("diff") or ())]
        lines.append(plan["summary"])
    return "\n".join(lines)


def converged(answer: dict[str, Any]) -> bool:
    return (answer.get("pass") or {}).get("result") == "converged"


def sync(args) -> int:
    answer = _call(args, "POST", "/v1/sync", {"prune_volumes": args.prune_volumes, "allow_empty": args.allow_empty})
    if answer is None:
        return 1
    print(passed_text(answer))
    return 0 if converged(answer) else 1


def suspend(args) -> int:
    if not _set_suspended(args, True):
        return 1
    print("suspended: the agent observes and reports drift, and changes nothing until `reconciler resume`")
    return 0


def resume(args) -> int:
    if not _set_suspended(args, False):
        return 1
    print("resumed: the agent converges again")
    return 0


def _set_suspended(args, suspended: bool) -> bool:
    """Through the running agent; when none runs, in its state directory, where the agent finds
    it when it starts and `apply` honours it. False after printing why neither could be done."""
    try:
        agent_call(args, "POST", "/v1/suspend" if suspended else "/v1/resume")
        return True
    except NoAgent:
        pass
    except ControlError as error:
        print(f"error: {error}", file=sys.stderr)
        return False
    try:
        state = state_dir(args)
        state.set_suspended(suspended)
    except (StateDirError, OSError) as error:
        print(f"error: no agent runs, and the state directory cannot record it: {error}", file=sys.stderr)
        return False
    print(f"no agent runs for namespace {args.namespace!r}: recorded in {state.path}")
    return True


def retry(args) -> int:
    kind, _, name = args.resource.rpartition("/")
    kind = kind or "container"
    if kind not in KINDS or not name:
        print(f"error: {args.resource}: give [KIND/]NAME, KIND one of {', '.join(KINDS)}", file=sys.stderr)
        return 1
    answer = _call(args, "POST", f"/v1/retry/{kind}/{name}")
    if answer is None:
        return 1
    print(f"retried {answer['retried']}")
    print(passed_text(answer))
    return 0 if converged(answer) else 1
