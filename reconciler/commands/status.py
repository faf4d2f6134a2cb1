"""`reconciler status [--json] [--status-file FILE]`: what the agent last reported.

Asks the running agent through its control API; when none answers (or with `--status-file`),
reads the status file it last wrote (default: `default_status_file(namespace)`). Prints it as a
table, or as JSON with `--json`. Exit 0 when the agent is running; 1 when no agent answers and
there is no readable status file, or its agent (by pid, on this host) is gone.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime
from typing import Any

from reconciler.agent.status import STALE_INTERVALS, default_status_file
from reconciler.agent.timestamps import seconds_since as _seconds_since
from reconciler.agent.timestamps import span as _duration
from reconciler.commands.approve import pending_text
from reconciler.commands.control import agent_call
from reconciler.control.client import ControlError, NoAgent


def _ago(stamp: str | None, now: float) -> str:
    seconds = _seconds_since(stamp, now)
    return "" if seconds is None else f"{_duration(seconds)} ago"


def _when(stamp: str) -> str:
    return datetime.fromisoformat(stamp).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _pid_alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _agent_line(status: dict[str, Any], now: float) -> str:
    pid = status.get("pid")
    where = f"namespace {status.get('namespace')}, {status.get('directory')}"
    if not _pid_alive(pid):
        return f"not running (pid {pid} gone), last status {_ago(status.get('updated_at'), now)}; {where}"
    silent = _seconds_since(status.get("updated_at"), now)
    interval = status.get("interval_seconds") or 0
    if silent is not None and interval and silent > STALE_INTERVALS * interval:
        return f"running (pid {pid}) but silent for {_duration(silent)}; {where}"
    return f"running (pid {pid}); {where}"


def _pass_line(last: dict[str, Any] | None, now: float) -> str:
    if not last:
        return "none yet"
    counts = ", ".join(f"{name} {n}" for name, n in sorted(last.get("counts", {}).items()) if n)
    line = f"{last.get('result')} {_ago(last.get('at'), now)}, took {last.get('duration_seconds')}s"
    detail = last.get("error") or counts
    return f"{line}: {detail}" if detail else line


def _engine_line(engine: dict[str, Any] | None) -> str:
    if not engine:
        return "not reached yet"
    missing = [name for name, key in (("in-place update", "in_place_update"), ("distribution", "distribution"),
                                      ("healthchecks", "runs_healthchecks")) if not engine.get(key, True)]
    lacks = f"; without {', '.join(missing)}" if missing else ""
    line = f"{engine.get('kind')} {engine.get('version')} (API {engine.get('api_version')}{lacks})"
    swarm = engine.get("swarm")
    if swarm:
        nodes = swarm.get("nodes")
        line += f", Swarm {swarm.get('role')} {swarm.get('node_id')} of {nodes} node{'s' if nodes != 1 else ''}"
    return line


def _source_lines(source: dict[str, Any] | None, now: float) -> list[str]:
    """A git source's lines: what is followed, and the fetched, attempted and applied revisions."""
    if not source:
        return []

    def short(sha: str | None) -> str:
        return sha[:12] if sha else "none yet"

    lines = [f"git        {source['url']} {source.get('ref') or '(default branch)'} /{source['path'].strip('/')}",
             f"revision   applied {short(source.get('applied'))}, attempted {short(source.get('attempted'))}, "
             f"fetched {short(source.get('fetched'))} {_ago(source.get('fetched_at'), now)}".rstrip()]
    held = sorted((file, state) for file, state in (source.get("files") or {}).items() if state != "applied")
    if held and source.get("attempted") != source.get("applied"):
        lines.append("           not applied: " + ", ".join(f"{file} ({state})" for file, state in held))
    if source.get("fetch_error"):
        lines.append(f"fetch      failing: {source['fetch_error']}")
    refused = source.get("refused")
    if refused:
        lines.append(f"refused    {refused['revision'][:12]}: {refused['reason']}")
    return lines


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]


def _lease_line(lease: dict[str, Any]) -> str:
    """The Swarm lease: held by this agent (until when), or who holds it."""
    if lease["held"]:
        return f"held by this agent ({lease['holder']}) until {_when(lease['until'])}"
    return f"not held: {lease['waiting']}: changes nothing"


