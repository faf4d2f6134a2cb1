"""Problems found in the desired-state files, and the per-file collector that places them.

A problem names the file (relative to the desired-state directory), the line and the dotted key
path, so that a user is told exactly where a mistake is. Values that came from the env file are
secrets: `FileReport.show` never prints them.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from reconciler import masking

Path_ = tuple[str | int, ...]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Problem:
    """An error or a warning, with as much of FILE:LINE: key.path as is known."""

    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.file and self.line:
            where = f"{self.file}:{self.line}"
        return ": ".join(part for part in (where, self.key, self.message) if part)


class LoadFailure(Exception):
    """Raised when something cannot be read at all; carries the problem to report."""

    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem


def dotted(path: Path_) -> str:
    """`("container", "web", "ports", 0)` -> `container.web.ports[0]`; odd keys are quoted as a
    TOML basic string (with escapes, so a control character is shown as `\\u0000`)."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            key = part if _BARE_KEY.fullmatch(part) else json.dumps(part, ensure_ascii=False)
            text += f".{key}" if text else key
    return text


def written_as(path: Path_, renamed: Mapping[Path_, Path_]) -> Path_:
    """The key path as the file wrote it: under an alias (`renamed`: our path -> the alias's), the
    alias's path with the rest of `path` after it."""
    for ours, alias in renamed.items():
        if path[: len(ours)] == ours:
            return (*alias, *path[len(ours):])
    return path


def scrub(message: str, secrets: Collection[str]) -> str:
    """The message with every secret value in it masked (`masking.mask`)."""
    return masking.mask(message, secrets)


@dataclass
class FileReport:
    """Collects the problems of one file, placing each at the line of its key."""

    file: str
    lines: Mapping[Path_, int] = field(default_factory=dict)
    secret_paths: Collection[Path_] = ()
    secret_values: Collection[str] = ()
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)  # the other files read for it (env files), by path
    # the folder files it reads must stay in (a git checkout), through any symlink; None: anywhere
    confine: Path | None = None
    # the desired-state folder (a build's context and Dockerfile must lie in it), and the folders
    # outside it a build may read too (--build-allow)
    tree: Path | None = None
    build_allow: tuple[Path, ...] = ()
    # our key path -> the path of the Compose alias the file wrote for it (`aliases.resolve`)
    renamed: dict[Path_, Path_] = field(default_factory=dict)
    # the variables `environment = "VAR"` of a secret or config reads (as interpolation does), and
    # the key of the keyed hash of their values (the state directory's, `desired.filesources`)
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)
    hash_key: Callable[[], bytes] | None = field(default=None, repr=False)
    # "host": the Swarm-only values one host cannot run are errors (`desired.targets`); None: any target
    target: str | None = None

    def escapes(self, path: str) -> bool:
        """Whether `path`, resolved, lies outside `confine`."""
        return self.confine is not None and not Path(os.path.realpath(path)).is_relative_to(self.confine)

    def line_of(self, path: Path_) -> int | None:
        path = written_as(path, self.renamed)
        for end in range(len(path), 0, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None

    def problem(self, path: Path_, message: str) -> Problem:
        path = written_as(path, self.renamed)
        return Problem(self.file, self.line_of(path), dotted(path), scrub(message, self.secret_values))

    def error(self, path: Path_, message: str) -> None:
        self.errors.append(self.problem(path, message))

    def warning(self, path: Path_, message: str) -> None:
        self.warnings.append(self.problem(path, message))

    def show(self, path: Path_, value: object) -> str:
        """The value quoted for a message, unless it holds a secret from the env file."""
        if any(path[: len(secret)] == secret for secret in self.secret_paths):
            return "(a value from the env file)"
        if isinstance(value, str):
            return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(value, bool):
            return "true" if value else "false"
        return repr(value)


def decode_utf8(data: bytes, file: str, what: str = "file") -> str:
    """The text of a file's bytes, without the UTF-8 byte-order mark some editors write first (as
    Docker's env-file reader drops it too); raises LoadFailure naming the line of the first bad byte."""
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        message = f"{what} is not valid UTF-8 (byte 0x{data[error.start]:02x} at column {column})"
        raise LoadFailure(Problem(file, line, "", message)) from None
