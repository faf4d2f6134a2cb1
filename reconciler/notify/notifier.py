"""The notifier: takes the loop's events without ever blocking it, and delivers them in threads.

`notify(event, secrets)` redacts the event (`redact`), applies the rate limit (`ratelimit`) and
puts it in the bounded queue of each target that takes its kind: every target has a queue and a
worker thread of its own (a `_Lane`), so a slow or down target delays only its own notifications.
A full queue drops the notification for that target, counted in
`reconciler_notifications_dropped_total{reason="overflow"}` (held back by the rate limit:
`reason="rate_limited"`). A worker retries a failed delivery with a doubling backoff up to ATTEMPTS
times (not once shutting down); each delivery ends counted in
`reconciler_notifications_total{target,outcome}` (outcome sent or failed).
`drain(deadline)`, at SIGTERM, starts the shutdown's allowance: from then on no failed delivery is
retried, and the workers send what is queued (and what the pass in flight still notifies) for at
most `deadline` seconds; an attempt made then waits for its answer no longer than what is left of
it. `stop()`, once the loop has ended, waits for the workers until that same deadline (it drains
first, when nothing did), and returns at it even while an attempt that began before is still
waiting (the workers are daemon threads): the bound is measured from SIGTERM, not from the end of
the rest of the shutdown.
"""

from __future__ import annotations

import dataclasses
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
from reconciler.notify.targets import TIMEOUT, DeliveryError, Target

log = structlog.get_logger("reconciler.notify")

QUEUE_SIZE = 100  # notifications waiting to be sent, per target
ATTEMPTS = 4  # deliveries tried per notification and target
FIRST_RETRY = 1.0  # seconds before the second attempt; doubled for each one after
STOP_DEADLINE = 5.0  # seconds the workers may drain the queues on shutdown, from SIGTERM (`drain`)


class _Lane:
    """One target's queue and the worker thread that sends it."""

    def __init__(self, target: Target, queue_size: int, work: Callable[[_Lane], None]) -> None:
        self.target = target
        self.queue: queue.Queue[Notification] = queue.Queue(maxsize=queue_size)
        self.thread = threading.Thread(target=work, args=(self,), name=f"notifier-{target.name}", daemon=True)


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
        self._lanes = tuple(_Lane(target, queue_size, self._work) for target in self.targets)
        self._stopping = threading.Event()  # draining: no more retries
        self._closed = threading.Event()  # stopped: a worker ends once its queue is empty
        self._deadline = float("inf")  # monotonic time after which the workers give up

    def wants(self, kind: str) -> bool:
        """Whether any target takes events of `kind`."""
        return any(kind in target.events for target in self.targets)

    def notify(self, event: Event, secrets: Collection[str] = ()) -> None:
        """Queue `event` for each target that takes its kind, its message redacted of `secrets`;
        never blocks, never raises."""
        if not self.wants(event.kind):
            return
        suppressed = self._limit.admit(event.kind, event.resource, self._monotonic(), event.about)
        if suppressed is None:
            self.metrics.notifications_dropped.labels("rate_limited").inc()
            return
        clean = dataclasses.replace(event, message=redact(event.message, secrets))
        now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        notification = Notification(f"msg_{uuid.uuid4().hex}", clean, self.namespace, self.host, now, suppressed)
        for lane in self._lanes:
            if event.kind not in lane.target.events:
                continue
            try:
                lane.queue.put_nowait(notification)
            except queue.Full:
                self.metrics.notifications_dropped.labels("overflow").inc()
                log.warning("notification.dropped", target=lane.target.name, kind=event.kind,
                            resource=event.resource, reason="queue full")

    def start(self) -> None:
        for lane in self._lanes:
            lane.thread.start()

    def drain(self, deadline: float = STOP_DEADLINE) -> None:
        """The shutdown began (SIGTERM): what is queued, and queued from now on, is sent for at
        most `deadline` seconds from now, without retries. Only the first call sets the deadline."""
        if not self._stopping.is_set():
            self._deadline = self._monotonic() + deadline
            self._stopping.set()

    def stop(self, deadline: float = STOP_DEADLINE) -> None:
        """Let the workers send what is queued until the deadline `drain` set (`deadline` seconds
        from now when nothing drained before), then return."""
        self.drain(deadline)
        self._closed.set()
        for lane in self._lanes:
            if lane.thread.is_alive():
                lane.thread.join(max(0.0, self._deadline - self._monotonic()))
        for lane in self._lanes:
            if not lane.queue.empty():
                log.warning("notifications.unsent", target=lane.target.name, count=lane.queue.qsize())

    def _left(self) -> float:
        """Seconds until the deadline (inf until `drain`)."""
        return self._deadline - self._monotonic()

    def _work(self, lane: _Lane) -> None:
        while self._left() > 0:
            try:
                notification = lane.queue.get(timeout=0.2)
            except queue.Empty:
                if self._closed.is_set():
                    return
                continue
            self._deliver(lane.target, notification)

    def _deliver(self, target: Target, notification: Notification) -> None:
        """Send to one target, retrying with backoff, each attempt given at most TIMEOUT seconds
        and never past the deadline; counted either way."""
        delay = self.first_retry
        last = f"{target.name}: the shutdown's deadline passed"
        for attempt in range(1, ATTEMPTS + 1):
            timeout = min(TIMEOUT, self._left())
            if timeout <= 0:
                break
            try:
                target.send(notification, timeout)
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
