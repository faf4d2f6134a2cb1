"""The notifier: takes the loop's events without ever blocking it, and delivers them in a thread.

`notify(event, secrets)` redacts the event (`redact`), applies the rate limit (`ratelimit`) and
puts it in a bounded queue; a full queue drops it, counted in
`reconciler_notifications_dropped_total{reason="overflow"}` (held back by the rate limit:
`reason="rate_limited"`). A worker thread sends each notification to every target that takes
its kind, retrying a failed delivery with a doubling backoff up to ATTEMPTS times (not once shutting
down); each delivery
ends counted in `reconciler_notifications_total{target,outcome}` (outcome sent or failed).
`stop(deadline)` lets the worker drain the queue for at most `deadline` seconds.
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime

import structlog

from reconciler.agent.metrics import Metrics
from reconciler.notify.events import Event, Notification
from reconciler.notify.ratelimit import DEFAULT_WINDOW, RateLimit
from reconciler.notify.redact import redact
from reconciler.notify.targets import DeliveryError, Target

log = structlog.get_logger("reconciler.notify")

QUEUE_SIZE = 100  # notifications waiting to be sent
ATTEMPTS = 4  # deliveries tried per notification and target
FIRST_RETRY = 1.0  # seconds before the second attempt; doubled for each one after
STOP_DEADLINE = 5.0  # seconds the worker may drain the queue on shutdown


class Notifier:
    def __init__(self, targets: Sequence[Target], metrics: Metrics, namespace: str, host: str,
                 window: float = DEFAULT_WINDOW, queue_size: int = QUEUE_SIZE, first_retry: float = FIRST_RETRY,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.targets = tuple(targets)
        self.metrics = metrics
        self.namespace = namespace
        self.host = host
        self.first_retry = first_retry
        self._limit = RateLimit(window)
        self._monotonic = monotonic
        self._queue: queue.Queue[Notification] = queue.Queue(maxsize=queue_size)
        self._stopping = threading.Event()
        self._deadline = float("inf")  # monotonic time after which the worker gives up
        self._worker = threading.Thread(target=self._work, name="notifier", daemon=True)

    def wants(self, kind: str) -> bool:
        """Whether any target takes events of `kind`."""
        return any(kind in target.events for target in self.targets)

    def notify(self, event: Event, secrets: Collection[str] = ()) -> None:
        """Queue `event` for delivery, its message redacted of `secrets`; never blocks, never raises."""
        if not self.wants(event.kind):
            return
        suppressed = self._limit.admit(event.kind, event.resource, self._monotonic())
        if suppressed is None:
            self.metrics.notifications_dropped.labels("rate_limited").inc()
            return
        clean = Event(event.kind, event.resource, redact(event.message, secrets), event.revision)
        now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        notification = Notification(f"msg_{uuid.uuid4().hex}", clean, self.namespace, self.host, now, suppressed)
        try:
            self._queue.put_nowait(notification)
        except queue.Full:
            self.metrics.notifications_dropped.labels("overflow").inc()
            log.warning("notification.dropped", kind=event.kind, resource=event.resource, reason="queue full")

    def start(self) -> None:
        self._worker.start()

    def stop(self, deadline: float = STOP_DEADLINE) -> None:
        """Let the worker send what is queued for at most `deadline` seconds, then return."""
        self._deadline = self._monotonic() + deadline
        self._stopping.set()
        if self._worker.is_alive():
            self._worker.join(deadline + 1.0)
        if not self._queue.empty():
            log.warning("notifications.unsent", count=self._queue.qsize())

    def _work(self) -> None:
        while self._monotonic() < self._deadline:
            try:
                notification = self._queue.get(timeout=0.2)
            except queue.Empty:
                if self._stopping.is_set():
                    return
                continue
            for target in self.targets:
                if notification.event.kind in target.events:
                    self._deliver(target, notification)

    def _deliver(self, target: Target, notification: Notification) -> None:
        """Send to one target, retrying with backoff; counted either way."""
        delay = self.first_retry
        for attempt in range(1, ATTEMPTS + 1):
            try:
                target.send(notification)
            except DeliveryError as error:
                last = str(error)
            except Exception as error:  # a target's library failing must not end the worker
                last = f"{target.name}: {type(error).__name__}"
            else:
                self.metrics.notifications.labels(target.kind, "sent").inc()
                log.info("notification.sent", target=target.name, kind=notification.event.kind,
                         resource=notification.event.resource, id=notification.id)
                return
            if attempt == ATTEMPTS or self._stopping.is_set():  # shutting down: no more waiting
                break
            self._stopping.wait(delay)
            delay *= 2
        self.metrics.notifications.labels(target.kind, "failed").inc()
        log.warning("notification.failed", target=target.name, kind=notification.event.kind,
                    resource=notification.event.resource, id=notification.id, attempts=attempt, error=last)
