"""Where notifications go: a webhook (a JSON POST signed as the Standard Webhooks specification
says, https://www.standardwebhooks.com) or an Apprise URL (chat, mail: https://github.com/caronc/apprise).

Each target has a `name` for logs and metrics ("webhook[0]", never its URL, which may hold a
token), the event kinds it takes, and `send(notification, timeout)`, which raises DeliveryError.

Apprise's own log lines are never shown: they quote a URL's tokens ("An invalid Slack (first) Token
(...) was specified", "Unsupported URL: ..."). Its logger keeps them to itself, loading and sending
alike; what went wrong is told by our own lines, which name the target, never its URL.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection
from datetime import UTC, datetime

import apprise
import requests
from standardwebhooks import Webhook as Signer

from reconciler.notify.events import Notification

TIMEOUT = 10.0  # seconds a webhook may take to answer

logging.getLogger("apprise").disabled = True  # its only logger (apprise/logger.py): see above


class DeliveryError(Exception):
    """A target did not take a notification; the message holds no URL."""


def signed_headers(signer: Signer, message_id: str, body: str, now: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of `body`: `webhook-id`, `webhook-timestamp` (unix seconds of
    `now`) and `webhook-signature` ("v1," and the base64 HMAC-SHA256 of "id.timestamp.body")."""
    return {"webhook-id": message_id, "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signer.sign(message_id, now, body)}


class WebhookTarget:
    """A plain JSON POST of `Notification.payload()` to `url`, signed with `secret` ("whsec_" and
    base64). A retry keeps the id and signs afresh with the time of sending."""

    kind = "webhook"

    def __init__(self, name: str, url: str, secret: str, events: Collection[str]) -> None:
        self.name = name
        self.url = url
        self.events = frozenset(events)
        self._signer = Signer(secret)

    def send(self, notification: Notification, timeout: float = TIMEOUT) -> None:
        """POST it, waiting at most `timeout` seconds (to connect, and then for each read)."""
        body = json.dumps(notification.payload(), sort_keys=True)
        headers = {"content-type": "application/json", "user-agent": "reconciler",
                   **signed_headers(self._signer, notification.id, body, datetime.now(UTC))}
        try:
            answer = requests.post(self.url, data=body.encode(), headers=headers, timeout=timeout,
                                   allow_redirects=False)
        except requests.RequestException as error:
            raise DeliveryError(f"{self.name}: {type(error).__name__}") from None
        if not 200 <= answer.status_code < 300:
            raise DeliveryError(f"{self.name}: answered HTTP {answer.status_code}")


class AppriseTarget:
    """A message through Apprise to `url` (Slack, Matrix, mail, ...): the notification's title and body."""

    kind = "apprise"

    def __init__(self, name: str, url: str, events: Collection[str]) -> None:
        self.name = name
        self.events = frozenset(events)
        self._apprise = apprise.Apprise()
        if not self._apprise.add(url):  # (one URL: one service)
            raise ValueError("not a URL of a service Apprise knows, or not valid for it (the URL is not shown: "
                             "it may hold a token; see https://github.com/caronc/apprise/wiki)")

    def send(self, notification: Notification, timeout: float = TIMEOUT) -> None:
        """Hand it to Apprise, its service waiting at most `timeout` seconds to connect and then for
        each read, or its own timeouts when shorter (its URL's `cto` and `rto`, 4 s by default)."""
        service = self._apprise[0]
        own = service.socket_connect_timeout, service.socket_read_timeout
        service.socket_connect_timeout, service.socket_read_timeout = (min(t, timeout) for t in own)
        try:
            sent = self._apprise.notify(title=notification.title(), body=notification.body())
        finally:
            service.socket_connect_timeout, service.socket_read_timeout = own
        if not sent:
            raise DeliveryError(f"{self.name}: Apprise could not deliver it")


Target = WebhookTarget | AppriseTarget
