"""The engine's JSON progress stream (pull, push) read as `runtime.base.Progress` updates.

Docker's jsonmessage lines (API 1.41, `POST /images/create` and `/images/{name}/push`) carry an
`id`, a `status` and a `progressDetail` of `current` and `total` bytes. The `id` names a layer
only on the layer statuses below; on the others it names the tag being pulled ("Pulling from
library/busybox", id "1") or nothing. Podman's compatible API speaks the same words.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runtime.base import Progress

# the statuses of one layer (Docker's distribution/xfer and Podman's compat pull and push)
LAYER_STATUSES = frozenset({
    "Pulling fs layer", "Waiting", "Downloading", "Verifying Checksum", "Download complete", "Extracting",
    "Pull complete", "Already exists", "Preparing", "Pushing", "Pushed", "Layer already exists",
})
MOUNTED = "Mounted from"  # a pushed layer the registry took from another of its repositories ("Mounted from rec/base")


def progress(ref: str, line: Mapping[str, Any], action: str = "pull") -> Progress | None:
    """The update one stream line stands for; None for a line that says nothing (no status)."""
    status = str(line.get("status") or "")
    if not status:
        return None
    detail = line.get("progressDetail") or {}
    layer = str(line.get("id") or "") if status in LAYER_STATUSES or status.startswith(MOUNTED) else ""
    return Progress(ref, layer, status, _bytes(detail.get("current")), _bytes(detail.get("total")), action)


def _bytes(value: Any) -> int | None:
    return value if isinstance(value, int) and value >= 0 else None
