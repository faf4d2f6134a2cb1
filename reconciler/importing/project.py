"""A Compose project as `docker compose config` reads it, with where each value was written.

The reading side (`compose_*` modules) builds it; the converting side turns it into
desired-state resources. Paths are tuples of mapping keys and sequence indexes into `model`,
e.g. `("services", "web", "ports", 0)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ModelPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Origin:
    """Where a value was written: the file and its 1-based line."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class ComposeProject:
    """One Compose project, read as Compose reads it.

    - `name`: the project name, as Compose picks it (`-p`, `COMPOSE_PROJECT_NAME`, the top-level
      `name`, else the project directory's base name), normalised as Compose does (lower case,
      `[a-z0-9_-]` only).
    - `directory`: the project directory; relative paths in `model` are already resolved against
      it where Compose resolves them (build contexts, bind sources, env_file, secret/config files).
    - `files`: every file read, in order, `include`d and `extends` files too.
    - `model`: the merged files with `extends` and `include` resolved, interpolated, and services
      outside the active profiles left out; values as YAML 1.2 reads them (str, int, float, bool,
      None, list, dict) under the top-level keys `services`, `networks`, `volumes`, `secrets`,
      `configs`.
    - `origins`: path -> where it was written; every mapping key and sequence item has one.
    - `written`: for each string that held an interpolation, its text as written (`${DB_PASSWORD}`,
      `$DB_HOST`); strings without one are absent.
    - `dotenv`: the variables the interpolations, a bare `environment` NAME, or a secret's or
      config's `environment` took from `.env` or `--env-file` (name -> value); those taken from
      the process environment are not here. A name an included project took from its own env
      file with another value than the top project's is here as `NAME_<FOLDER>`, as `written` names it.
    - `profiles`: the profiles given (`--profile`, else `COMPOSE_PROFILES`); () when none was.
    - `inactive`: services left out by profiles -> their profiles.
    - `warnings`: what Compose would warn about (an unset variable, an obsolete `version`), each as
      `FILE:LINE: key.path: message`, never with a variable's value.
    """

    name: str
    directory: Path
    files: tuple[Path, ...]
    model: Mapping[str, Any]
    origins: Mapping[ModelPath, Origin] = field(default_factory=dict)
    written: Mapping[ModelPath, str] = field(default_factory=dict)
    dotenv: Mapping[str, str] = field(default_factory=dict)
    inactive: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    profiles: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
