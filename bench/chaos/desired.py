"""The campaign's desired-state directory: four files it edits, breaks and fixes, and the log of
when each file was invalid (what the oracle reads as "this file was broken at that moment").

a.toml: a network and container `a` on it; b.toml: container `b` on a's network; c.toml: an owned
volume and container `c` that writes a marker file into it once; d.toml: container `d` that
depends on `b`. Every name starts with the campaign's prefix (its namespace), so runs never clash.
"""

from __future__ import annotations

import math
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

IMAGE = "localhost/demo:1"
INVALID_KINDS = ("syntax", "schema", "reference")
MARKER_COMMAND = "test -f /data/marker || cat /proc/sys/kernel/random/uuid > /data/marker; exec sleep 3600"


@dataclass
class File:
    """One desired-state file: its container, the generation of that container's env (a valid
    edit bumps it, which replaces the container), and the windows in which it was invalid as
    (broken at, fixed at or +inf, kind), unix seconds."""

    name: str
    container: str
    header: str = ""
    extra: str = ""
    command: str = '["sleep", "3600"]'
    generation: int = 1
    broken: list[tuple[float, float, str]] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.broken or self.broken[-1][1] != math.inf

    def text(self) -> str:
        """The file's valid content at its current generation."""
        return (f"{self.header}[container.{self.container}]\n"
                f'image = "{IMAGE}"\ncommand = {self.command}\ninit = true\nstop_timeout = 1\n'
                f'env = {{ GEN = "{self.generation}" }}\n{self.extra}')


class DesiredDir:
    """The directory and its four files; every write is atomic (a hidden temporary file renamed
    over the old one), so what the agent reads is exactly one of the versions logged here."""

    def __init__(self, root: Path, prefix: str) -> None:
        self.root = root
        self.network, self.volume = f"{prefix}-net", f"{prefix}-data"
        self.ghost = f"{prefix}-ghost"
        on_network = f'networks = ["{self.network}"]\n'
        self.files = {f.name: f for f in (
            File("a.toml", f"{prefix}-a", header=f"[network.{self.network}]\n\n", extra=on_network),
            File("b.toml", f"{prefix}-b", extra=on_network),
            File("c.toml", f"{prefix}-c", header=f"[volume.{self.volume}]\n\n",
                 extra=f'mounts = ["{self.volume}:/data"]\n', command=f'["sh", "-c", "{MARKER_COMMAND}"]'),
            File("d.toml", f"{prefix}-d", extra=f'depends_on = ["{prefix}-b"]\n'),
        )}
        root.mkdir(parents=True, exist_ok=True)
        for file in self.files.values():
            self._write(file, file.text())

    def containers(self) -> list[str]:
        return [f.container for f in self.files.values()]

    def source_of(self) -> dict[str, str]:
        """Resource name -> the file that declares it."""
        names = {f.container: f.name for f in self.files.values()}
        return names | {self.network: "a.toml", self.volume: "c.toml"}

    def valid_files(self) -> list[str]:
        return [f.name for f in self.files.values() if f.valid]

    def edit(self, name: str) -> int:
        """A valid edit: the container's env changes, so it is replaced. Returns the new generation."""
        file = self.files[name]
        file.generation += 1
        self._write(file, file.text())
        return file.generation

    def break_file(self, name: str, kind: str, rng: random.Random) -> str:
        """Make the file invalid in the way `kind` names; returns what was done."""
        file = self.files[name]
        text, what = BREAKERS[kind](file, self, rng)
        file.broken.append((time.time(), math.inf, kind))
        self._write(file, text)
        return what

    def fix(self, name: str) -> None:
        """Put the file's last valid content back; its invalid window closes now."""
        file = self.files[name]
        if file.valid:
            return
        self._write(file, file.text())
        started, _, kind = file.broken[-1]
        file.broken[-1] = (started, time.time(), kind)

    def _write(self, file: File, text: str) -> None:
        temporary = self.root / f".{file.name}.tmp"
        temporary.write_text(text)
        os.replace(temporary, self.root / file.name)


def _half_written(file: File, _: DesiredDir, rng: random.Random) -> tuple[str, str]:
    """Cut off mid-write and ending in a stray quote, which no prefix of these files makes valid."""
    text = file.text()
    cut = rng.randrange(1, len(text))
    return text[:cut] + '\n"', f"syntax: cut at byte {cut} of {len(text)}"


def _schema_error(file: File, _: DesiredDir, rng: random.Random) -> tuple[str, str]:
    old, new = rng.choice([("image =", "imgae ="), ("stop_timeout = 1", 'stop_timeout = "soon"'),
                           ("init = true", 'init = "yes"')])
    return file.text().replace(old, new, 1), f"schema: {new}"


def _broken_reference(file: File, desired: DesiredDir, rng: random.Random) -> tuple[str, str]:
    text = file.text()
    if desired.network in text and rng.random() < 0.5:
        return text.replace(f'"{desired.network}"', f'"{desired.ghost}"'), f"reference: network {desired.ghost}"
    if "depends_on" in text:
        text = text[:text.index("depends_on")]
    return text + f'depends_on = ["{desired.ghost}"]\n', f"reference: depends_on {desired.ghost}"


BREAKERS = {"syntax": _half_written, "schema": _schema_error, "reference": _broken_reference}
