"""The notifier: rate limit, redaction, a bounded queue that never blocks, retries, and signing."""

import json
import logging
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from reconciler.agent.metrics import Metrics
from reconciler.notify.events import (
    APPROVAL_WAITING,
    KINDS,
    QUARANTINED,
    REVISION_APPLIED,
    REVISION_FAILED,
    Event,
    Notification,
)
from reconciler.notify.notifier import Notifier
from reconciler.notify.ratelimit import RateLimit
from reconciler.notify.redact import redact
from reconciler.notify.targets import TIMEOUT, AppriseTarget, DeliveryError, WebhookTarget, signed_headers

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class Recorder:
    """A target that keeps what it is sent; it fails its first `failures` deliveries."""

    kind = "webhook"

    def __init__(self, events=(QUARANTINED, REVISION_APPLIED), failures=0):
        self.name = "recorder"
        self.events = frozenset(events)
        self.failures = failures
        self.sent: list[Notification] = []
        self.tries = 0
        self.timeouts: list[float] = []

    def send(self, notification, timeout):
        self.tries += 1
        self.timeouts.append(timeout)
        if self.tries <= self.failures:
            raise DeliveryError("recorder: refused")
        self.sent.append(notification)


class Hanging(Recorder):
    """A target whose deliveries hang until `release` is set (a webhook that does not answer)."""

    def __init__(self):
        super().__init__()
        self.name = "hanging"
        self.release = threading.Event()

    def send(self, notification, timeout):
        self.timeouts.append(timeout)
        self.release.wait(timeout)
        self.sent.append(notification)


def value(metrics, name, **labels):
    return metrics.registry.get_sample_value(name, labels) or 0


def test_rate_limit_admits_one_per_window_and_counts_the_rest():
    limit = RateLimit(window=60)
    assert limit.admit("crash_loop", "container/web", 0) == 0
    assert limit.admit("crash_loop", "container/web", 10) is None
    assert limit.admit("crash_loop", "container/web", 59) is None
    assert limit.admit("crash_loop", "container/web", 61) == 2


def test_rate_limit_keeps_kinds_and_resources_apart():
    limit = RateLimit(window=60)
    assert limit.admit("crash_loop", "container/web", 0) == 0
    assert limit.admit("crash_loop", "container/db", 1) == 0
    assert limit.admit("quarantined", "container/web", 2) == 0


def test_rate_limit_keeps_events_about_different_revisions_or_plans_apart():
    limit = RateLimit(window=60)
    assert limit.admit("revision_applied", None, 0, about="1a2b3c4d5e6f") == 0
    assert limit.admit("revision_applied", None, 1, about="9f8e7d6c5b4a") == 0
    assert limit.admit("revision_applied", None, 2, about="9f8e7d6c5b4a") is None


def test_a_new_revision_or_plan_within_the_window_is_sent():
    target = Recorder(events=(REVISION_APPLIED, REVISION_FAILED, APPROVAL_WAITING))
    notifier = Notifier([target], Metrics(), "ns", "host-1", window=120, monotonic=lambda: 0.0)
    for kind, about in [(REVISION_APPLIED, "aaa"), (REVISION_FAILED, "bbb"), (REVISION_APPLIED, "ccc"),
                        (REVISION_FAILED, "ddd"), (APPROVAL_WAITING, "p1"), (APPROVAL_WAITING, "p2")]:
        notifier.notify(Event(kind, None, f"{kind} {about}", about=about))
    notifier.start()
    notifier.stop()
    assert [n.event.message for n in target.sent] == ["revision_applied aaa", "revision_failed bbb",
                                                      "revision_applied ccc", "revision_failed ddd",
                                                      "approval_waiting p1", "approval_waiting p2"]


def test_redaction_masks_secret_values_and_url_credentials():
    text = "pull https://bob:tok3n@registry.example/app failed; DB_PASSWORD=canary-s3cret"
    assert redact(text, {"canary-s3cret"}) == "pull https://***@registry.example/app failed; DB_PASSWORD=***"


