"""What the control API asks of a running agent, and the answers.

The API's threads `submit` a request and wait for its answer; the loop's thread `take`s every
pending request at the start of a pass, so what the loop owns (its backoff, the rules of its
passes) is only ever touched by the loop. A sync is a pass now with the options a CLI `apply`
passes; a retry forgets a resource's backoff before that pass; an approve or a reject names a
pending plan by its id (`run --approve`, reconciler/agent/approvals.py) and gets its own outcome.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

SYNC = "sync"
RETRY = "retry"
APPROVE = "approve"
REJECT = "reject"


@dataclass
class Request:
    """One call: `kind` SYNC (with `prune_volumes`, `allow_empty`, `adopt`), RETRY (of `key`,
    "kind/name"), APPROVE or REJECT (of `plan_id`). `answer` holds the pass's result once `done`
    is set; `outcome` an approve's or reject's own (`approvals.Outcome`), set by the pass."""

    kind: str
    prune_volumes: bool = False
    allow_empty: bool = False
    adopt: frozenset[str] = frozenset()  # what `apply --adopt` names (PlanOptions.adopt)
    key: str = ""
    plan_id: str = ""
    outcome: Any = None
    done: threading.Event = field(default_factory=threading.Event)
    answer: dict[str, Any] | None = None

    def wait(self, timeout: float) -> dict[str, Any] | None:
        """The answer, or None when the pass did not end within `timeout` seconds."""
        return self.answer if self.done.wait(timeout) else None


class Requests:
    """A thread-safe queue of pending requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[Request] = []

    def put(self, request: Request) -> None:
        with self._lock:
            self._pending.append(request)

    def take(self) -> list[Request]:
        with self._lock:
            taken, self._pending = self._pending, []
            return taken


def answer_all(taken: list[Request], answer: dict[str, Any]) -> None:
    for request in taken:
        request.answer = answer
        request.done.set()
