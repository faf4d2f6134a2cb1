"""Following a git repository: fetch on a poll interval and when asked, check out what is new.

A `Follower` runs `GitSource.fetch` in a thread of its own, every `poll` seconds and at once when
`request()`ed (the webhook, SIGHUP); the loop's thread calls `fetch_now()` for an API sync, so
the sync's pass reads what the remote holds at that moment. A new revision is checked out (the
source verifies it and switches its `current` link atomically) and wakes the loop with
`revision:<short sha>`. The loop never waits for the network: it reads the checkout in force.

What the follower tells the status (`state()`): the revision last fetched and when, the last
fetch error (messages from `source.git` are masked: no credential), and the revision refused
(verification, a rewind, submodules or LFS, `--path` missing) with why. A refused revision is not checked out
again until the remote moves to another one; a fetch that fails keeps the revision in force.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog

from reconciler.agent.timestamps import iso
from reconciler.source.git import GitError, mask_url
from reconciler.source.repository import GitSource, Revision

log = structlog.get_logger("reconciler.agent")

@dataclass(frozen=True)
class Refused:
    sha: str
    reason: str


class Follower:
    """Keeps `source` fetched. `on_revision(reason)` is called (from the follower's thread or the
    caller's) when a new revision is in force, one is refused, or a fetch fails otherwise than the last one;
    `count(outcome)` with each fetch's outcome (`new`, `unchanged`, `refused`, `failed`), for the
    metrics."""

    def __init__(self, source: GitSource, poll: float, on_revision: Callable[[str], None],
                 count: Callable[[str], None] = lambda _outcome: None,
                 clock: Callable[[], float] = time.time) -> None:
        self.source = source
        self.poll = poll
        self._on_revision = on_revision
        self._count = count
        self._clock = clock
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # one fetch at a time
        self._thread: threading.Thread | None = None
        self.fetched: Revision | None = None
        self.fetched_at: float | None = None
        self.error: str | None = None
        self.refused: Refused | None = None
        self.tried = False  # whether a fetch has ended since the start
        self.untrusted: Refused | None = None  # the revision in force at start, when verification refuses it

    def start(self) -> None:
        log.info("git.following", **self.describe())
        self._thread = threading.Thread(target=self._follow, name="git-follow", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)

    def request(self) -> None:
        """Fetch as soon as the follower's thread can (never blocks the caller)."""
        self._wake.set()

    def _follow(self) -> None:
        while not self._stopping.is_set():
            try:
                self.fetch_now()
            except Exception as error:  # the follower must outlive any surprise; the next poll tries again
                log.error("git.follow_crashed", error=f"{type(error).__name__}: {error}", exc_info=error)
            self._wake.wait(self.poll)
            self._wake.clear()

    def fetch_now(self) -> Revision | None:
        """Fetch, and check out a revision that is new and not refused; the revision checked out,
        or None. Never raises for git: a failure is kept in `error` and logged once per message.
        A new revision, a new failure and a refusal wake the loop (`on_revision`), once `tried`
        says a fetch has ended (a pass before it has nothing to read, and waits for it)."""
        with self._lock:
            if not self.tried:
                self._check_in_force()
            revision, wake = self._attempt()
            self.tried = True
        if wake is not None:
            self._on_revision(wake)
        return revision

    def _check_in_force(self) -> None:
        """At start: the revision a previous run left in force must pass the verification this run
        is given (it may have been checked out without); until a verified one arrives, it is
        `untrusted` and the agent applies nothing."""
        current = self.source.current
        if current is None:
            return
        try:
            self.source.verify(current)
        except GitError as error:
            self.untrusted = Refused(current.sha, str(error))
            log.error("git.revision_in_force_refused", revision=current.short, reason=str(error))

    def _attempt(self) -> tuple[Revision | None, str | None]:
        """(the revision checked out, or None; why to wake the loop, or None)."""
        try:
            fetched = self.source.fetch()
        except GitError as error:
            return None, self._failed(str(error))
        self.fetched, self.fetched_at = fetched, self._clock()
        if self.error is not None:
            log.info("git.fetch_recovered", revision=fetched.short)
            self.error = None
        current = self.source.current
        if (current is not None and current.sha == fetched.sha) or (
                self.refused is not None and self.refused.sha == fetched.sha):
            self._count("unchanged")
            return None, None
        try:
            self.source.check_out(fetched)
        except GitError as error:  # this revision's: unsigned, a rewind, submodules, LFS, no --path
            self.refused = Refused(fetched.sha, str(error))
            log.error("git.revision_refused", revision=fetched.short, reason=str(error))
            self._count("refused")
            return None, f"refused:{fetched.short}"
        except OSError as error:
            return None, self._failed(f"checking out {fetched.short}: {error}")
        self.refused = self.untrusted = None  # (the source logs `git.checked_out`)
        self._count("new")
        return fetched, f"revision:{fetched.short}"

    def _failed(self, message: str) -> str | None:
        """Keep and count a failure; "fetch:failed" when it differs from the last one (a pass then
        reports it: before any revision, as its error), else None."""
        changed = message != self.error
        self.error = message
        self._count("failed")
        if not changed:
            return None
        log.warning("git.fetch_failed", error=message)
        return "fetch:failed"

    def describe(self) -> dict[str, Any]:
        """What is followed: the URL (masked), the ref, the path, the poll interval in seconds."""
        source = self.source
        return {"kind": "git", "url": mask_url(source.url), "ref": source.ref, "path": source.path,
                "poll_seconds": self.poll}

    def state(self) -> dict[str, Any]:
        """What the status shows of the fetches (see the module docstring); read without waiting
        for a fetch in flight."""
        fetched, at, refused, untrusted = self.fetched, self.fetched_at, self.refused, self.untrusted
        return {
            "fetched": fetched.sha if fetched else None,
            "fetched_at": iso(at) if at is not None else None,
            "fetch_error": self.error,
            "refused": {"revision": refused.sha, "reason": refused.reason} if refused else None,
            "untrusted": {"revision": untrusted.sha, "reason": untrusted.reason} if untrusted else None,
        }
