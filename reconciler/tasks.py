"""The vocabulary of a plan: engine steps, actions, tasks and the plan itself. Printable data, no
decisions (those are `plan`'s): frozen dataclasses with a stable text, which the tests compare.

An `Action` is one engine call; a `Task` is what one change needs, step by step, with for each
step what undoes a failure there (the rollback of a replacement), and the tasks it comes after;
a `Plan` is the changes and their tasks, in order.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from reconciler import fielddiff
from reconciler.changes import Change, ChangeKind
from reconciler.model import ContainerSpec, Spec


class Step(enum.Enum):
    CREATE_NETWORK = "create network"
    REMOVE_NETWORK = "remove network"
    CREATE_VOLUME = "create volume"
    REMOVE_VOLUME = "remove volume"
    CREATE = "create container"
    START = "start"
    STOP = "stop"
    RENAME = "rename"
    REMOVE = "remove container"
    WAIT = "wait"
    PULL = "pull"
    CHECK = "check"  # a `pull = "newer"` image's manifest HEAD at its registry; the pass pulls it if it moved
    BUILD = "build"
    PUSH = "push"
    WRITE_FILES = "write the secret and config files of"  # before the create or start that mounts them
    POST_START = "run post_start hook"  # one of a container's hooks, run with exec right after it starts
    PRE_STOP = "run pre_stop hook"  # ... right before it is stopped or removed
    REMOVE_ADOPTED = "remove adopted container"  # the unowned container an adoption took over, re-checked first
    UPDATE = "update container"  # the fields of model.IN_PLACE, in place (reconciler.inplace)
    # --target swarm (reconciler.swarm.plan): services, and Swarm's secrets and configs by their
    # engine name; overlay networks use CREATE_NETWORK and REMOVE_NETWORK
    CREATE_SERVICE = "create service"
    UPDATE_SERVICE = "update service"  # Swarm's rolling update, waited for until it completes
    REMOVE_SERVICE = "remove service"
    CREATE_SECRET = "create secret"
    REMOVE_SECRET = "remove secret"
    CREATE_CONFIG = "create config"
    REMOVE_CONFIG = "remove config"


@dataclass(frozen=True)
class Action:
    """One engine call. `target` is a name or an id; `name` the new name of a create or rename.
    `gone_ok`: the call is done when its target no longer exists (a container being retired that
    someone removed meanwhile: its stop, its parking rename and its removal have nothing to do).
    A POST_START or PRE_STOP step runs hook `index` of `spec` in `target` within `timeout` seconds."""

    step: Step
    target: str
    name: str | None = None
    spec: Spec | None = None
    labels: tuple[tuple[str, str], ...] = ()
    condition: str | None = None
    timeout: float | None = None
    gone_ok: bool = False
    index: int = 0  # which of the container's hooks a POST_START or PRE_STOP step runs
    # a REMOVE of a container its name no longer needs (a leftover, the container replaced) is done
    # only while `keeper`, the container that holds the name, still exists (execute.KeeperGone)
    keeper: str | None = None
    # --target swarm: the request body of a create or update (the rendered ServiceSpec, or a
    # network's create options); never printed, never a secret value
    body: Mapping | None = field(default=None, compare=False)
    version: int | None = None  # an UPDATE_SERVICE's observed Version.Index (Swarm refuses a stale one)

    def __str__(self) -> str:
        target = _short(self.target)
        if self.step is Step.PULL:
            return f"pull {target}"
        if self.step is Step.CHECK:
            return f"ask the registry for the digest of {target} (manifest HEAD); pull it if it moved"
        if self.step is Step.BUILD and isinstance(self.spec, ContainerSpec) and self.spec.build is not None:
            return f"build {target} ({self.spec.build.tag.rpartition(':')[2]})"
        if self.step is Step.RENAME:
            return f"rename {target} -> {self.name}"
        if self.step is Step.WAIT:
            return f"wait {target} {self.condition} ({self.timeout:g}s)"
        if self.step is Step.UPDATE_SERVICE and isinstance(self.spec, ContainerSpec) and self.timeout is None:
            return f"{self.step.value} {self.name or target} (a job: Swarm runs it again)"
        if self.step is Step.UPDATE_SERVICE and isinstance(self.spec, ContainerSpec):
            return (f"{self.step.value} {self.name or target} ({_rolling(self.spec)}), "
                    f"wait until it completes (at most {self.timeout:g}s)")
        if self.step in _BY_NAME and self.name:  # a Swarm removal targets an id, printed by name
            return f"{self.step.value} {self.name}"
        if self.step in (Step.POST_START, Step.PRE_STOP):
            return f"{self.step.value} {self.index + 1} in {target} ({self.timeout:g}s)"
        return f"{self.step.value} {target}"


@dataclass(frozen=True)
class Task:
    change: Change
    steps: tuple[Action, ...]
    # rollback[i]: what to run when steps[i] fails (empty: nothing to undo)
    rollback: tuple[tuple[Action, ...], ...] = ()
    after: frozenset[str] = frozenset()
    blocked: str | None = None
    # what runs instead when the engine refuses the first step, an in-place update: the replacement
    fallback: Task | None = None

    @property
    def key(self) -> str:
        return self.change.key

    @property
    def runnable(self) -> bool:
        """Engine calls this pass will make (not blocked, and a change rather than a check)."""
        return not self.blocked and self.change.kind.actionable

    def lines(self, steps: bool) -> list[str]:
        """What a person reads under the change's line: why it is blocked, and with `steps` its
        engine calls, each with the conditional branch that follows when it fails (the rollback)
        or, for a pull or a check, what the pass does after it."""
        lines = [f"    blocked: {self.blocked}"] if self.blocked else []
        if not steps:
            return lines
        for action, undo in zip(self.steps, self.branches, strict=True):
            lines.append(f"    {action}")
            if undo:
                lines.append("      if it fails: " + ", ".join(undo))
            if self.fallback is not None and action.step is Step.UPDATE:
                lines.append(f"      if it is refused: {self.fallback.change.kind.verb} instead")
                lines += [f"    {line}" for line in self.fallback.lines(steps) if not line.startswith("    blocked")]
        if self.then:
            lines.append(f"    then: {self.then}")
        return lines

    @property
    def branches(self) -> tuple[tuple[str, ...], ...]:
        """For each step, the calls that undo a failure there (empty: nothing to undo), as text."""
        padded = (*self.rollback, *[()] * (len(self.steps) - len(self.rollback)))
        return tuple(tuple(str(a) for a in undo) for undo in padded[:len(self.steps)])

    @property
    def then(self) -> str | None:
        """What the pass does after this task: for a pull or a check, plan again."""
        return _AFTER_IMAGE.get(self.change.kind)


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...]
    tasks: tuple[Task, ...]

    @property
    def has_changes(self) -> bool:
        """Anything still different from the desired state, runnable or not (checks are not)."""
        return any(c.kind.pending for c in self.changes)

    @property
    def runnable(self) -> tuple[Task, ...]:
        return tuple(t for t in self.tasks if t.runnable)

    @property
    def blocked(self) -> tuple[str, ...]:
        """Keys of what cannot proceed this pass: conflicts, blocked resources, blocked tasks."""
        tasks = {t.key: t for t in self.tasks}
        return tuple(
            c.key for c in self.changes
            if c.kind in (ChangeKind.CONFLICT, ChangeKind.BLOCKED) or (c.key in tasks and tasks[c.key].blocked)
        )

    def summary(self) -> str:
        counts: dict[ChangeKind, int] = {}
        tasks = {t.key: t for t in self.tasks}
        for change in self.changes:
            if not (change.key in tasks and tasks[change.key].blocked):
                counts[change.kind] = counts.get(change.kind, 0) + 1
        held = sum(1 for t in self.tasks if t.blocked) + counts.pop(ChangeKind.BLOCKED, 0)
        if not self.has_changes:
            checks = counts.get(ChangeKind.CHECK)
            tail = f" ({checks} image check(s))" if checks else ""
            return f"No changes: the engine matches the desired state{tail}."
        parts = [f"{n} to {kind.verb}" for kind, n in counts.items() if kind not in _NOTES]
        parts += [f"{n} {_NOTES[kind]}" for kind, n in counts.items() if kind in _NOTES]
        parts += [f"{held} blocked"] if held else []
        return "Plan: " + ", ".join(parts) + "."

    def text(self, steps: bool = False, paint: Callable[[Change, str], str] = lambda _change, line: line) -> str:
        """The plan as people read it: a line per change (`paint` may colour it), its per-field
        diff (reconciler.fielddiff), what is under it (see Task.lines), the summary last. The one
        renderer of plans."""
        tasks = {task.key: task for task in self.tasks}
        lines = []
        for change in self.changes:
            lines.append(paint(change, str(change)))
            lines += fielddiff.lines(change.diff)
            if change.key in tasks:
                lines += tasks[change.key].lines(steps)
        lines.append(self.summary())
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text(steps=True)


_AFTER_IMAGE = {
    ChangeKind.PULL: "observe and plan again (the image's VOLUME paths become owned volumes)",
    ChangeKind.CHECK: "observe and plan again; if the image moved, replace the containers that use it",
}

_NOTES = {
    ChangeKind.CONFLICT: "conflict(s)", ChangeKind.RETAIN: "retained", ChangeKind.WARN: "left alone",
    ChangeKind.CHECK: "image check(s)",
}


_BY_NAME = frozenset({Step.REMOVE_SERVICE, Step.REMOVE_SECRET, Step.REMOVE_CONFIG, Step.REMOVE_NETWORK})


def _rolling(spec: ContainerSpec) -> str:
    """How Swarm rolls a service's update, as a plan line says it (its `update` table)."""
    update = spec.update
    batch = "all at once" if update.parallelism == 0 else f"{update.parallelism} at a time"
    delay = f", {update.delay:g}s apart" if update.delay else ""
    on_failure = {"rollback": "rolls back", "pause": "pauses", "continue": "continues"}[update.failure_action]
    return f"rolling: {update.order}, {batch}{delay}; Swarm {on_failure} on failure"


def _short(target: str) -> str:
    return target[:12] if len(target) == 64 and all(ch in "0123456789abcdef" for ch in target) else target
