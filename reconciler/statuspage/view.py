"""The status page's view: a status snapshot (`Status.snapshot()`, schemas/api.schema.json) turned
into what the template shows. Pure: the time is passed in, nothing is read or escaped here (the
template escapes every value).

    page = context(status.snapshot(), now=time.time())
    page["tone"]                 # "ok" | "warn" | "bad": the page's colour, from the last pass
    page["attention"]            # resources that need a person: failed, crashloop, conflict, ...
    page["resources"]            # every resource, the worst first, with "since" as "3m ago"
    page["timeline"]             # the last passes, newest first

Every entry is a plain dict; a field the snapshot lacks (an older agent, a directory source, no
pending plan) is None or empty, and the template leaves its section out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.agent.timestamps import seconds_since, span

# a resource state's place on the page (worst first) and its colour
STATES = {"failed": (0, "bad"), "crashloop": (1, "bad"), "conflict": (2, "bad"), "stalled": (3, "warn"),
          "blocked": (4, "warn"), "unknown": (5, "warn"), "drifted": (6, "warn"), "pending": (7, "warn"),
          "retained": (8, "quiet"), "completed": (9, "ok"), "converged": (10, "ok")}
ATTENTION = frozenset({"failed", "crashloop", "conflict", "stalled", "blocked", "unknown", "drifted"})
# a pass result's colour (agent.loop's results)
RESULTS = {"converged": "ok", "suspended": "quiet", "invalid": "warn", "failed": "bad", "unavailable": "bad",
           "crashed": "bad", "waiting": "warn"}
SHORT_SHA = 12


def ago(stamp: str | None, now: float) -> str:
    """"3m 5s ago" ("in 8s" for a time to come, "just now" within a second); "" without a stamp."""
    seconds = seconds_since(stamp, now)
    if seconds is None:
        return ""
    if abs(seconds) < 1:
        return "just now"
    return f"{span(seconds)} ago" if seconds > 0 else f"in {span(seconds)}"


def short(sha: str | None) -> str:
    """A commit or digest as people compare them: its first 12 hex digits ("" for None)."""
    return (sha or "").removeprefix("sha256:")[:SHORT_SHA]


def _resource(entry: Mapping[str, Any], now: float) -> dict[str, Any]:
    state = str(entry.get("state", ""))
    return {"key": f"{entry.get('kind')}/{entry.get('name')}", "kind": entry.get("kind"), "name": entry.get("name"),
            "state": state, "tone": STATES.get(state, (len(STATES), "warn"))[1], "message": entry.get("message") or "",
            "since": entry.get("since") or "", "since_ago": ago(entry.get("since"), now),
            "diff": [d.get("text") for d in entry.get("diff") or ()]}


def resources(entries: Sequence[Mapping[str, Any]], now: float) -> list[dict[str, Any]]:
    """Every resource, the worst state first, then by kind and name."""
    rows = [_resource(e, now) for e in entries]
    return sorted(rows, key=lambda r: (STATES.get(r["state"], (len(STATES), ""))[0], r["kind"] or "", r["name"] or ""))


def counts(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """How many resources are in each state, the worst state first."""
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        found.setdefault(row["state"], {"state": row["state"], "tone": row["tone"], "count": 0})["count"] += 1
    return list(found.values())  # `rows` are ordered worst first already


def problems(entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The loader's errors or warnings, each with `where` ("web.toml:12", or the file alone)."""
    return [{"where": f"{e.get('file')}:{e['line']}" if e.get("line") else str(e.get("file") or ""),
             "key": e.get("key") or "", "message": e.get("message") or ""} for e in entries]


def timeline(passes: Sequence[Mapping[str, Any]], now: float) -> list[dict[str, Any]]:
    """The last passes, newest first: result, colour, when, how long, and what it counted."""
    return [{"result": p.get("result"), "tone": RESULTS.get(str(p.get("result")), "warn"), "at": p.get("at") or "",
             "ago": ago(p.get("at"), now), "duration": f"{float(p.get('duration_seconds') or 0):.2f}s",
             "counts": ", ".join(f"{k} {v}" for k, v in sorted((p.get("counts") or {}).items())),
             "error": p.get("error") or ""} for p in reversed(passes)]


def retries(entries: Sequence[Mapping[str, Any]], now: float) -> list[dict[str, Any]]:
    """Resources waiting in backoff, and when they are tried again ("in 8s", or "due")."""
    rows = []
    for e in entries:
        left = seconds_since(e.get("next_attempt_at"), now)
        rows.append({"resource": e.get("resource"), "at": e.get("next_attempt_at") or "",
                     "when": ago(e.get("next_attempt_at"), now) if left is not None and left < 0 else "due"})
    return rows


