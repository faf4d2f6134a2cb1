"""The notification targets of `reconciler run --notify-config FILE` (docs/notifications.md).

    engine_unreachable_after = "5m"   # optional: how long the engine may not answer before it is told
    rate_limit = "15m"                # optional: at most one event per kind and resource in this window

    [[webhook]]
    url = "https://hooks.example.com/reconciler"
    secret_file = "webhook.secret"    # holds "whsec_..." (relative to this file's folder)
    events = ["quarantined", "revision_failed"]   # optional; default: every kind

    [[apprise]]
    url = "mailto://user:token@example.com"
    events = ["engine_unreachable"]

The file holds tokens: like ssh with a private key, it is refused when its group or others may
read it (mode 0600 or stricter), and so is a webhook's secret file. Every problem is reported as
FILE:LINE: key.path: message (as for the desired-state files), never with a token's text.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from standardwebhooks import Webhook

from reconciler.desired.loader import parse_toml
from reconciler.desired.problems import FileReport, LoadFailure, Path_, Problem, decode_utf8
from reconciler.desired.units import duration
from reconciler.notify.events import KINDS
from reconciler.notify.ratelimit import DEFAULT_WINDOW
from reconciler.notify.targets import AppriseTarget, Target, WebhookTarget

DEFAULT_UNREACHABLE_AFTER = 300.0  # seconds
_TOP = {"webhook", "apprise", "engine_unreachable_after", "rate_limit"}
_TABLES = {"webhook": {"url", "secret_file", "events"}, "apprise": {"url", "events"}}


class ConfigError(Exception):
    """The file cannot be used; `problems` says where and why, one Problem each."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(map(str, problems)))
        self.problems = problems


@dataclass(frozen=True)
class Config:
    targets: tuple[Target, ...]
    rate_limit: float = DEFAULT_WINDOW  # seconds
    engine_unreachable_after: float = DEFAULT_UNREACHABLE_AFTER  # seconds


def private(path: Path) -> str | None:
    """Why `path` may not hold a token (its group or others may read or write it), or None."""
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & 0o077:
        return (f"mode {mode:04o} lets its group or others at it; it holds tokens: "
                f"make it readable by its owner only (chmod 600 {path})")
    return None


def load(path: Path) -> Config:
    """The configuration in `path`. Raises ConfigError."""
    try:
        why = private(path)
        data = path.read_bytes()
    except OSError as error:
        raise ConfigError([Problem(str(path), None, "", error.strerror or str(error))]) from None
    if why:
        raise ConfigError([Problem(str(path), None, "", why)])
    report = FileReport(str(path))
    try:
        document = parse_toml(decode_utf8(data, str(path)), report)
    except LoadFailure as failure:
        raise ConfigError([failure.problem]) from None
    config = _read(document, report, path.parent) if document is not None else None
    if report.errors or config is None:
        raise ConfigError(report.errors)
    return config


def _read(document: dict, report: FileReport, folder: Path) -> Config | None:
    for key in sorted(set(document) - _TOP):
        report.error((key,), f"unknown key (known: {', '.join(sorted(_TOP))})")
    window = _duration(document, "rate_limit", DEFAULT_WINDOW, report)
    unreachable = _duration(document, "engine_unreachable_after", DEFAULT_UNREACHABLE_AFTER, report)
    targets: list[Target] = []
    for kind in ("webhook", "apprise"):
        tables = document.get(kind, [])
        if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
            report.error((kind,), f"must be tables written [[{kind}]]")
            continue
        for index, table in enumerate(tables):
            target = _target(kind, index, table, report, folder)
            if target is not None:
                targets.append(target)
    if not report.errors and not targets:
        report.error((), "no [[webhook]] or [[apprise]] table: nothing would be notified")
    return Config(tuple(targets), window, unreachable) if not report.errors else None


def _duration(document: dict, key: str, default: float, report: FileReport) -> float:
    value = document.get(key)
    if value is None:
        return default
    try:
        if not isinstance(value, str):
            raise ValueError('a duration such as "5m" or "30s"')
        seconds = duration(value)
        if seconds <= 0:
            raise ValueError("must be longer than 0s")
        return seconds
    except ValueError as error:
        report.error((key,), str(error))
        return default


def _target(kind: str, index: int, table: dict, report: FileReport, folder: Path) -> Target | None:
    at: Path_ = (kind, index)
    for key in sorted(set(table) - _TABLES[kind]):
        report.error((*at, key), f"unknown key (known: {', '.join(sorted(_TABLES[kind]))})")
    url = table.get("url")
    if not isinstance(url, str) or not url:
        report.error((*at, "url"), "required: the URL to send to")
        return None
    events = _events(table.get("events", list(KINDS)), (*at, "events"), report)
    name = f"{kind}[{index}]"
    if kind == "apprise":
        try:
            return AppriseTarget(name, url, events)
        except ValueError as error:  # (its text, nor any part of it, is shown: it may hold a token)
            report.error((*at, "url"), str(error))
            return None
    if not url.startswith(("http://", "https://")):
        report.error((*at, "url"), "must be an http:// or https:// URL")
        return None
    secret = _secret(table.get("secret_file"), (*at, "secret_file"), report, folder)
    return WebhookTarget(name, url, secret, events) if secret is not None else None


def _events(value: object, at: Path_, report: FileReport) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(kind, str) for kind in value):
        report.error(at, "must be a list of event kinds")
        return frozenset()
    for kind in value:
        if kind not in KINDS:
            report.error(at, f"unknown event kind {kind!r} (known: {', '.join(KINDS)})")
    return frozenset(value)


def _secret(value: object, at: Path_, report: FileReport, folder: Path) -> str | None:
    """The Standard Webhooks secret read from the file `value` names (relative to `folder`)."""
    if not isinstance(value, str) or not value:
        report.error(at, 'required: a file holding the signing secret ("whsec_" and base64)')
        return None
    path = folder / value
    try:
        why = private(path)
        text = path.read_text().strip()
    except (OSError, UnicodeDecodeError) as error:
        report.error(at, f"{path}: {getattr(error, 'strerror', None) or error}")
        return None
    if why:
        report.error(at, f"{path}: {why}")
        return None
    if not _signs(text):
        report.error(at, f'{path}: not a Standard Webhooks secret ("whsec_" and base64)')
        return None
    return text


def _signs(secret: str) -> bool:
    """Whether the standardwebhooks package takes `secret` as a signing secret (the rule a receiver
    using it applies: "whsec_" optional, base64 with padding or without, not empty)."""
    try:
        Webhook(secret)
    except Exception:  # (binascii.Error, EmptyWebhookSecretError, ...: the package's own refusals)
        return False
    return True
