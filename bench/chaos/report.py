"""The campaign's report: as a dict (the --json form) and as text for people."""

from __future__ import annotations

from collections import Counter

from bench.chaos.faults import FAULTS


def build(c) -> dict:
    """Times are seconds from the start of the faults; `valid_run` is False when some fault kind
    happened fewer than `min_per_kind` times; `passed` needs a valid run and no violation."""
    made = Counter(kind for _, kind, _ in c.done)
    landed = Counter(kind for _, kind, done in c.done if done.landed and kind.startswith("aim-"))
    short = sorted(kind for kind in FAULTS if made[kind] < c.options.min_per_kind)
    violations = [{"at": round(v.time - c.started, 2), "kind": v.kind, "detail": v.detail} for v in c.violations]
    return {
        "seed": c.options.seed,
        "duration_seconds": c.options.duration,
        "namespace": c.namespace,
        "started_at": round(c.started, 3),
        "state_dir": c.state_dir is not None,
        "grace_seconds": c.options.grace,
        "min_per_kind": c.options.min_per_kind,
        "faults": {kind: made[kind] for kind in sorted(FAULTS)},
        "missed": {kind: c.missed[kind] for kind in sorted(c.missed)},
        "aims_landed": {kind: landed[kind] for kind in sorted(FAULTS) if kind.startswith("aim-")},
        "agent_starts": c.agent.starts,
        "events_recorded": len(c.recorder.events),
        "log": [{"at": round(t - c.started, 2), "kind": kind, "detail": done.detail} for t, kind, done in c.done],
        "violations": violations,
        "violations_by_kind": dict(Counter(v["kind"] for v in violations)),
        "converge_seconds": None if c.converge_seconds is None else round(c.converge_seconds, 2),
        "short_kinds": short,
        "valid_run": not short,
        "passed": not short and not violations,
        "work": str(c.work) if c.options.keep else None,
    }


def text(report: dict) -> str:
    made = report["faults"]
    lines = [f"chaos: seed {report['seed']}, {report['duration_seconds']:g}s of faults, namespace "
             f"{report['namespace']}, --state-dir {'passed' if report['state_dir'] else 'not supported'}, "
             f"{report['agent_starts']} agent starts",
             f"faults ({sum(made.values())}):"]
    for kind, count in made.items():
        notes = []
        if kind in report["aims_landed"]:
            notes.append(f"{report['aims_landed'][kind]} landed at the step")
        if report["missed"].get(kind):
            notes.append(f"{report['missed'][kind]} not possible when tried")
        lines.append(f"  {kind:<18} {count:>4}" + (f"  ({'; '.join(notes)})" if notes else ""))
    converged = report["converge_seconds"]
    lines.append(f"converged {converged:.1f}s after the faults stopped" if converged is not None
                 else "did not converge")
    lines.append(f"violations ({len(report['violations'])}):")
    lines += [f"  +{v['at']:7.2f}s  {v['kind']:<20} {v['detail']}" for v in report["violations"]]
    if report["short_kinds"]:
        lines.append(f"not a valid run: fewer than {report['min_per_kind']} of {', '.join(report['short_kinds'])}")
    if report["work"]:
        lines.append(f"files and agent log kept in {report['work']}")
    lines.append("PASS" if report["passed"] else "FAIL")
    return "\n".join(lines)
