"""Stop signals as the engine reads them: moby/sys `signal.ParseSignal` with Linux's `SignalMap`.

A signal is a number from 1 to 64, or a name with or without the `SIG` prefix, in any case
(`SIGTERM`, `term`, `SIGRTMIN+3`). The value is kept as written: the engine parses it again.
"""

from __future__ import annotations

from reconciler.desired.schema import did_you_mean

_NAMES = frozenset({
    "ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT", "KILL", "PIPE",
    "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM", "TRAP", "TSTP", "TTIN", "TTOU",
    "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ", "RTMIN", "RTMAX",
    *(f"RTMIN+{n}" for n in range(1, 16)), *(f"RTMAX-{n}" for n in range(1, 15)),
})
_HIGHEST = 64  # SIGRTMAX on Linux


def stop_signal(value: str) -> str:
    """The signal as written, or ValueError (with the closest name) when the engine would refuse it."""
    if value.isdigit():
        if not 1 <= int(value) <= _HIGHEST:
            raise ValueError(f"signal number {value} is out of range (1-{_HIGHEST})")
        return value
    name = value.upper()
    if name.removeprefix("SIG") in _NAMES:
        return value
    known = sorted(f"SIG{n}" for n in _NAMES) if name.startswith("SIG") else sorted(_NAMES)
    raise ValueError(f"unknown signal '{value}'{did_you_mean(name, known)}: expected a name such as SIGTERM,"
                     f" or a number from 1 to {_HIGHEST}")
