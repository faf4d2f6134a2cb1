"""`pull = "newer"`: when an image is due for a registry check, and what the registry's answer means.

The registry's side is the digest a manifest HEAD gives for the tag now (`runtime.registry`). The
local side is, in this order (issue 16):
- the digest recorded at this image's last check, when the local image is still the one it stood
  for (same image id);
- else the image's `RepoDigests` entry for the reference's repository (what the engine recorded
  when it pulled or pushed it);
- else nothing: an image imported, built or only tagged, whose first check records the registry's
  digest and never replaces anything.

Then: the same digest -> unchanged; no local side -> recorded; another digest -> moved: the pass
pulls the image and replaces the containers that use it, with the reason "image moved: OLD -> NEW".
`pull_interval` spaces the checks of each image: one is due when that long has passed since its
last check (state directory `images.json`, so the spacing survives a restart).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

import structlog

from reconciler.model import DesiredState
from runtime.registry import Login, RegistryClient, RegistryError, repo_digest

log = structlog.get_logger("reconciler.images")

UNCHANGED, RECORDED, MOVED = "unchanged", "recorded", "moved"


@dataclass(frozen=True)
class Verdict:
    """What one check found: `outcome` is UNCHANGED, RECORDED or MOVED; digests are "sha256:..."."""

    ref: str
    outcome: str
    remote: str
    local: str | None = None

    @property
    def moved(self) -> str:
        """The reason detail of a replacement: "OLD -> NEW"."""
        return f"{self.local} -> {self.remote}"


def decide(ref: str, remote: str, image_id: str, repo_digests: tuple[str, ...], record: Mapping | None) -> Verdict:
    """The verdict of a check (the table in the module docstring). `record` is the last check's
    {"image_id", "digest"} for `ref`, or None."""
    if record and record.get("image_id") == image_id:
        local = record.get("digest")
    else:
        local = repo_digest(ref, repo_digests)
    if local is None:
        return Verdict(ref, RECORDED, remote)
    return Verdict(ref, UNCHANGED if local == remote else MOVED, remote, local)


DUE_EARLY = 0.25  # seconds: a pass that starts this much before the interval ends checks all the same
RETRY_FIRST, RETRY_CAP = 1.0, 300.0  # seconds before a failed check is tried again, doubling to the cap


def due(record: Mapping | None, interval: float, now: float) -> bool:
    """Whether an image last checked as `record` says ({"checked_at": unix time}) is due at `now`:
    `interval` seconds after that check, less DUE_EARLY (the agent's passes drift by milliseconds;
    without it a check with `pull_interval` equal to the pass period waited a whole pass more)."""
    return record is None or now - float(record.get("checked_at", 0.0)) >= interval - DUE_EARLY


class Records(Protocol):
    """Where the check records live: the agent's state directory (`StateDir`) is one."""

    def image_checks(self) -> dict[str, dict]: ...

    def save_image_checks(self, records: Mapping[str, Mapping]) -> None: ...

    def build_bases(self) -> dict[str, dict]: ...

    def save_build_bases(self, records: Mapping[str, Mapping]) -> None: ...


class MemoryRecords:
    """Records kept for the life of the process only (a CLI pass without a state directory)."""

    def __init__(self) -> None:
        self._records: dict[str, dict] = {}
        self._build_bases: dict[str, dict] = {}  # the base checks of `build.pull = true` (images.bases)

    def image_checks(self) -> dict[str, dict]:
        return dict(self._records)

    def save_image_checks(self, records: Mapping[str, Mapping]) -> None:
        self._records = {ref: dict(record) for ref, record in records.items()}

    def build_bases(self) -> dict[str, dict]:
        return dict(self._build_bases)

    def save_build_bases(self, records: Mapping[str, Mapping]) -> None:
        self._build_bases = {tag: dict(record) for tag, record in records.items()}


class DigestSource(Protocol):
    """What a check needs of the engine: `Runtime.image_digests`."""

    def image_digests(self, ref: str) -> tuple[str, ...]: ...


