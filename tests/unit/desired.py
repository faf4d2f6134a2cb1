"""Helpers for loader tests: write a desired-state directory, load it, read the problems as text."""

from __future__ import annotations

import textwrap
from pathlib import Path

from reconciler.desired.loader import LoadResult, load


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"))
    return root


def load_texts(root: Path, files: dict[str, str | bytes], **kwargs) -> LoadResult:
    return load(write(root, files), environ=kwargs.pop("environ", {}), **kwargs)


def errors(root: Path, files: dict[str, str | bytes], **kwargs) -> list[str]:
    """The printed errors of loading these files."""
    return [str(problem) for problem in load_texts(root, files, **kwargs).errors]


def container(root: Path, body: str, **kwargs):
    """The ContainerSpec `app` declared by this body, failing the test on any error."""
    result = load_texts(root, {"app.toml": "[container.app]\nimage = \"demo\"\n" + textwrap.dedent(body)}, **kwargs)
    assert result.errors == (), [str(e) for e in result.errors]
    return result.state.containers["app"]
