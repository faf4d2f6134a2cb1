"""The oracle: what must hold, judged from the engine's recorded events and its state at the end.

1. No create or destroy of a container (or of the network or volume) whose file was invalid at
   that moment. Grace: an event less than GRACE seconds after the file broke is not counted, since
   a pass that read the file before it broke may still be executing (a replacement takes about
   0.5 s here, plus `update.monitor`, 1 s by default, before the old container goes; more on
   Podman). The campaign's own `docker rm -f` destroys are not counted either.
1b. No declared container removed: a destroy that leaves a declared name with no container at all
   (a replacement destroys the old one only once the new one exists). The campaign never takes a
   declaration away (a broken file keeps its last valid content in force), so a removal is always
   wrong, whenever it comes: while another file is broken, or from a pass that read a broken
   file and acted after it was fixed.
2. At the end: exactly one container per declared name, under that name and running; no
   leftovers (`--next-`/`--prev-` or undeclared owned containers); one network of its name.
3. The owned volume's marker file reads as it did at the start, and the volume was never destroyed.
4. The unowned container and volume: no event on them, both still there, the container running.
5. The agent never exits by itself (the campaign records that as it happens, see agent.py).
6. Convergence within CONVERGE_SECONDS once the faults stop (see campaign.py).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import docker

from bench.chaos.agent import RECONCILER
from bench.chaos.desired import DesiredDir, File
from bench.chaos.events import LABEL_MANAGED, LABEL_NAME, Event

GRACE = 2.5
CONVERGE_SECONDS = 30.0
TOUCHING = ("create", "destroy")


@dataclass(frozen=True)
class Violation:
    """`time` in unix seconds; `kind`: invalid-file-touched, declared-removed, end-state, volume-data,
    unowned-touched, agent-exit, second-agent, no-convergence, or recording-lost (the oracle went blind)."""

    time: float
    kind: str
    detail: str


def touched_while_invalid(events: list[Event], desired: DesiredDir, removed: set[str],
                          grace: float = GRACE) -> list[Violation]:
    """Checks 1 and 1b, at most one violation per event; `removed`: ids the campaign removed itself."""
    sources = desired.source_of()
    standing: dict[str, set[str]] = {name: set() for name in desired.containers()}  # name -> ids
    found = []
    for event in events:
        ours = event.type == "container" and event.logical in standing
        if ours and event.action == "create":
            standing[event.logical].add(event.id)
        if ours and event.action == "destroy":
            standing[event.logical].discard(event.id)
        if event.action not in TOUCHING or event.id in removed or event.logical not in sources:
            continue
        file = sources[event.logical]
        broken = _broken_at(desired.files[file], event.time, grace)
        if broken is not None:
            found.append(Violation(event.time, "invalid-file-touched",
                                   f"{event.describe()} while {file} was invalid ({broken[1]}, "
                                   f"{event.time - broken[0]:.1f}s after it broke)"))
        elif ours and event.action == "destroy" and not standing[event.logical]:
            found.append(Violation(event.time, "declared-removed",
                                   f"{event.describe()} left {event.logical} without a container; {file} "
                                   "declares it"))
    return found


def _broken_at(file: File, moment: float, grace: float) -> tuple[float, str] | None:
    """(when it broke, how) if `file` was invalid at `moment`, past the grace window; else None."""
    for broken, fixed, kind in file.broken:
        if broken + grace <= moment < fixed:
            return broken, kind
    return None


def unowned_touched(events: list[Event], names: tuple[str, ...]) -> list[Violation]:
    return [Violation(e.time, "unowned-touched", e.describe()) for e in events if e.name in names]


def volume_destroyed(events: list[Event], volume: str) -> list[Violation]:
    return [Violation(e.time, "volume-data", e.describe())
            for e in events if e.type == "volume" and e.name == volume and e.action == "destroy"]


def end_state(client: docker.DockerClient, namespace: str, desired: DesiredDir, now: float) -> list[Violation]:
    """Check 2 on the engine as it is now."""
    owned = client.containers.list(all=True, ignore_removed=True, filters={"label": f"{LABEL_MANAGED}={namespace}"})
    problems = []
    for name in desired.containers():
        standing = [x for x in owned if x.labels.get(LABEL_NAME) == name]
        shown = ", ".join(f"{x.name} ({x.status})" for x in standing) or "none"
        if len(standing) != 1 or standing[0].name != name or standing[0].status != "running":
            problems.append(f"{name}: {shown}")
    declared = set(desired.containers())
    problems += [f"leftover {x.name} ({x.status})" for x in owned if x.name not in declared]
    networks = client.networks.list(names=[desired.network])
    if len([n for n in networks if n.name == desired.network]) != 1:
        problems.append(f"{len(networks)} networks named {desired.network}")
    return [Violation(now, "end-state", problem) for problem in problems]


def read_marker(client: docker.DockerClient, container: str) -> str | None:
    """The marker file in the owned volume, read through its container; None if it cannot be read."""
    try:
        code, output = client.containers.get(container).exec_run(["cat", "/data/marker"])
    except docker.errors.APIError:
        return None
    return output.decode().strip() if code == 0 else None


def unowned_present(client: docker.DockerClient, container: str, volume: str, now: float) -> list[Violation]:
    problems = []
    try:
        if client.containers.get(container).status != "running":
            problems.append(f"{container} is not running")
    except docker.errors.NotFound:
        problems.append(f"{container} is gone")
    try:
        client.volumes.get(volume)
    except docker.errors.NotFound:
        problems.append(f"{volume} is gone")
    return [Violation(now, "unowned-touched", problem) for problem in problems]


def plan_exit(directory: Path, namespace: str) -> tuple[int, str]:
    """`reconciler plan --detailed-exitcode`: (0 converged, 2 changes, 1 error; its output)."""
    done = subprocess.run([RECONCILER, "plan", str(directory), "--namespace", namespace, "--detailed-exitcode"],
                          capture_output=True, text=True, timeout=60)
    return done.returncode, (done.stdout + done.stderr).strip()
