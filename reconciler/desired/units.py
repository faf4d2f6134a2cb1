"""Durations and sizes as the files write them ("1m30s", "64m"), turned into seconds and bytes."""

from __future__ import annotations

import re

_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(h|ms|us|m|s)")
_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 0.000001}
_SIZE = re.compile(r"([0-9]+(?:\.[0-9]+)?)([kmg]?)b?", re.IGNORECASE)
_BYTES = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def duration(value: str | int) -> float:
    """Seconds in a duration: an integer number of seconds, or a string such as "1m30s"."""
    if isinstance(value, int):
        return float(value)
    parts = _DURATION_PART.findall(value)
    if not parts or "".join(number + unit for number, unit in parts) != value:
        raise ValueError(f"not a duration: {value!r}")
    return sum(float(number) * _SECONDS[unit] for number, unit in parts)


def size(value: str | int) -> int:
    """Bytes in a size: an integer number of bytes, or a string such as "64m" (units of 1024)."""
    if isinstance(value, int):
        return value
    match = _SIZE.fullmatch(value)
    if not match:
        raise ValueError(f"not a size: {value!r}")
    number, unit = match.groups()
    return int(float(number) * _BYTES[unit.lower()])
