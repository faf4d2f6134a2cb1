"""Writing what an import made: desired-state TOML files under `--out`, and the env file beside it.

The importers decide the tables; this module only renders and writes them. A nested mapping is
written as an inline table (`env = { A = "1" }`) unless it is long, then as a sub-table
(`[container.web.env]`); a list of mappings one item per line. Nothing is written unless
everything can be: an existing file is refused (unless `force`), and so is an env file inside
`--out`, where the agent would read it as desired state and git would keep it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import Array, InlineTable, Table

ENV_SUFFIX = ".env"
_INLINE_WIDTH = 100
_DOUBLE_QUOTED_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "$": "\\$"}


class ImportFailure(Exception):
    """An import that cannot write its output; the message names the path and why."""


@dataclass(frozen=True)
class Resource:
    """One `[KIND.NAME]` table to write.

    `table` holds TOML values (str, int, float, bool, lists, mappings) in the order to write them;
    `notes` maps a top-level key of the table to a comment written at the end of its line (what was
    converted, and from what); `comment` is written above the table header, a `#` line per line.
    """

    kind: str
    name: str
    table: Mapping[str, Any]
    notes: Mapping[str, str] = field(default_factory=dict)
    comment: str = ""


@dataclass(frozen=True)
class Skipped:
    """A key an import could not carry over: where it was (`compose.yaml:12` or a container's
    name), its key path (`services.web.deploy`) and why."""

    origin: str
    key: str
    why: str

    def __str__(self) -> str:
        return f"{self.origin}: {self.key}: {self.why}"


def default_env_path(out: Path) -> Path:
    """The env file beside `out`: `desired-state` -> `desired-state.env` in the same folder."""
    resolved = out.resolve()
    return resolved.with_name(resolved.name + ENV_SUFFIX)


def render(resources: Sequence[Resource], header: str = "") -> str:
    """One TOML document holding `resources` in order, `header` as `#` lines on top."""
    parts = [_comment_lines(header)] if header else []
    for resource in resources:
        doc = tomlkit.document()
        holder = tomlkit.table(is_super_table=True)
        holder.add(resource.name, _table(resource))
        doc.add(resource.kind, holder)
        parts.append(_comment_lines(resource.comment) + tomlkit.dumps(doc))
    return "\n".join(parts)


def render_env(values: Mapping[str, str]) -> str:
    """KEY=VALUE lines, sorted, quoted so that the env-file reader (reconciler/desired/envfile.py,
    Compose's dotenv rules) reads back exactly `values`: single quotes where the value allows
    them, else double quotes with escapes."""
    return "".join(f"{name}={_env_value(value)}\n" for name, value in sorted(values.items()))


def write(
    out: Path,
    files: Mapping[str, Sequence[Resource]],
    *,
    header: str = "",
    env: Mapping[str, str] | None = None,
    env_path: Path | None = None,
    force: bool = False,
) -> list[Path]:
    """Write each `files` entry (a path relative to `out` -> its resources) and, when `env` has
    values, the env file at `env_path` (default: `default_env_path(out)`), mode 0600.

    Returns the paths written, env file last. Raises ImportFailure, having written nothing, when
    a file exists (unless `force`), or the env file would be inside `out`.
    """
    targets = {out / relative: render(resources, header) for relative, resources in files.items()}
    env_target = (env_path or default_env_path(out)) if env else None
    if env_target is not None and env_target.resolve().is_relative_to(out.resolve()):
        raise ImportFailure(f"{env_target}: the env file must not be inside {out}: it holds values that may be "
                            "secret, and everything in the desired-state folder is read and versioned")
    taken = [path for path in [*targets, *([env_target] if env_target else [])] if path.exists()]
    if taken and not force:
        raise ImportFailure(f"{taken[0]}: exists; nothing was written (--force overwrites)")
    for path, text in targets.items():
        _write_atomically(path, text, 0o644)
    if env_target is not None:
        _write_atomically(env_target, render_env(env or {}), 0o600)
    return [*targets, *([env_target] if env_target else [])]


def earlier(out: Path, header: str, written: Iterable[Path]) -> list[Path]:
    """The TOML files directly in `out` that begin with the first line of `header` (an earlier
    import of the same source wrote them) and are not among `written`, sorted."""
    mark = _comment_lines(header.splitlines()[0]) if header else ""
    kept = {path.resolve() for path in written}
    found = []
    for path in sorted(out.glob("*.toml")) if mark else ():
        with path.open(encoding="utf-8", errors="replace") as file:
            if file.readline() == mark and path.resolve() not in kept:
                found.append(path)
    return found


def _table(resource: Resource) -> Table:
    table = tomlkit.table()
    for key, value in resource.table.items():
        table.add(key, _item(value))
        if key in resource.notes:
            table[key].comment(resource.notes[key])
    return table


def _item(value: Any) -> Any:
    if isinstance(value, Mapping):
        inline = _inline(value)
        if len(inline.as_string()) <= _INLINE_WIDTH:
            return inline
        table = tomlkit.table()
        for key, inner in value.items():
            table.add(key, _item(inner))
        return table
    if isinstance(value, list | tuple):
        array: Array = tomlkit.array()
        array.extend(_inline(v) if isinstance(v, Mapping) else _item(v) for v in value)
        if any(isinstance(v, Mapping) for v in value) or len(array.as_string()) > _INLINE_WIDTH:
            array.multiline(True)
        return array
    return value


def _inline(value: Mapping[str, Any]) -> InlineTable:
    inline = tomlkit.inline_table()
    for key, inner in value.items():
        inline.append(key, _inline(inner) if isinstance(inner, Mapping) else _item(inner))
    return inline


def _comment_lines(text: str) -> str:
    return "".join(f"# {line}".rstrip() + "\n" for line in text.splitlines())


def _env_value(value: str) -> str:
    if "'" not in value and "\n" not in value:
        return f"'{value}'"
    return '"' + "".join(_DOUBLE_QUOTED_ESCAPES.get(ch, ch) for ch in value) + '"'


def _write_atomically(path: Path, text: str, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