def test_a_flapping_resource_sends_one_notification_then_a_summary(monkeypatch):
    clock = [0.0]
    target = Recorder()
    metrics = Metrics()
    notifier = Notifier([target], metrics, "ns", "host-1", window=60, monotonic=lambda: clock[0])
    for _ in range(3):
        notifier.notify(Event(QUARANTINED, "container/web", "failed"))
    clock[0] = 61.0
    notifier.notify(Event(QUARANTINED, "container/web", "failed again"))
    notifier.start()
    notifier.stop()
    assert [(n.event.message, n.suppressed) for n in target.sent] == [("failed", 0), ("failed again", 2)]
    assert value(metrics, "reconciler_notifications_dropped_total", reason="rate_limited") == 2


def test_the_message_is_redacted_before_it_is_queued():
    target = Recorder()
    notifier = Notifier([target], Metrics(), "ns", "host-1")
    notifier.notify(Event(QUARANTINED, "container/web", "exited: password canary-s3cret refused"), {"canary-s3cret"})
    notifier.start()
    notifier.stop()
    assert target.sent[0].event.message == "exited: password *** refused"


def test_overflow_is_counted_and_never_blocks():
    metrics = Metrics()
    notifier = Notifier([Recorder()], metrics, "ns", "host-1", queue_size=2)
    for n in range(5):  # the worker is not started: the queue fills
        notifier.notify(Event(QUARANTINED, f"container/c{n}", "failed"))
    assert value(metrics, "reconciler_notifications_dropped_total", reason="overflow") == 3


def test_each_target_has_a_queue_of_its_own_and_overflow_is_counted_per_target():
    metrics = Metrics()
    notifier = Notifier([Recorder(), Recorder()], metrics, "ns", "host-1", queue_size=2)
    for n in range(5):  # the workers are not started: both queues fill
        notifier.notify(Event(QUARANTINED, f"container/c{n}", "failed"))
    assert value(metrics, "reconciler_notifications_dropped_total", reason="overflow") == 6


def test_a_target_that_hangs_does_not_delay_the_others():
    hanging, quick = Hanging(), Recorder()
    notifier = Notifier([hanging, quick], Metrics(), "ns", "host-1")
    notifier.start()
    for n in range(3):
        notifier.notify(Event(QUARANTINED, f"container/c{n}", "failed"))
    until = time.monotonic() + 5
    while len(quick.sent) < 3 and time.monotonic() < until:
        time.sleep(0.01)
    assert len(quick.sent) == 3 and hanging.sent == []
    hanging.release.set()
    notifier.stop()


def test_stop_returns_at_its_deadline_while_a_delivery_hangs():
    hanging = Hanging()
    notifier = Notifier([hanging], Metrics(), "ns", "host-1")
    notifier.start()
    notifier.notify(Event(QUARANTINED, "container/web", "failed"))
    while not hanging.timeouts:
        time.sleep(0.01)
    began = time.monotonic()
    notifier.stop(0.5)
    assert time.monotonic() - began < 0.7
    assert hanging.timeouts == [TIMEOUT]


def test_the_drain_allowance_runs_from_the_signal_not_from_the_end_of_the_shutdown():
    hanging = Hanging()
    notifier = Notifier([hanging], Metrics(), "ns", "host-1")
    notifier.start()
    notifier.notify(Event(QUARANTINED, "container/web", "failed"))
    while not hanging.timeouts:
        time.sleep(0.01)
    signalled = time.monotonic()
    notifier.drain(0.6)
    time.sleep(0.4)  # the rest of the shutdown: the pass in flight ends, the status is written
    notifier.stop()
    assert time.monotonic() - signalled < 0.8


def test_what_the_pass_in_flight_notifies_after_the_signal_is_still_sent():
    target = Recorder()
    notifier = Notifier([target], Metrics(), "ns", "host-1")
    notifier.start()
    notifier.drain(2.0)
    time.sleep(0.3)  # the workers found their queues empty meanwhile
    notifier.notify(Event(QUARANTINED, "container/web", "failed"))
    notifier.stop()
    assert [n.event.message for n in target.sent] == ["failed"]


