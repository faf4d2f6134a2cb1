"""What the agent has told of resources' states, kept in the state directory: a crash loop or a
drift found is told once, when a resource enters that state, and again only after it left it,
even when the agent restarted in between (docs/notifications.md).

The record holds, per resource told of, the state and the spec hash it was told with. A resource
leaves a told `drifted` as soon as a pass finds it in another state (drift is read afresh on
every pass, a restart's first pass included); while the agent is suspended every pending change
shows as drifted and nothing new is told, so only drifts told before stay told. A resource leaves
a told `crashloop` when its spec changes, or once it has been converged for STABLE_AFTER seconds
on end (recovered, as `accounting` counts it): a restarted agent sees a container that is still
crash-looping converged and pending in turn before it counts the loop again, and must not tell
it again. A resource no longer declared is forgotten.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import structlog

from reconciler.agent.accounting import STABLE_AFTER
from reconciler.agent.statedir import StateDir
from reconciler.agent.status import ResourceReport
from reconciler.model import resource_key

log = structlog.get_logger("reconciler.notify")

CRASHLOOP, DRIFTED = "crashloop", "drifted"


@dataclass
class Told:
    """The record, read from `store` (None: kept in memory only) and written when it changes;
    times given to `news` are on one monotonic clock."""

    store: StateDir | None = None
    recovered_after: float = STABLE_AFTER  # seconds converged on end before a told crash loop is over
    _told: dict[str, dict] = field(default_factory=dict)
    _converged_since: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.store is not None:
            self._told = self.store.told()

    def news(self, reports: Iterable[ResourceReport], hashes: Mapping[str, str], now: float,
             drift_found: bool = True) -> list[ResourceReport]:
        """The reports (every declared resource's, after a pass) of resources now in a crash loop,
        or drifted with `drift_found` (False: the agent is suspended), that were not told so
        already; they are told from now on. `hashes`: "kind/name" -> its spec hash."""
        news, told = [], {}
        for r in reports:
            key = resource_key(r.kind, r.name)
            entry, spec = self._told.get(key), hashes.get(key)
            if r.state == "converged":
                self._converged_since.setdefault(key, now)
            else:
                self._converged_since.pop(key, None)
            if r.state == CRASHLOOP or (r.state == DRIFTED and drift_found):
                if entry != {"state": r.state, "spec_hash": spec}:
                    news.append(r)
                told[key] = {"state": r.state, "spec_hash": spec}
            elif entry is not None and self._still(entry, r.state, spec, self._converged_since.get(key), now):
                told[key] = entry
        if told != self._told:
            self._told = told
            self._save()
        return news

    def _still(self, entry: Mapping, state: str, spec: str | None, converged_since: float | None, now: float) -> bool:
        """Whether a resource told of (`entry`) in `state` now has not left the state it was told in."""
        if entry.get("spec_hash") != spec:
            return False
        if entry.get("state") == DRIFTED:
            return state in (DRIFTED, "unknown", "stalled")  # still drifted, or not read this pass
        return converged_since is None or now - converged_since < self.recovered_after

    def _save(self) -> None:
        if self.store is None:
            return
        try:
            self.store.save_told(self._told)
        except OSError as error:
            log.warning("notifications.record_failed", directory=str(self.store.path), error=str(error))
