"""How `apply` shows image pulls, builds and pushes while they run.

On a terminal, one line per image (layers through and bytes moved, `images.transfers.Transfer`)
rewritten in place with ANSI cursor movement, as `docker pull` does (Docker's jsonmessage:
cursor up N lines, erase the line, write, cursor down N lines); each line is cut to the
terminal's width, since a wrapped line would throw the count of lines off. Not on a terminal
(a log file, a pipe, CI), a plain line per image each time its state changes (a layer got
through, a new word about the image) that changes its line, never one per chunk of bytes.

The executor runs pulls in parallel threads: updates are taken under a lock.
"""

from __future__ import annotations

import shutil
import threading
from typing import TextIO

from reconciler.images.transfers import Transfer
from runtime.base import Progress

UP = "\x1b[{}A"
DOWN = "\x1b[{}B"
ERASE_LINE = "\x1b[2K"


class ProgressView:
    """A `runtime.base.ProgressCallback` that writes to `stream`; `terminal` (default: whether
    `stream` is a tty) chooses lines rewritten in place or plain lines."""

    def __init__(self, stream: TextIO, terminal: bool | None = None) -> None:
        self.stream = stream
        self.terminal = stream.isatty() if terminal is None else terminal
        self._transfers: dict[tuple[str, str], Transfer] = {}  # (action, ref) -> its transfer, in order shown
        self._shown: dict[tuple[str, str], str] = {}  # (action, ref) -> its line as last written
        self._lock = threading.Lock()

    def __call__(self, update: Progress) -> None:
        key = (update.action, update.ref)
        with self._lock:
            transfer = self._transfers.get(key)
            if transfer is None:
                transfer = self._transfers[key] = Transfer(update.action, update.ref)
            changed = transfer.update(update)
            line = transfer.summary()
            if self.terminal:
                self._rewrite(key, line)
            elif changed and self._shown.get(key) != line:
                self._write(line + "\n")
                self._shown[key] = line

    def _rewrite(self, key: tuple[str, str], line: str) -> None:
        """Write `key`'s line where it stands (a new one below the others)."""
        line = line[: max(1, shutil.get_terminal_size().columns - 1)]
        if self._shown.get(key) == line:
            return
        if key not in self._shown:
            self._write(line + "\n")
        else:
            up = len(self._shown) - list(self._shown).index(key)
            self._write(f"{UP.format(up)}\r{ERASE_LINE}{line}\r{DOWN.format(up)}")
        self._shown[key] = line

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()
