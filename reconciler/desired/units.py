"""Durations and sizes as the files write them ("1m30s", "64m"), turned into seconds and bytes.

Both are bounded by what the engine stores: a duration is a Go `time.Duration` (int64
nanoseconds, so at most 2562047h47m16s in whole seconds) and a size an int64 number of bytes.
"""

from __future__ import annotations

import re

INT64_MAX = 2**63 - 1
MAX_SECONDS = 9_223_372_036  # 2562047h47m16s: Go's time.Duration, int64 nanoseconds, in whole seconds
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(h|ms|us|m|s)")
_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 0.000001}
_SIZE = re.compile(r"([0-9]+(?:\.[0-9]+)?)([kmg]?)b?", re.IGNORECASE)
_BYTES = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def is_duration(value: str) -> bool:
    """Whether `value` is a duration string such as "1m30s" (of any length)."""
    parts = _DURATION_PART.findall(value)
    return bool(parts) and "".join(number + unit for number, unit in parts) == value


def duration(value: str | int) -> float:
    """Seconds in a duration: an integer number of seconds, or a string such as "1m30s"."""
    if isinstance(value, int):
        seconds = float(value)
    else:
        if not is_duration(value):
            raise ValueError(f"not a duration: {value!r}")
        parts = _DURATION_PART.findall(value)
        seconds = sum(float(number) * _SECONDS[unit] for number, unit in parts)
    if not seconds <= MAX_SECONDS:
        raise ValueError("must be at most 2562047h47m16s, the engine's longest duration (int64 nanoseconds)")
    return seconds


def size(value: str | int) -> int:
    """Bytes in a size: an integer number of bytes, or a string such as "64m" (units of 1024)."""
    if isinstance(value, int):
        amount: float = value
    else:
        match = _SIZE.fullmatch(value)
        if not match:
            raise ValueError(f"not a size: {value!r}")
        number, unit = match.groups()
        amount = float(number) * _BYTES[unit.lower()]
    if not amount <= INT64_MAX:
        raise ValueError(f"must be at most {INT64_MAX} bytes, the engine's largest size (int64)")
    return int(amount)
