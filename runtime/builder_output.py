"""The builder's output as text for people: what a build failure's message (and so the JSON log
and the status) carries of it, and the lines build progress shows.

The classic builder relays each step's output as the step wrote it, terminal colours included (a
package manager's red `ESC[91m...ESC[0m`). A message is not a terminal: escape sequences (ECMA-48:
CSI `ESC [ ... final byte`, OSC `ESC ] ... BEL or ESC \\`, two-byte `ESC X`) and the other control
characters but tab and newline are left out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

BUILD_LINES = 10  # the builder's last lines a build failure's message carries

_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x9b]")


def plain(text: str) -> str:
    """`text` without terminal escape sequences and control characters (tab and newline kept)."""
    return _CONTROL.sub("", _ESCAPE.sub("", text))


def failure(ref: str, lines: Sequence[str]) -> str:
    """"build REF: " and the builder's last `BUILD_LINES` non-blank lines (a failing step, then its
    error), as plain text."""
    kept = [plain(line).strip() for line in lines]
    return f"build {ref}: " + "\n".join([line for line in kept if line][-BUILD_LINES:])
