"""The agent's side of a git source, pass by pass: which checkout a pass reads, what its bind
mounts are pinned to, and which revision that makes attempted or applied.

A `Checkout` holds a `Follower` (which fetches in a thread of its own) and is asked by the loop:
- `read(fetch)` at the start of a pass: the loader is pointed at the checkout in force, resolved
  once, so a switch during the pass cannot mix two revisions (an API sync fetches first);
- `refresh()`: the files read there, bind sources pinned to their content (`source.pins`), or,
  with no revision to read (none yet, or the one in force untrusted), why nothing is applied;
- `account(...)` at the end of a pass: the revisions (`agent.revisions`), kept in the state
  directory and the metrics, logged when they move, and what is no longer mounted pruned.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from reconciler.agent.follow import Follower
from reconciler.agent.lastgood import LastKnownGood, Refresh
from reconciler.agent.revisions import Revisions, after_pass, file_states, worst
from reconciler.agent.statedir import StateDir, StateDirError
from reconciler.agent.status import ResourceReport, Status
from reconciler.desired.problems import Problem
from reconciler.model import resource_key
from reconciler.source.pins import pin

log = structlog.get_logger("reconciler.agent")

# a resource's state in the status -> what it makes of its file's state (None: nothing)
_FILE_STATE = {"failed": "failed", "crashloop": "failed", "converged": None, "completed": None, "retained": None}


@dataclass
class Checkout:
    follower: Follower
    desired: LastKnownGood
    status: Status
    state_dir: StateDir | None = None
    revisions: Revisions = field(default_factory=Revisions)
    pinned: frozenset[str] = frozenset()  # the content copies the desired state mounts
    held: dict[str, str] = field(default_factory=dict)  # "kind/name" -> why: bind sources not pinned

    @property
    def revision(self) -> str | None:
        """The short sha of the revision the last pass read."""
        return self.revisions.in_force[:12] if self.revisions.in_force else None

    def status_view(self) -> dict[str, Any]:
        """The source's part of the status: what is followed, fetched, attempted and applied."""
        return {**self.follower.describe(), **self.follower.state(), **self.revisions.as_status()}

    def start(self) -> None:
        """The revisions as the last run left them (state directory); the status asks for this
        view; the follower starts fetching."""
        if self.state_dir is not None:
            try:
                self.revisions = Revisions.restored(self.state_dir.revisions())
            except StateDirError as error:
                log.warning("revisions.unreadable", error=str(error))
        self.status.source = self.status_view
        self.follower.start()

    def waiting(self) -> bool:
        """Whether the first fetch has not ended and nothing is checked out: it wakes a pass when
        it ends, either way."""
        return self.follower.source.current is None and not self.follower.tried

    def read(self, fetch: bool) -> None:
        """Point the loader at the checkout in force (fetched first when `fetch`)."""
        if fetch:
            self.follower.fetch_now()
        source = self.follower.source
        current = source.current
        if current is not None:
            checkout = Path(os.path.realpath(source.checkout(current)))
            self.desired.move_to(checkout / source.path, checkout)
            self.revisions = dataclasses.replace(self.revisions, in_force=current.sha)

    def refresh(self) -> Refresh:
        """The desired state this pass applies, pinned; what cannot be pinned is an error of its
        file and holds its container back."""
        follower = self.follower
        if follower.source.current is None or follower.untrusted is not None:
            return self._nothing()
        refresh = self.desired.refresh()
        if refresh.state is None:
            return refresh
        pinned = pin(refresh.state, follower.source)
        self.pinned = pinned.paths
        self.held = dict.fromkeys(pinned.held, "a bind source cannot be pinned (see the errors)")
        return dataclasses.replace(refresh, state=pinned.state, errors=(*refresh.errors, *pinned.problems))

    def _nothing(self) -> Refresh:
        """No revision to read: none checked out yet, or the one in force not trusted; says why."""
        follower = self.follower
        url = follower.describe()["url"]
        untrusted = follower.untrusted
        if untrusted is not None:
            return Refresh(None, (Problem("", None, "", (
                f"the revision of {url} in force, {untrusted.sha[:12]}, is not trusted: {untrusted.reason}; "
                "nothing is applied until a verified revision arrives")),))
        refused = follower.refused
        why = follower.error or (f"revision {refused.sha[:12]} refused: {refused.reason}" if refused
                                 else "the remote has not answered yet")
        return Refresh(None, (Problem("", None, "", f"no revision of {url} checked out yet: {why}"),))

    def account(self, result: str, refresh: Refresh, resources: list[ResourceReport],
                mounted: Collection[str]) -> None:
        """The revisions after a pass with `result` (see `revisions`), kept, logged when they move,
        shown in the metrics; then the checkouts and content copies neither in force, nor pinned,
        nor `mounted` (the host paths containers bind) are pruned."""
        if self.revisions.in_force is None:
            return
        files = {spec.key: spec.source.file for spec in refresh.state.specs()} if refresh.state else {}
        unsettled: dict[str, list[str]] = {}
        for report in resources:
            state = _FILE_STATE.get(report.state, "pending")
            file = files.get(resource_key(report.kind, report.name))
            if state and file:
                unsettled.setdefault(file, []).append(state)
        states = file_states(set(files.values()) | set(refresh.invalid), refresh.invalid,
                             {file: worst(found) for file, found in unsettled.items()})
        before = self.revisions
        attempted = result not in ("suspended", "unavailable", "waiting") and refresh.state is not None
        self.revisions = after_pass(before, before.in_force, attempted, result == "converged", states)
        self._keep(before)
        fetched = self.follower.fetched
        self.status.metrics.set_revisions(self.revisions.applied, self.revisions.attempted,
                                          fetched.sha if fetched else None)
        self.follower.source.prune({*mounted, *self.pinned})

    def _keep(self, before: Revisions) -> None:
        """Save and log the revisions when they moved from `before`."""
        now = self.revisions
        if self.state_dir is not None and now.record() != before.record():
            try:
                self.state_dir.save_revisions(now.record())
            except OSError as error:
                log.warning("revisions.save_failed", directory=str(self.state_dir.path), error=str(error))
        if now.applied != before.applied:
            log.info("git.revision_applied", revision=self.revision)
        elif now.attempted != before.attempted or now.files != before.files:
            log.warning("git.revision_attempted", revision=self.revision,
                        files={f: s for f, s in now.files.items() if s != "applied"})
