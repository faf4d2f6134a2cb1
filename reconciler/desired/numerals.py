"""Compose's string form of a number: `cpus = "0.5"`, `cpu_shares = "512"`, `memswap_limit = "-1"`.

Compose's schema (compose-spec schema/compose-spec.json) takes a number or a string for these keys,
and in TOML the string form is the only way to interpolate one (`cpus = "${CPUS:-0.5}"`). `numbers`
turns each such string of a container into the number it writes, after interpolation and before
the schema check, so the schema's ranges and every later check see the number, and `"512"` and
`512` give one spec (and one spec hash).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

from reconciler.desired.problems import FileReport, Path_

_WHOLE = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_ANY = "*"  # any key of a table or item of an array

# Keys (paths within a container, `_ANY` for every entry) that take an integer or its text.
WHOLE = (
    ("cpu_shares",), ("mem_swappiness",), ("oom_score_adj",), ("pids_limit",), ("resources", "pids_limit"),
    ("blkio_config", "weight"), ("blkio_config", "weight_device", _ANY, "weight"),
    ("blkio_config", "device_read_iops", _ANY, "rate"), ("blkio_config", "device_write_iops", _ANY, "rate"),
    ("healthcheck", "retries"), ("ulimits", _ANY), ("ulimits", _ANY, "soft"), ("ulimits", _ANY, "hard"),
)
# Keys that take an integer, its text, or a string of another form (a duration, a size): a string
# that is no integer is left to the schema.
WHOLE_OR_FORM = (("cpu_period",), ("cpu_quota",), ("cpu_rt_period",), ("cpu_rt_runtime",), ("memswap_limit",))
# Keys that take a number (with a fraction) or its text.
DECIMAL = (("cpus",), ("resources", "cpus"))


def _at(value: Any, pattern: Path_, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    """(path, value) of each string at `pattern` under `value`."""
    if not pattern:
        if isinstance(value, str):
            yield path, value
        return
    key, rest = pattern[0], pattern[1:]
    if isinstance(value, dict):
        keys = list(value) if key == _ANY else [key] if key in value else []
    elif isinstance(value, list) and key == _ANY:
        keys = list(range(len(value)))
    else:
        keys = []
    for each in keys:
        yield from _at(value[each], rest, (*path, each))


def _put(body: dict, path: Path_, number: int | float) -> None:
    for key in path[:-1]:
        body = body[key]
    body[path[-1]] = number


def _number(text: str, whole: bool) -> int | float | None:
    """The number `text` writes (Go's strconv forms: an optional sign, digits, for a decimal a
    fraction and an exponent), or None."""
    if _WHOLE.fullmatch(text):
        return int(text)
    if whole or not _DECIMAL.fullmatch(text):
        return None
    number = float(text)
    return number if math.isfinite(number) else None


def numbers(document: dict, report: FileReport, failed: list[Path_]) -> list[Path_]:
    """Replace, in each container of `document`, the text of a number at a key of WHOLE,
    WHOLE_OR_FORM or DECIMAL with the number; report a WHOLE or DECIMAL key's text that is no such
    number at its key. Paths in `failed` (interpolation's) are left as they are. Returns the paths
    reported, for the schema check to skip."""
    reported: list[Path_] = []
    containers = document.get("container")
    for name, body in containers.items() if isinstance(containers, dict) else ():
        for patterns, whole, required in ((WHOLE, True, True), (WHOLE_OR_FORM, True, False),
                                          (DECIMAL, False, True)):
            for pattern in patterns:
                for path, text in list(_at(body, pattern)):
                    at = ("container", name, *path)
                    if any(at[: len(before)] == before for before in failed):
                        continue
                    number = _number(text, whole)
                    if number is not None:
                        _put(body, path, number)
                    elif required:
                        kind = 'a whole number (such as "512")' if whole else 'a number (such as "0.5")'
                        report.error(at, f"{report.show(at, text)} is not the text of {kind}")
                        reported.append(at)
    return reported
