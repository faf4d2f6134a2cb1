"""The events the agent notifies people of, and the payload each one is sent as.

A kind names one moment (docs/notifications.md says when each fires):

    replacement_failed   a replacement failed for a cause outside its new container (a port, a
                         network) and was rolled back; it is retried with backoff
    quarantined          a replacement's new container itself failed (did not start, exited, was
                         not healthy in time) and was rolled back; tried again only when the spec
                         or its image changes, or on `reconciler retry`
    revision_applied     a git revision converged every resource and every file validated
    revision_failed      a git revision was attempted and did not converge
    crash_loop           a container entered a crash loop
    drift_corrected      a pass undid a change made outside the desired state
    drift_found          drift found and left alone (the `alert` drift policy, docs/drift.md)
    engine_unreachable   the engine did not answer for longer than the configured threshold
    approval_waiting     a plan waits for a person's approval (approvals: a later issue)

An event is sent as one flat JSON object (`Notification.payload`).
"""

from __future__ import annotations

from dataclasses import dataclass

REPLACEMENT_FAILED = "replacement_failed"
QUARANTINED = "quarantined"
REVISION_APPLIED = "revision_applied"
REVISION_FAILED = "revision_failed"
CRASH_LOOP = "crash_loop"
DRIFT_CORRECTED = "drift_corrected"
DRIFT_FOUND = "drift_found"
ENGINE_UNREACHABLE = "engine_unreachable"
APPROVAL_WAITING = "approval_waiting"
KINDS = (REPLACEMENT_FAILED, QUARANTINED, REVISION_APPLIED, REVISION_FAILED, CRASH_LOOP, DRIFT_CORRECTED,
         DRIFT_FOUND, ENGINE_UNREACHABLE, APPROVAL_WAITING)


@dataclass(frozen=True)
class Event:
    """One moment, as the loop sees it: `kind` (one of KINDS), `resource` "container/web" (None:
    the agent as a whole, e.g. the engine or a revision), `message` (one line, for people) and
    the git `revision` in force (a short sha; None in directory mode or when not known), and what
    an event of the agent as a whole is `about` (revision_applied, revision_failed: the revision's
    sha; approval_waiting: the plan's id): the rate limit keeps events about different ones apart,
    so a new revision or plan is always told (not in the payload: the message names it)."""

    kind: str
    resource: str | None
    message: str
    revision: str | None = None
    about: str | None = None


@dataclass(frozen=True)
class Notification:
    """An event made ready to send: its `id` ("msg_" and 32 hex digits, the same on every retry,
    so a receiver can drop a copy), the agent's `namespace` and `host`, `time` (ISO 8601 UTC), and
    `suppressed`: how many events of the same kind and resource the rate limit held back before
    this one."""

    id: str
    event: Event
    namespace: str
    host: str
    time: str
    suppressed: int = 0

    def payload(self) -> dict[str, object]:
        """{"id", "kind", "resource", "namespace", "host", "time", "message", "revision", "suppressed"}."""
        event = self.event
        return {"id": self.id, "kind": event.kind, "resource": event.resource, "namespace": self.namespace,
                "host": self.host, "time": self.time, "message": event.message, "revision": event.revision,
                "suppressed": self.suppressed}

    def title(self) -> str:
        """A chat or mail subject: "reconciler on web-1: quarantined container/web"."""
        what = f"{self.event.kind} {self.event.resource}" if self.event.resource else self.event.kind
        return f"reconciler on {self.host}: {what}"

    def body(self) -> str:
        """A chat or mail text: the message, then namespace, revision and what was held back."""
        lines = [self.event.message, f"namespace: {self.namespace}"]
        if self.event.revision:
            lines.append(f"revision: {self.event.revision}")
        if self.suppressed:
            lines.append(f"{self.suppressed} more like it were not sent (rate limit)")
        return "\n".join(lines)
