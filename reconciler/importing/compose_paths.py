"""Relative paths in a Compose file made absolute where Compose resolves them (compose-go
`paths.ResolveRelativePaths`): a service's `build` context (not a URL), `env_file` and
`label_file`, the source of a bind mount (short syntax: a source starting with `.`, `/` or `~`;
long syntax: `type: bind`), and the `file` of top-level secrets and configs. A leading `~` is the
user's home (`$HOME`), as compose-go's `ExpandUser`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reconciler.importing.compose_tree import Map, Seq

_REMOTE = ("http://", "https://", "git://", "git@", "ssh://", "github.com/")


def absolute(text: str, base: Path, environ: Mapping[str, str]) -> str:
    """`text` as an absolute path: `~` expanded, then joined to `base` when relative."""
    if text == "~" or text.startswith("~/"):
        text = environ.get("HOME") or os.path.expanduser("~") + text[1:]
        text = text if not text.startswith("~") else os.path.expanduser(text)
    return os.path.normpath(os.path.join(base, text))


def _bind_short(text: str, base: Path, environ: Mapping[str, str]) -> str:
    source, sep, rest = text.partition(":")
    if sep and source[:1] in (".", "/", "~"):
        return absolute(source, base, environ) + sep + rest
    return text


def _volume(item: Any, base: Path, environ: Mapping[str, str]) -> Any:
    if isinstance(item, str):
        return _bind_short(item, base, environ)
    if isinstance(item, Map) and item.get("type") == "bind" and isinstance(item.get("source"), str):
        item["source"] = absolute(item["source"], base, environ)
    return item


def _files(value: Any, base: Path, environ: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return absolute(value, base, environ)
    if isinstance(value, Seq):
        for index, item in enumerate(value):
            if isinstance(item, Map) and isinstance(item.get("path"), str):
                item["path"] = absolute(item["path"], base, environ)
            elif isinstance(item, str):
                value[index] = absolute(item, base, environ)
    return value


def resolve_service(service: Any, base: Path, environ: Mapping[str, str]) -> None:
    """Make one service's relative paths absolute against `base` (in place)."""
    if not isinstance(service, Map):
        return
    build = service.get("build")
    if isinstance(build, str) and not build.startswith(_REMOTE):
        service["build"] = absolute(build, base, environ)
    elif isinstance(build, Map) and isinstance(build.get("context"), str) and not build["context"].startswith(_REMOTE):
        build["context"] = absolute(build["context"], base, environ)
    for key in ("env_file", "label_file"):
        if key in service:
            service[key] = _files(service[key], base, environ)
    if isinstance(service.get("volumes"), Seq):
        volumes = service["volumes"]
        for index, item in enumerate(volumes):
            volumes[index] = _volume(item, base, environ)


def resolve_file(tree: Map, base: Path, environ: Mapping[str, str]) -> None:
    """Make the relative paths of one file's services, secrets and configs absolute (in place)."""
    for service in (tree.get("services") or {}).values():
        resolve_service(service, base, environ)
    for top in ("secrets", "configs"):
        for item in (tree.get(top) or {}).values():
            if isinstance(item, Map) and isinstance(item.get("file"), str):
                item["file"] = absolute(item["file"], base, environ)
