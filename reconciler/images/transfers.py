"""One image transfer (a pull, a build, a push) summed up from the engine's progress updates.

The engine reports each layer on its own (Docker's jsonmessage stream: "Pulling fs layer",
"Downloading" with current and total bytes, "Download complete", "Extracting", "Pull complete";
"Already exists" for a layer it had; "Preparing", "Waiting", "Pushing", "Pushed", "Layer already
exists" or "Mounted from REPO" for a push, then its digest). A `Transfer` keeps each
layer's last word and sizes, and says how many layers are through and how many bytes moved, for
the CLI's progress lines and the agent's `image.pull_finished` event (`logged_pull`, the executor's).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import structlog

from runtime.base import Progress, ProgressCallback

log = structlog.get_logger("reconciler.images")

# a layer's bytes have all moved once the engine says one of these
THROUGH = frozenset({"Download complete", "Extracting", "Pull complete", "Already exists", "Pushed",
                     "Layer already exists"})
HAD = frozenset({"Already exists", "Layer already exists"})  # a layer nothing moved for: its bytes count for none
MOUNTED = "Mounted from"  # a pushed layer the registry took from another of its repositories (a blob mount)
MOVING = frozenset({"Downloading", "Pushing"})  # statuses whose current and total count bytes moved
PUSHED = re.compile(r"\bdigest: sha256:[0-9a-f]{64}")  # a push's last line ("1: digest: sha256:... size: 527")
_UNITS = ("B", "kB", "MB", "GB", "TB")


def _through(status: str) -> bool:
    return status in THROUGH or status.startswith(MOUNTED)


def _had(status: str) -> bool:
    return status in HAD or status.startswith(MOUNTED)


@dataclass
class Layer:
    status: str
    current: int = 0
    total: int | None = None
    through: bool = False  # once through, a layer stays through


@dataclass
class Transfer:
    """What the updates of one image's transfer said so far: `action` (pull | build | push),
    `ref`, each layer by id, and `status`, the last word about the whole image. The layers through
    and the bytes moved never go down: a push's "Pushing" counts the bytes of the layer's tar
    (headers and padding included) against a total that may be smaller (its content's size), so
    a total is at least what moved; and a push's last line (its digest) means every layer is in
    the registry, whatever the layer's last word was."""

    action: str
    ref: str
    layers: dict[str, Layer] = field(default_factory=dict)
    status: str = ""

    def update(self, progress: Progress) -> bool:
        """Take one update; True when the transfer's state changed (a layer got through, a new
        layer or word about the image), False for bytes moving within a layer."""
        if not progress.layer:
            changed = progress.status != self.status
            self.status = progress.status
            if self.action == "push" and PUSHED.search(progress.status):
                for layer in self.layers.values():
                    layer.through = True
                    layer.current = layer.current if _had(layer.status) else max(layer.current, layer.total or 0)
            return changed
        layer = self.layers.get(progress.layer)
        changed = layer is None or (_through(progress.status) and not layer.through)
        if layer is None:
            layer = self.layers[progress.layer] = Layer(progress.status)
        layer.status = progress.status
        layer.through = layer.through or _through(progress.status)
        if progress.status in MOVING:
            layer.current = max(layer.current, progress.current or 0)
            layer.total = progress.total if progress.total is not None else layer.total
        if layer.total is not None:
            layer.total = max(layer.total, layer.current)
            if layer.through and not _had(layer.status):
                layer.current = layer.total
        return changed

    @property
    def layers_through(self) -> int:
        return sum(layer.through for layer in self.layers.values())

    @property
    def bytes_moved(self) -> int:
        """Bytes downloaded (or pushed) so far: layers the engine already had count for nothing."""
        return sum(layer.current for layer in self.layers.values())

    @property
    def bytes_total(self) -> int | None:
        """The size of what moves, once every layer that moves said its total; else None."""
        moving = [layer for layer in self.layers.values() if not _had(layer.status)]
        if any(layer.total is None for layer in moving):
            return None
        return sum(layer.total or 0 for layer in moving)

    def summary(self) -> str:
        """"pull reg/app:2: 2/3 layers, 1.2MB/4.5MB" (the last word about the image when no layer
        has spoken yet: "pull reg/app:2: Pulling from app")."""
        head = f"{self.action} {self.ref}: "
        if not self.layers:
            return head + (self.status or "starting")
        total = self.bytes_total
        size = human_size(self.bytes_moved) + (f"/{human_size(total)}" if total is not None else "")
        return f"{head}{self.layers_through}/{len(self.layers)} layers, {size}"


def human_size(count: int) -> str:
    """Bytes as Docker's CLI shows them (go-units HumanSize: decimal units, 3 significant digits):
    "0B", "512B", "1.23kB", "45.6MB"."""
    size, unit = float(count), 0
    while size >= 999.5 and unit < len(_UNITS) - 1:
        size, unit = size / 1000, unit + 1
    return f"{size:.3g}{_UNITS[unit]}"


@contextmanager
def logged_pull(ref: str, progress: ProgressCallback | None = None) -> Iterator[ProgressCallback]:
    """Log a pull of `ref` as the agent's events: `image.pull_started`, then, when the block
    ends without an error, `image.pull_finished` with the bytes downloaded, the layers and the seconds
    it took. Yields the progress callback to pull with: it sums the updates up and hands each
    on to `progress`."""
    transfer = Transfer("pull", ref)

    def tally(update: Progress) -> None:
        transfer.update(update)
        if progress is not None:
            progress(update)

    log.info("image.pull_started", ref=ref)
    started = time.monotonic()
    yield tally
    log.info("image.pull_finished", ref=ref, bytes=transfer.bytes_moved, layers=len(transfer.layers),
             seconds=round(time.monotonic() - started, 3))
