"""Compose's interpolation, written in ours: the text a user wrote (`$DB_HOST`, `${PASSWORD:?}`)
becomes the text our loader resolves the same way (`reconciler/desired/interpolate.py`).

Compose's forms (compose-spec 12-interpolation.md): `$$` a literal `$`; `${VAR}` and `$VAR`;
`${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`, `${VAR?error}`; `${VAR:+replacement}`,
`${VAR+replacement}`. Ours have all but the unbraced `$VAR` (written `${VAR}` here) and the `+`
forms (none here: `Translation.plus` names their variables, for the caller to decide).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")


@dataclass
class Translation:
    """`text` in our syntax; `names` every variable it reads; `plus` those read by a `+` form;
    `required` those read without a default (`$VAR`, `${VAR}`, `${VAR?e}`, `${VAR:?e}`)."""

    text: str = ""
    names: set[str] = field(default_factory=set)
    plus: set[str] = field(default_factory=set)
    required: set[str] = field(default_factory=set)


def translate(written: str) -> Translation:
    """Compose's `written` in our interpolation syntax. A `$` that starts no interpolation is kept."""
    out = Translation()
    out.text = _translate(written, out)
    return out


def escape(value: str) -> str:
    """A resolved string written so that our loader reads it back as is: each `$` that would start
    an interpolation (`${`) or an escape (`$$`) is doubled. `$HOME` stays `$HOME` (kept by ours)."""
    return "".join("$$" if ch == "$" and value[i + 1 : i + 2] in ("{", "$") else ch for i, ch in enumerate(value))


def _translate(text: str, out: Translation) -> str:
    parts: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("$$", i):
            parts.append("$$")
            i += 2
        elif text.startswith("${", i):
            end = _closing_brace(text, i + 2)
            if end < 0:
                parts.append(text[i:])
                break
            parts.append(_braced(text[i + 2 : end], out))
            i = end + 1
        elif text[i] == "$" and (match := _NAME.match(text, i + 1)):
            out.names.add(match.group())
            out.required.add(match.group())
            parts.append("${" + match.group() + "}")
            i = match.end()
        else:
            parts.append(text[i])
            i += 1
    return "".join(parts)


def _braced(body: str, out: Translation) -> str:
    match = _NAME.match(body)
    if not match:
        return "${" + body + "}"
    name, rest = match.group(), body[match.end() :]
    out.names.add(name)
    operator = next((op for op in _OPERATORS if rest.startswith(op)), "")
    if operator.endswith("+"):
        out.plus.add(name)
    if operator in ("", "?", ":?"):
        out.required.add(name)
    argument = rest[len(operator) :]
    return "${" + name + operator + _translate(argument, out) + "}"


def _closing_brace(text: str, start: int) -> int:
    depth = 1
    for i in range(start, len(text)):
        if text.startswith("${", i):
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
    return -1


def go_text(value: Any) -> str:
    """A YAML scalar as Compose v2 turns it into an environment value (Go's `fmt.Sprint`): `1e3`
    is "1000", `1.5e7` "1.5e+07", `true` "true", an integer beyond int64 its digits."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, float):
        return str(value)
    if math.isinf(value) or math.isnan(value):
        return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")
    number = Decimal(repr(value)).normalize()
    _, digits, exponent = number.as_tuple()
    power = len(digits) + int(exponent) - 1
    if -4 <= power < 6:  # strconv.FormatFloat(f, 'g', -1, 64): %e below 1e-4 and from 1e6 (its shortest precision)
        return format(number, "f")
    mantissa = "".join(map(str, digits))
    sign = "-" if value < 0 else ""
    return f"{sign}{mantissa[0]}{'.' + mantissa[1:] if len(mantissa) > 1 else ''}e{'+' if power >= 0 else '-'}" \
           f"{abs(power):02d}"