def test_a_delivery_during_the_drain_waits_no_longer_than_the_deadline_left():
    hanging = Hanging()
    notifier = Notifier([hanging], Metrics(), "ns", "host-1")
    notifier.notify(Event(QUARANTINED, "container/a", "failed"))
    notifier.notify(Event(QUARANTINED, "container/b", "failed"))
    notifier.start()
    while not hanging.timeouts:
        time.sleep(0.01)
    stopping = threading.Thread(target=notifier.stop, args=(2.0,))
    stopping.start()
    time.sleep(0.1)
    hanging.release.set()  # the first answers; the second is sent during the drain
    stopping.join()
    assert len(hanging.timeouts) == 2 and hanging.timeouts[1] <= 2.0


def test_a_kind_no_target_takes_is_not_queued():
    metrics = Metrics()
    notifier = Notifier([Recorder(events=[REVISION_APPLIED])], metrics, "ns", "host-1", queue_size=1)
    notifier.notify(Event(QUARANTINED, "container/a", "failed"))
    notifier.notify(Event(REVISION_APPLIED, None, "applied"))
    assert value(metrics, "reconciler_notifications_dropped_total", reason="overflow") == 0


def test_a_failed_delivery_is_retried_with_the_same_id():
    target = Recorder(failures=2)
    metrics = Metrics()
    notifier = Notifier([target], metrics, "ns", "host-1", first_retry=0.01)
    notifier.notify(Event(QUARANTINED, "container/web", "failed"))
    notifier.start()
    deadline = threading.Event()
    while not target.sent and not deadline.wait(0.01):
        pass
    notifier.stop()
    assert target.tries == 3 and len(target.sent) == 1
    assert value(metrics, "reconciler_notifications_total", target="webhook", outcome="sent") == 1


def test_a_delivery_that_keeps_failing_is_counted_as_failed():
    target = Recorder(failures=99)
    metrics = Metrics()
    notifier = Notifier([target], metrics, "ns", "host-1", first_retry=0.01)
    notifier.notify(Event(QUARANTINED, "container/web", "failed"))
    notifier.start()
    while not value(metrics, "reconciler_notifications_total", target="webhook", outcome="failed"):
        threading.Event().wait(0.01)
    notifier.stop()
    assert target.tries == 4


def test_signed_headers_verify_with_standardwebhooks():
    body = json.dumps({"kind": "quarantined"})
    headers = signed_headers(Webhook(SECRET), "msg_1", body, datetime.now(UTC))
    assert Webhook(SECRET).verify(body, headers) == {"kind": "quarantined"}


def test_a_signature_does_not_verify_for_a_changed_body():
    headers = signed_headers(Webhook(SECRET), "msg_1", '{"kind": "a"}', datetime.now(UTC))
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify('{"kind": "b"}', headers)


def test_a_webhook_posts_the_payload_signed():
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append((self.rfile.read(int(self.headers["content-length"])), dict(self.headers)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        target = WebhookTarget("webhook[0]", f"http://127.0.0.1:{server.server_port}/", SECRET, [QUARANTINED])
        event = Event(QUARANTINED, "container/web", "failed", "abc123")
        target.send(Notification("msg_1", event, "ns", "host-1", "2026-01-01T00:00:00Z"))
    finally:
        server.shutdown()
    body, headers = received[0]
    payload = Webhook(SECRET).verify(body, headers)
    assert payload == {"id": "msg_1", "kind": QUARANTINED, "resource": "container/web", "namespace": "ns",
                       "host": "host-1", "time": "2026-01-01T00:00:00Z", "message": "failed", "revision": "abc123",
                       "suppressed": 0}
    assert headers["webhook-id"] == "msg_1"


def test_apprise_failing_to_send_logs_no_token(caplog, capsys):
    caplog.set_level(logging.DEBUG)
    target = AppriseTarget("apprise[0]", "json://user:SECRETPASS@127.0.0.1:9/SECRETPATH", KINDS)
    notification = Notification("msg_1", Event(QUARANTINED, "container/web", "it failed"), "ns", "host-1", "now")
    with pytest.raises(DeliveryError) as caught:
        target.send(notification)
    assert "SECRET" not in str(caught.value) + caplog.text + "".join(capsys.readouterr())
