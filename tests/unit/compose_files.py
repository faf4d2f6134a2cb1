"""Compose files written to a temporary project directory and read with `load_project`."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reconciler.importing.compose_load import load_project
from reconciler.importing.project import ComposeProject


def write(directory: Path, files: Mapping[str, str]) -> list[Path]:
    """Write each file (dedented) under `directory`; returns their paths, in order."""
    paths = []
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        paths.append(path)
    return paths


def load(directory: Path, files: Mapping[str, str], given: tuple[str, ...] = (), **options: Any) -> ComposeProject:
    """Write `files`, then load the project of `given` (names among them; none: Compose's defaults)."""
    write(directory, files)
    options.setdefault("environ", {})
    options.setdefault("project_directory", directory)
    return load_project([directory / name for name in given], **options)


def service(project: ComposeProject, name: str = "web") -> dict[str, Any]:
    return project.model["services"][name]
