"""KEY=VALUE files: the `--env-file` of interpolation, and a container's `env_file`.

Lines are `KEY=VALUE`, optionally prefixed by `export `; blank lines and `#` comments are skipped.
A value may be in double quotes (with \\n, \\t, \\" and \\\\ escapes) or single quotes (literal);
an unquoted value ends at ` #`, and surrounding blanks are dropped. The values are secrets: no
error message ever quotes a line.
"""

from __future__ import annotations

import re

from reconciler.desired.problems import LoadFailure, Problem, decode_utf8

_LINE = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*?)\s*")
_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "$": "$"}


def _value(raw: str) -> str | None:
    if raw.startswith('"'):
        match = re.fullmatch(r'"((?:[^"\\]|\\.)*)"(\s+#.*)?', raw)
        if not match:
            return None
        return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), match.group(1))
    if raw.startswith("'"):
        match = re.fullmatch(r"'([^']*)'(\s+#.*)?", raw)
        return match.group(1) if match else None
    return re.split(r"\s+#", raw, maxsplit=1)[0]


def parse_env(text: str, name: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.fullmatch(line)
        value = _value(match.group(2)) if match else None
        if value is None:
            message = "expected KEY=VALUE (the line is not shown: it may hold a secret)"
            raise LoadFailure(Problem(name, number, "", message))
        values[match.group(1)] = value
    return values


def read_env_file(path: str | None) -> dict[str, str]:
    """The variables of a KEY=VALUE file; {} for None. Raises LoadFailure when it cannot be used."""
    if path is None:
        return {}
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise LoadFailure(Problem(path, None, "", f"cannot read env file: {error.strerror or error}")) from None
    text = decode_utf8(data, path, what="env file")
    return parse_env(text, path)
