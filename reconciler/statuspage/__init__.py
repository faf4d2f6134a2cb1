"""The status page: `/` on the status address, the status (`Status.snapshot()`) as HTML for people.

    html = render(status.snapshot(), now=time.time())

Server-rendered from the Jinja2 templates shipped in this package (`templates/`, package data),
every value escaped (autoescape), no script and no external asset: the CSS is inline, and the page
refreshes itself every REFRESH_SECONDS seconds (`<meta http-equiv="refresh">`). What it shows is
decided in `view` (pure); it is read only, like `/status`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

import jinja2

from reconciler.statuspage.view import context

REFRESH_SECONDS = 10


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("reconciler.statuspage", "templates"),
                              autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
                              lstrip_blocks=True)


def render(snapshot: Mapping[str, Any], now: float) -> str:
    """The page for a status snapshot at unix time `now`, as HTML text."""
    return _environment().get_template("status.html").render(page=context(snapshot, now), refresh=REFRESH_SECONDS)