def _replicas(replicas: dict[str, int] | None) -> str:
    """A service's running/desired tasks ("2/3"), "-" for a resource that has none."""
    return f"{replicas['running']}/{replicas['desired']}" if replicas else "-"


def render(status: dict[str, Any], now: float) -> str:
    """The status as text for people."""
    lines = [
        f"agent      {_agent_line(status, now)}",
        f"started    {_when(status['started_at'])} ({_ago(status['started_at'], now)})"
        if status.get("started_at") else "started    unknown",
        f"engine     {_engine_line(status.get('engine'))}",
        f"last pass  {_pass_line(status.get('last_pass'), now)}",
        *([f"running    a pass since {_when(status['running']['since'])} ({_ago(status['running']['since'], now)})"]
          if status.get("running") else []),
        f"applied    {status.get('applied_digest') or 'nothing converged yet'}",
        *_source_lines(status.get("source"), now),
    ]
    if status.get("suspended"):
        lines.append("suspended  yes: drift is reported, not healed (`reconciler resume`)")
    if status.get("approve"):
        waiting = "the files' changes and drift" if status["approve"] == "all" else "the files' changes"
        lines.append(f"approve    {status['approve']}: {waiting} wait for `reconciler approve ID`")
        lines += ["", *pending_text(status.get("pending_plan"))] if status.get("pending_plan") else []
    if status.get("lease"):
        lines.append(f"lease      {_lease_line(status['lease'])}")
    resources = status.get("resources") or []
    if resources:
        counted = any("replicas" in r for r in resources)  # services: a REPLICAS column
        rows = [["RESOURCE", "STATE", *(["REPLICAS"] if counted else []), "SINCE", "MESSAGE"]]
        rows += [[f"{r['kind']}/{r['name']}", r["state"], *([_replicas(r.get("replicas"))] if counted else []),
                  _ago(r.get("since"), now), r.get("message", "")] for r in resources]
        lines += ["", *_table(rows)]
    changing = [r for r in resources if r.get("diff")]
    if changing:
        lines += ["", "CHANGES"]
        for r in changing:
            lines += [f"  {r['kind']}/{r['name']}", *(f"    {d['text']}" for d in r["diff"])]
    errors = status.get("errors") or []
    if errors:
        lines += ["", f"ERRORS ({len(errors)})", *(f"  {e['text']}" for e in errors)]
    warnings = status.get("warnings") or []
    if warnings:
        lines += ["", f"WARNINGS ({len(warnings)})", *(f"  {w['text']}" for w in warnings)]
    retries = status.get("pending_retries") or []
    if retries:
        rows = [[r["resource"], f"in {_duration(max(0.0, -_seconds_since(r['next_attempt_at'], now)))}",
                 f"({_when(r['next_attempt_at'])})"] for r in retries]
        lines += ["", "PENDING RETRIES", *(f"  {line}" for line in _table(rows))]
    return "\n".join(lines) + "\n"


def run(args) -> int:
    """The running agent's status through its control API; with `--status-file`, or when no agent
    answers, the status file it last wrote."""
    if not args.status_file:
        try:
            status = agent_call(args, "GET", "/v1/status")["status"]
        except NoAgent:
            pass
        except ControlError as error:
            print(f"warning: {error}; showing the status file", file=sys.stderr)
        else:
            sys.stdout.write(json.dumps(status, indent=2) + "\n" if args.json else render(status, time.time()))
            return 0
    return _from_file(args)


def _from_file(args) -> int:
    path = args.status_file or default_status_file(args.namespace)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        status = json.loads(text)
        if not isinstance(status, dict):
            raise ValueError("not a status object")
    except FileNotFoundError:
        print(f"error: no status file at {path}: the agent (`reconciler run`) is not running for "
              f"namespace {args.namespace!r}, or writes its status elsewhere (see --status-file)",
              file=sys.stderr)
        return 1
    except (OSError, ValueError) as error:
        print(f"error: cannot read the status file {path}: {error}", file=sys.stderr)
        return 1
    sys.stdout.write(text if args.json else render(status, time.time()))
    return 0 if _pid_alive(status.get("pid")) else 1
