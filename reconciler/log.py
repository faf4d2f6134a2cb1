"""Structured logs: one event name plus key/values per line.

    log = structlog.get_logger()
    log.info("container.recreated", name="web", reason="spec changed")

On a terminal the lines are rendered for people; anywhere else (systemd's journal, a pipe, a
file) each line is one JSON object with `timestamp` (ISO 8601, UTC), `level` and `event`.
Third-party libraries log through the standard `logging` module (watchdog, docker, urllib3):
only their warnings and errors pass, rendered the same way.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
_HANDLER_NAME = "reconciler"


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _shared_processors() -> list:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def _renderer(terminal: bool) -> list:
    if terminal:
        return [structlog.dev.ConsoleRenderer(colors=True)]
    return [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]


def _route_stdlib_logging(stream: TextIO, terminal: bool, level: int) -> None:
    """Send stdlib log records at `level` (WARNING at least) through the same renderer, to `stream`."""
    handler = logging.StreamHandler(stream)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_shared_processors(), structlog.stdlib.add_logger_name],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *_renderer(terminal)],
    ))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(max(logging.WARNING, level))


def configure(level: str = "info", stream: TextIO | None = None) -> None:
    """Set up structlog for this process; calling it again replaces the previous setup."""
    stream = stream if stream is not None else sys.stderr
    terminal = _is_terminal(stream)
    structlog.configure(
        processors=[*_shared_processors(), structlog.processors.StackInfoRenderer(), *_renderer(terminal)],
        wrapper_class=structlog.make_filtering_bound_logger(LEVELS[level]),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        # Not cached, so that a later configure() (a new level on reload) reaches every logger.
        cache_logger_on_first_use=False,
    )
    _route_stdlib_logging(stream, terminal, LEVELS[level])
