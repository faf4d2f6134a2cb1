"""The agent's quarantined replacements and last-applied specs, kept in the state directory.

What is decided lives in `quarantine` (which failures are quarantined, when a quarantine lifts)
and `lastapplied` (a spec as a record without secrets); this module keeps their records between
passes and across restarts, and turns them into a pass's `PlanOptions`: the quarantined keys with
why, and the last-applied spec of each, for healing a container removed by hand; and the last spec
of each container no longer declared, whose `pre_stop` hooks run before its removal.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

import structlog

from reconciler import inplace
from reconciler.agent.lastapplied import CannotRestore, record, restore
from reconciler.agent.lastgood import LastKnownGood
from reconciler.agent.quarantine import Quarantine, lifted, quarantines
from reconciler.agent.statedir import StateDir, StateDirError
from reconciler.converge import PassReport
from reconciler.fielddiff import AppliedRecords
from reconciler.model import LABEL_SPEC_HASH, ContainerSpec, DesiredState, hash_matches, resource_key
from reconciler.ownership import logical_name

log = structlog.get_logger("reconciler.agent")


def secret_values(lastgood: LastKnownGood) -> frozenset[str]:
    """The values of the env file that the files in force use: what a record must never hold."""
    return frozenset().union(*(version.decl.secret_values for version in lastgood.files.values()))


@dataclass(frozen=True)
class InForce:
    """What the records mean for a pass: `quarantined` key -> why (the status's message too),
    `last_applied` key -> the spec to heal with (absent: it cannot be made again), and the
    records the per-field diffs of replacements are computed from (None: none is kept)."""

    quarantined: dict[str, str]
    last_applied: dict[str, ContainerSpec]
    applied_records: AppliedRecords | None = None


class Rollbacks:
    """The records of one agent (or, read only, of the CLI): `store` None keeps them in memory.
    Raises StateDirError when a record in `store` cannot be read."""

    def __init__(self, store: StateDir | None) -> None:
        self.store = store
        saved = store.quarantines() if store is not None else {}
        try:
            self.records = {key: Quarantine.from_record(key, value) for key, value in saved.items()}
        except (KeyError, TypeError, ValueError) as error:
            raise StateDirError(f"{store.path}: not a quarantine record: {error}") from None
        self.applied: dict[str, dict] = store.last_applied() if store is not None else {}
        self.images: dict[str, str] = {}  # image reference -> id, as the last pass observed
        self._key: bytes | None = None
        self._unusable: set[str] = set()  # keys whose last-applied spec cannot be restored, logged once

    def key(self) -> bytes:
        if self._key is None:
            self._key = self.store.hash_key() if self.store is not None else os.urandom(32)
        return self._key

    def quarantined(self, desired: DesiredState, previous: Mapping[str, str] | None = None) -> dict[str, str]:
        """Key -> why, for the quarantines that still apply to `desired` (none is lifted here: see
        `after`); with `previous` (`quarantine.previous_states`), true to the previous container's
        state ("gone" when none holds the name)."""
        gone = lifted(self.records, desired, self.images)
        return {key: q.message if previous is None else q.told(previous.get(key, "gone"))
                for key, q in self.records.items() if key not in gone}

    def in_force(self, desired: DesiredState) -> InForce:
        """The quarantines that still apply to `desired`, with the specs to heal them with."""
        quarantined = self.quarantined(desired)
        specs = {}
        for key in quarantined:
            name = key.split("/", 1)[1]
            found = next((r for r in self.applied.values() if r.get("name") == name), None)
            try:
                if found is None:
                    raise CannotRestore("no last-applied spec is recorded")
                specs[key] = restore(found["spec"], desired.containers.get(name), self.key())
            except CannotRestore as why:
                if key not in self._unusable:
                    log.warning("last_applied.unusable", resource=key, reason=str(why))
                self._unusable.add(key)
        return InForce(quarantined, specs, self.applied_records(desired))

    def applied_records(self, desired: DesiredState) -> AppliedRecords | None:
        """The last-applied records, for the per-field diffs of `desired`'s replacements (its
        secret values hidden with the records' key); None when none is kept."""
        return AppliedRecords(dict(self.applied), desired.secret_values, self.key()) if self.applied else None

    def retired(self, desired: DesiredState) -> dict[str, ContainerSpec]:
        """"container/NAME" -> its last-applied spec, for the recorded containers `desired` no
        longer declares (`PlanOptions.retired`); one whose record hides a secret cannot be made
        again and is left out (its removal runs no `pre_stop` hook)."""
        found = {}
        for entry in self.applied.values():
            name = entry.get("name")
            if not isinstance(name, str) or name in desired.containers:
                continue
            try:
                found[resource_key("container", name)] = restore(entry["spec"], None, self.key())
            except (CannotRestore, KeyError) as why:
                log.info("last_applied.unusable", resource=resource_key("container", name), reason=str(why))
        return found

    def record_applied(self, report: PassReport, desired: DesiredState, secrets: Collection[str],
                       now: float) -> None:
        """Record the last-applied spec of each container that runs its desired spec after a pass
        of the CLI's `apply` (the agent's passes record them in `after`)."""
        applied = self._applied(report, desired, secrets, now)
        if applied != self.applied:
            self.applied = applied
            if self.store is not None:
                self._save("last_applied", lambda: self.store.save_last_applied(applied))

    def after(self, report: PassReport, desired: DesiredState, secrets: Collection[str], revision: str | None,
              now: float, ran: DesiredState | None = None) -> None:
        """Take a pass's outcome: quarantine the replacements whose new container failed, lift
        those that no longer apply, record the last-applied spec of each container that runs its
        desired spec (that of `ran`, when the pass converged towards another state than `desired`:
        the approved files, while an edit waits for approval). `now` is unix time."""
        self.images = dict(report.observed.images)
        entered = quarantines(report.results, self.images, revision, now)
        for key, quarantine in entered.items():
            log.warning("quarantine.entered", resource=key, spec_hash=quarantine.spec_hash[:12],
                        image_id=quarantine.image_id[:19], revision=revision, reason=quarantine.reason)
        gone = lifted({**self.records, **entered}, desired, self.images)
        for key in sorted(gone & self.records.keys()):
            log.info("quarantine.lifted", resource=key, reason="the desired spec or its image changed")
        records = {key: q for key, q in {**self.records, **entered}.items() if key not in gone}
        if records != self.records:
            self.records = records
            self._save_quarantines()
        self.record_applied(report, desired if ran is None else ran, secrets, now)

    def forget(self, key: str) -> None:
        """The user asked for a retry of `key`: its quarantine is lifted."""
        if self.records.pop(key, None) is not None:
            log.info("quarantine.lifted", resource=key, reason="retry asked")
            self._save_quarantines()

    def _save(self, what: str, save: Callable[[], None]) -> None:
        """Write a record; one that cannot be written is logged and kept in memory."""
        try:
            save()
        except OSError as error:
            log.warning(f"{what}.save_failed", directory=str(self.store.path), error=str(error))

    def _save_quarantines(self) -> None:
        if self.store is not None:
            self._save("quarantine", lambda: self.store.save_quarantines(
                {key: q.record() for key, q in self.records.items()}))

    def _applied(self, report: PassReport, desired: DesiredState, secrets: Collection[str],
                 now: float) -> dict[str, dict]:
        """The last-applied records after a pass: one per declared container name, the newest (a
        container that holds its name with the desired spec hash, not recorded yet, replaces it;
        one updated in place, whose limits now are the desired ones, is recorded again)."""
        by_name = {r.get("name"): (cid, r) for cid, r in self.applied.items() if r.get("name") in desired.containers}
        for container in report.observed.containers:
            spec = desired.containers.get(logical_name(container.labels, container.name))
            if (spec is None or container.name != spec.name or not hash_matches(container.labels, spec)
                    or inplace.differences(spec, container, declared_only=bool(report.observed.cannot_update))):
                continue
            applied = record(spec, secrets, self.key())
            if by_name.get(spec.name, ("", {}))[0] == container.id and by_name[spec.name][1].get("spec") == applied:
                continue
            # the hash its label holds: that of the form it was made at (see fielddiff.AppliedRecords)
            by_name[spec.name] = (container.id, {"name": spec.name, "spec_hash": container.labels[LABEL_SPEC_HASH],
                                                 "at": now, "spec": applied})
            log.debug("last_applied.recorded", resource=resource_key("container", spec.name),
                      container=container.id[:12])
        return dict(by_name.values())


def cli_options(store: StateDir, desired: DesiredState) -> Mapping[str, object]:
    """The quarantine and removal options of the CLI's plan and apply, read from `store` (written
    by the agent and by `apply`; the image check is the agent's): {"quarantined": ...,
    "last_applied": ..., "retired": ..., "applied_records": ...}. Raises StateDirError when a
    record cannot be read."""
    rollbacks = Rollbacks(store)
    retired = {}
    if rollbacks.applied:
        retired = {"retired": rollbacks.retired(desired), "applied_records": rollbacks.applied_records(desired)}
    if not rollbacks.records:
        return retired
    force = rollbacks.in_force(desired)
    return {"quarantined": force.quarantined, "last_applied": force.last_applied, **retired}