def quarantined(entries: Sequence[Mapping[str, Any]], now: float) -> list[dict[str, Any]]:
    """The replacements in quarantine: what failed (revision, else spec hash), why, since when,
    and the previous container's state ("running", else what it is: not serving; "" not known)."""
    return [{"resource": q.get("resource"), "reason": q.get("reason") or "", "previous": q.get("previous") or "",
             "serving": q.get("previous") == "running",
             "failed": f"revision {short(q['revision'])}" if q.get("revision") else f"spec {short(q.get('spec_hash'))}",
             "since": q.get("since") or "", "since_ago": ago(q.get("since"), now)} for q in entries]


def source(snapshot: Mapping[str, Any], now: float) -> dict[str, Any]:
    """Where the desired state comes from: a directory (and the digest applied last), or a git
    source with its revisions (in force, attempted, applied), its last fetch and its files."""
    git = snapshot.get("source")
    if not git:
        return {"kind": "directory", "directory": snapshot.get("directory"),
                "applied": short(snapshot.get("applied_digest"))}
    refused = git.get("refused") or git.get("untrusted")
    return {"kind": "git", "url": git.get("url"), "ref": git.get("ref"), "path": git.get("path"),
            "revision": short(git.get("revision")), "attempted": short(git.get("attempted")),
            "applied": short(git.get("applied")), "fetched_ago": ago(git.get("fetched_at"), now),
            "fetch_error": git.get("fetch_error") or "",
            "refused": f"{short(refused['revision'])}: {refused['reason']}" if refused else "",
            "files": [{"path": path, "state": state, "tone": {"applied": "ok", "pending": "warn"}.get(state, "bad")}
                      for path, state in sorted((git.get("files") or {}).items())]}


def pending_plan(held: Mapping[str, Any] | None, now: float) -> dict[str, Any] | None:
    """A plan waiting for approval (schemas/api.schema.json `pending_plan`): its summary, and each
    change with its symbol, reasons, per-field diff (the lines `plan` prints), file and why it is
    blocked; None: none."""
    if not held:
        return None
    plan = held.get("plan") or {}
    return {"summary": plan.get("summary") or "", "revision": short(held.get("revision")), "id": held.get("id") or "",
            "since_ago": ago(held.get("since"), now),
            "changes": [{"symbol": c.get("symbol"), "action": c.get("action"),
                         "key": f"{c.get('kind')}/{c.get('name')}",
                         "reasons": [r.get("text") for r in c.get("reasons") or ()], "source": c.get("source") or "",
                         "diff": [d.get("text") for d in c.get("diff") or ()],
                         "blocked": c.get("blocked") or ""} for c in plan.get("changes") or ()]}


def engine_error(down: Mapping[str, Any] | None, now: float) -> dict[str, Any] | None:
    """The engine out of reach: its address, the error, since when; None while it answers."""
    if not down:
        return None
    return {"address": down.get("address") or "", "error": down.get("error") or "", "since": down.get("since") or "",
            "since_ago": ago(down.get("since"), now)}


def tone(snapshot: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> str:
    """The page's colour: the last pass's, made "bad" by a resource that is, "warn" by file errors."""
    last = snapshot.get("last_pass") or {}
    worst = RESULTS.get(str(last.get("result")), "warn")
    if worst != "bad" and any(r["tone"] == "bad" for r in rows):
        worst = "bad"
    if worst == "ok" and snapshot.get("errors"):
        worst = "warn"
    return worst


def context(snapshot: Mapping[str, Any], now: float) -> dict[str, Any]:
    """What the status page template renders, from a status snapshot, at unix time `now`."""
    rows = resources(snapshot.get("resources") or (), now)
    last = snapshot.get("last_pass")
    engine = snapshot.get("engine") or {}
    return {
        "namespace": snapshot.get("namespace"),
        "pid": snapshot.get("pid"),
        "updated_ago": ago(snapshot.get("updated_at"), now),
        "started_ago": ago(snapshot.get("started_at"), now),
        "interval": snapshot.get("interval_seconds"),
        "suspended": bool(snapshot.get("suspended")),
        "profiles": list(snapshot.get("profiles") or ()),
        "engine": f"{engine.get('kind')} {engine.get('version')} (API {engine.get('api_version')})" if engine else "",
        "engine_error": engine_error(snapshot.get("engine_error"), now),
        "tone": tone(snapshot, rows),
        "last_pass": timeline([last], now)[0] if last else None,
        "counts": counts(rows),
        "attention": [r for r in rows if r["state"] in ATTENTION],
        "resources": rows,
        "errors": problems(snapshot.get("errors") or ()),
        "warnings": problems(snapshot.get("warnings") or ()),
        "retries": retries(snapshot.get("pending_retries") or (), now),
        "crashloops": [r for r in rows if r["state"] == "crashloop"],
        "quarantined": quarantined(snapshot.get("quarantined") or (), now),
        "source": source(snapshot, now),
        "pending_plan": pending_plan(snapshot.get("pending_plan"), now),
        "timeline": timeline(snapshot.get("passes") or (), now),
    }
