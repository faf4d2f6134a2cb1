"""Rollback-aware retries: which failed replacements are quarantined, and while when. Pure.

A replacement whose new container itself failed (it did not start, exited, or failed its health
gate) and was rolled back is quarantined for that spec hash plus the image id it resolved to: the
old container keeps serving, and the replacement is tried again only when the desired spec or the
image changes, or the user asks (`reconciler retry`). A cause outside the new container (a pull, a
port taken, a network, a dependency: none fails the new container's start or wait, or the task
was skipped) is not quarantined: it keeps its backoff retries.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

from reconciler.changes import ChangeKind
from reconciler.execute import TaskResult
from reconciler.model import DesiredState, resource_key, spec_hash
from reconciler.ownership import logical_name
from reconciler.tasks import Step
from runtime.base import ObservedContainer

# what an engine says when the cause lies outside the new container itself (lower case)
OUTSIDE = ("port is already allocated", "address already in use", "network")
_CONTAINER_PREFIX = re.compile(r"^container [0-9a-f]{12} ")


@dataclass(frozen=True)
class Quarantine:
    """One quarantined replacement: `key` "container/web", the `spec_hash` (sha256 hex) and
    `image_id` ("" when the engine had none) it failed with, the git `revision` in force (None in
    directory mode), the `reason` ("not healthy after 60s") and `since` (unix time)."""

    key: str
    spec_hash: str
    image_id: str
    revision: str | None
    reason: str
    since: float

    @property
    def message(self) -> str:
        """"revision abc123 failed for web: not healthy after 60s; running the previous container"
        (without a revision, "spec 1a2b3c4d5e6f failed for web: ...")."""
        return self.told("running")

    def told(self, previous: str) -> str:
        """`message`, true to the state of the previous container (`previous_states`): "...; the
        previous container is exited, not serving" when it is not running (stopped by hand)."""
        who = f"revision {self.revision}" if self.revision else f"spec {self.spec_hash[:12]}"
        name = self.key.split("/", 1)[1]
        kept = "running the previous container" if previous == "running" else (
            f"the previous container is {previous}, not serving")
        return f"{who} failed for {name}: {self.reason}; {kept}"

    def record(self) -> dict:
        """As kept in the state directory (without the key, which names the record)."""
        fields = asdict(self)
        del fields["key"]
        return fields

    @classmethod
    def from_record(cls, key: str, record: Mapping) -> Quarantine:
        """Raises KeyError or TypeError for a record that lacks a field."""
        return cls(key, str(record["spec_hash"]), str(record["image_id"]), record["revision"], str(record["reason"]),
                   float(record["since"]))


def own_failure(result: TaskResult) -> str | None:
    """Why the new container of a replacement failed, when `result` is that failure and it was
    rolled back ("exited with code 1 while waiting for running", "not healthy after 60s"); None
    for anything else: a success, a skip, another kind of change, a step that is not the new
    container's start or wait, a run-to-completion container's run, a failed rollback, or an
    error whose cause lies outside the container (a port, a network: see OUTSIDE)."""
    change, step, error = result.task.change, result.failed_step, result.error or ""
    if result.ok or result.skipped or not result.rolled_back or step is None:
        return None
    if change.kind is not ChangeKind.RECREATE or change.resource != "container" or not change.current:
        return None
    if step.step not in (Step.START, Step.WAIT) or step.target == change.current[0] or step.condition == "completed":
        return None
    if any(words in error.lower() for words in OUTSIDE):
        return None
    return _CONTAINER_PREFIX.sub("", error) or "failed"


def previous_states(containers: Iterable[ObservedContainer]) -> dict[str, str]:
    """"container/NAME" -> the engine's state of the container that holds NAME ("running",
    "exited", ...; the one a quarantined replacement keeps)."""
    return {resource_key("container", c.name): c.state for c in containers if logical_name(c.labels, c.name) == c.name}


def quarantines(results: Iterable[TaskResult], images: Mapping[str, str], revision: str | None,
                now: float) -> dict[str, Quarantine]:
    """The quarantines a pass's `results` call for, by key; `images` maps an image reference to
    the id the engine resolved it to after the pass; `now` is unix time."""
    found = {}
    for result in results:
        reason = own_failure(result)
        spec = result.task.change.spec
        if reason is not None and spec is not None:
            found[result.task.key] = Quarantine(result.task.key, spec_hash(spec), images.get(spec.image, ""),
                                                revision, reason, now)
    return found


def lifted(records: Mapping[str, Quarantine], desired: DesiredState, images: Mapping[str, str]) -> frozenset[str]:
    """Keys of the quarantines that no longer apply: the resource is no longer declared, its
    desired spec hash differs (an edit, a new commit), or its image now resolves to another id
    (a moved tag; an image `images` does not know yet changes nothing)."""
    gone = set()
    for key, record in records.items():
        spec = desired.containers.get(key.split("/", 1)[1]) if key.startswith("container/") else None
        if spec is None or spec_hash(spec) != record.spec_hash:
            gone.add(key)
        elif images.get(spec.image, record.image_id) != record.image_id:
            gone.add(key)
    return frozenset(gone)