def _intervals(desired: DesiredState) -> dict[str, float]:
    """Each `newer` image reference -> the shortest `pull_interval` of the containers using it."""
    intervals: dict[str, float] = {}
    for spec in desired.containers.values():
        if spec.pull == "newer":
            intervals[spec.image] = min(intervals.get(spec.image, spec.pull_interval), spec.pull_interval)
    return intervals


class NewerChecks:
    """The `newer` checks of an agent or a CLI pass: one registry client (its session and tokens
    kept across passes), the records, and where credentials come from (`credentials(ref)`, e.g.
    `reconciler.images.credentials.credentials_for`; None: anonymous)."""

    def __init__(self, client: RegistryClient | None = None, records: Records | None = None,
                 credentials: Callable[[str], Login | None] = lambda ref: None,
                 clock: Callable[[], float] = time.time) -> None:
        self.client = client or RegistryClient()
        self.records = records or MemoryRecords()
        self.credentials = credentials
        self.clock = clock
        self.failures: dict[str, tuple[int, float]] = {}  # ref -> (failed checks in a row, when the last failed)

    def retry_at(self, ref: str) -> float:
        """When a reference whose checks keep failing may be checked again (unix time; 0: now)."""
        count, at = self.failures.get(ref, (0, 0.0))
        return at + min(RETRY_CAP, RETRY_FIRST * 2 ** (count - 1)) if count else 0.0

    def not_due(self, desired: DesiredState) -> frozenset[str]:
        """The `newer` references whose interval (the shortest of the containers using it) has
        not passed since their last check."""
        records, now = self.records.image_checks(), self.clock()
        return frozenset(ref for ref, interval in _intervals(desired).items()
                         if not due(records.get(ref), interval, now) or now < self.retry_at(ref))

    def next_due_in(self, desired: DesiredState) -> float | None:
        """Seconds until the next `newer` check with a `pull_interval` comes due (0 when one is due
        now), a failing one waiting its retry; None: none (an image checked every pass, interval 0,
        needs no wake). The agent wakes for it, so a `pull_interval` shorter than its resync period
        is kept."""
        records, now = self.records.image_checks(), self.clock()
        waits = [max(0.0, self.retry_at(ref) - now,
                     float(records.get(ref, {}).get("checked_at", 0.0)) + interval - DUE_EARLY - now)
                 for ref, interval in _intervals(desired).items() if interval > 0]
        return min(waits, default=None)

    def check(self, refs: Iterable[str], images: Mapping[str, str],
              engine: DigestSource) -> dict[str, Verdict | RegistryError]:
        """Ask the registry about each of `refs` (present locally: `images` maps each to its image
        id) and record what it said; a reference the registry could not answer maps to its error."""
        records = self.records.image_checks()
        found: dict[str, Verdict | RegistryError] = {}
        for ref in refs:
            started = time.monotonic()
            try:
                remote = self.client.digest(ref, self.credentials(ref))
            except RegistryError as error:
                count = self.failures.get(ref, (0, 0.0))[0] + 1
                self.failures[ref] = (count, self.clock())
                log.warning("image.check_failed", ref=ref, error=str(error),
                            retry_in=round(self.retry_at(ref) - self.clock(), 1))
                found[ref] = error
                continue
            self.failures.pop(ref, None)
            verdict = decide(ref, remote, images[ref], engine.image_digests(ref), records.get(ref))
            # the digest the local image stands for: a moved one stays at its old digest until pulled
            held = verdict.local if verdict.outcome == MOVED else remote
            records[ref] = {"checked_at": self.clock(), "image_id": images[ref], "digest": held}
            log.info("image.checked", ref=ref, outcome=verdict.outcome, digest=remote, local=verdict.local,
                     seconds=round(time.monotonic() - started, 3))
            found[ref] = verdict
        self.records.save_image_checks(records)
        return found

    def pulled(self, ref: str, image_id: str, digest: str) -> None:
        """After a moved image was pulled: its record names the new local image."""
        records = self.records.image_checks()
        records[ref] = {**records.get(ref, {}), "image_id": image_id, "digest": digest}
        self.records.save_image_checks(records)
