"""Line numbers of TOML keys: `tomllib` gives none, so the text is scanned for them.

`key_lines(text)` maps each key path (`("container", "web", "ports", 1)`) to the line where it is
written: table headers, plain and dotted keys, and the elements of arrays written over several
lines. Keys inside a one-line inline table share their parent's line, which is exact since TOML
keeps an inline table on one line. The scan is forgiving: it is only run on text that parsed.
"""

from __future__ import annotations

import re

from reconciler.desired.problems import Path_

_KEY = re.compile(r"""\s*(?:([A-Za-z0-9_-]+)|"((?:[^"\\]|\\.)*)"|'([^']*)')\s*""")
_CLOSERS = {"[": "]", "{": "}"}


def _keys(text: str, pos: int) -> tuple[tuple[str, ...], int]:
    """Parse a dotted key at `pos`; returns the keys and the position after them."""
    keys: list[str] = []
    while True:
        match = _KEY.match(text, pos)
        if not match:
            return tuple(keys), pos
        bare, basic, literal = match.groups()
        keys.append(bare if bare is not None else basic if basic is not None else literal)
        pos = match.end()
        if not text.startswith(".", pos):
            return tuple(keys), pos
        pos += 1


class _Scanner:
    """Tracks strings, brackets and array element counts across lines."""

    def __init__(self) -> None:
        self.quote = ""  # the open string's delimiter, '' outside strings
        self.stack: list[list] = []  # [bracket, path, element index] per open bracket
        self.deepest = 0  # the most brackets open at once so far

    @property
    def in_value(self) -> bool:
        return bool(self.quote or self.stack)

    def element_path(self, line: str) -> Path_ | None:
        """The path of an array element that starts on this continuation line, if any."""
        if self.quote or not self.stack or self.stack[-1][0] != "[":
            return None
        stripped = line.strip()
        if not stripped or stripped[0] in "]#,":
            return None
        _, path, index = self.stack[-1]
        return (*path, index) if path is not None else None

    def scan(self, line: str, pos: int, path: Path_ | None) -> None:
        i = pos
        while i < len(line):
            if self.quote:
                i = self._in_string(line, i)
                continue
            char = line[i]
            if char == "#":
                return
            if line.startswith(('"""', "'''"), i):
                self.quote = line[i : i + 3]
                i += 3
                continue
            if char in "\"'":
                self.quote = char
            elif char in _CLOSERS:
                top_path = path if not self.stack else None
                self.stack.append([char, top_path, 0])
                self.deepest = max(self.deepest, len(self.stack))
            elif char in "]}" and self.stack:
                self.stack.pop()
            elif char == "," and self.stack:
                self.stack[-1][2] += 1
            i += 1
        if self.quote in ('"', "'"):
            self.quote = ""

    def _in_string(self, line: str, i: int) -> int:
        if line[i] == "\\" and self.quote in ('"', '"""'):
            return i + 2
        if line.startswith(self.quote, i):
            i += len(self.quote)
            self.quote = ""
            return i
        return i + 1


def key_lines(text: str) -> dict[Path_, int]:
    lines: dict[Path_, int] = {}
    table: Path_ = ()
    array_tables: dict[Path_, int] = {}
    scanner = _Scanner()
    for number, line in enumerate(text.splitlines(), start=1):
        if scanner.in_value:
            element = scanner.element_path(line)
            if element is not None:
                lines.setdefault(element, number)
            scanner.scan(line, 0, None)
            continue
        stripped = line.lstrip()
        offset = len(line) - len(stripped)
        if stripped.startswith("[["):
            keys, _ = _keys(stripped, 2)
            index = array_tables[keys] = array_tables.get(keys, -1) + 1
            table = (*keys, index)
        elif stripped.startswith("["):
            keys, _ = _keys(stripped, 1)
            table = keys
        elif stripped and stripped[0] != "#":
            keys, end = _keys(stripped, 0)
            if not keys or not stripped.startswith("=", end):
                continue
            path = (*table, *keys)
            for depth in range(len(table) + 1, len(path) + 1):
                lines.setdefault(path[:depth], number)
            scanner.scan(line, offset + end + 1, path)
            continue
        else:
            continue
        for depth in range(1, len(table) + 1):
            lines.setdefault(table[:depth], number)
    return lines


def too_deep(text: str, limit: int) -> int | None:
    """The first line on which tables and arrays nest more than `limit` levels deep, if any.

    Levels count from the file's top-level table: `[a.b]` is 2 deep, `[[a.b]]` 3 (the array, then
    its table); below `[a.b]`, `k.l = [[1]]` is 5 (the table `k`, the array `l`, the inner array).
    Run on the text before parsing, since tomllib parses nested arrays and inline tables
    recursively; keys inside inline tables are not counted here (the parsed document is).
    """
    scanner, table, base = _Scanner(), 0, 0
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.lstrip()
        if scanner.in_value:
            scanner.scan(line, 0, None)
        elif stripped.startswith("["):
            array = stripped.startswith("[[")
            keys, _ = _keys(stripped, 1 + array)
            table = base = len(keys) + array
            scanner.deepest = 0
        else:
            keys, end = _keys(stripped, 0)
            if not keys or not stripped.startswith("=", end):
                continue
            base, scanner.deepest = table + len(keys) - 1, 0
            scanner.scan(stripped, end + 1, None)
        if base + scanner.deepest > limit:
            return number
    return None
