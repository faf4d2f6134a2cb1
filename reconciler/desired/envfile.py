"""KEY=VALUE files: the `--env-file` of interpolation, and a container's `env_file`.

Read as Compose reads `.env` files (compose-go dotenv): lines are `KEY=VALUE`, optionally
prefixed by `export `; blank lines and `#` comments are skipped. A value may be in double quotes
(with \\n, \\t, \\", \\\\ and \\$ escapes) or single quotes (literal), and a quoted value may
span lines up to its closing quote, after which only a `#` comment may follow; an unquoted value
ends at ` #`, and surrounding blanks are dropped. The values are secrets: no error message ever
quotes a line, and a problem is reported at the line where its entry starts.
"""

from __future__ import annotations

import re

from reconciler.desired.problems import LoadFailure, Problem, decode_utf8

_ENTRY = re.compile(r"[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_.-]*)[ \t]*=[ \t]*")
_AFTER_QUOTE = re.compile(r"[ \t]*(#[^\n]*)?(\n|$)")
_QUOTED = {'"': re.compile(r'"((?:[^"\\]|\\.)*)"', re.DOTALL), "'": re.compile(r"'([^']*)'")}
_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "$": "$"}
_NOT_SHOWN = "(the line is not shown: it may hold a secret)"
# runc refuses it when it starts the container (libcontainer/init_linux.go populateProcessEnvironment).
NUL_IN_VALUE = "must not hold a NUL character: the engine refuses it when it starts the container"


def _unquoted(text: str, start: int) -> tuple[str, int]:
    """The value from `start` to the end of its line, before a ` #` comment; and where the next
    line starts."""
    end = text.find("\n", start)
    end = len(text) if end < 0 else end
    return re.split(r"[ \t]+#", text[start:end], maxsplit=1)[0].strip(), end + 1


def _quoted(text: str, start: int, key: str) -> tuple[str, int]:
    """The quoted value at `start` (possibly over several lines), and where the next line starts.
    Raises ValueError, with a message that never holds the value."""
    quote = text[start]
    match = _QUOTED[quote].match(text, start)
    if match is None:
        raise ValueError(f"the quoted value of {key} is never closed (unterminated quote)")
    after = _AFTER_QUOTE.match(text, match.end())
    if after is None:
        raise ValueError(f"only a # comment may follow the closing quote of {key} {_NOT_SHOWN}")
    value = match.group(1)
    if quote == '"':
        value = re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), value, flags=re.DOTALL)
    return value, after.end()


def _value(text: str, start: int, key: str) -> tuple[str, int]:
    """The value of `key` at `start`, quoted or not, and where the next line starts."""
    if text[start : start + 1] in ('"', "'"):
        return _quoted(text, start, key)
    return _unquoted(text, start)


def parse_env(text: str, name: str, nul_values: bool = True) -> dict[str, str]:
    """The variables of an env file's text; raises LoadFailure naming the file and the line where
    the entry at fault starts. Without `nul_values`, a value holding a NUL character is at fault
    (one for a container's environment, which the engine refuses)."""
    text = text.replace("\r\n", "\n")
    values: dict[str, str] = {}
    position, number = 0, 1
    while position < len(text):
        end = text.find("\n", position)
        line = text[position : len(text) if end < 0 else end]
        entry = _ENTRY.match(line)
        try:
            if not line.strip() or line.lstrip().startswith("#"):
                following = position + len(line) + 1
            elif entry is None:
                raise ValueError(f"expected KEY=VALUE {_NOT_SHOWN}")
            else:
                key = entry.group(1)
                values[key], following = _value(text, position + entry.end(), key)
                if not nul_values and "\0" in values[key]:
                    raise ValueError(f"the value of {key} {NUL_IN_VALUE}")
        except ValueError as error:
            raise LoadFailure(Problem(name, number, "", str(error))) from None
        number += text.count("\n", position, following)
        position = following
    return values


def read_env_file(path: str | None, nul_values: bool = True) -> dict[str, str]:
    """The variables of a KEY=VALUE file; {} for None. Raises LoadFailure when it cannot be used
    (see `parse_env` for `nul_values`)."""
    if path is None:
        return {}
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise LoadFailure(Problem(path, None, "", f"cannot read env file: {error.strerror or error}")) from None
    text = decode_utf8(data, path, what="env file")
    return parse_env(text, path, nul_values)


def values_of(path: str | None) -> frozenset[str]:
    """Every value of the env file at `path` (`run --env-file`), used by a desired-state file or
    not: the secrets a message must never show (DESIGN section 11); none for None or a file that
    cannot be read (its problem is reported where the files are loaded)."""
    try:
        return frozenset(read_env_file(path).values())
    except LoadFailure:
        return frozenset()
