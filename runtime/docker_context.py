"""The files the docker SDK sends as a build context: the one place that reads its `.dockerignore`
rules, so that what is hashed (`reconciler.images.builds`) is exactly what the engine receives."""

from __future__ import annotations

import os

from docker.utils.build import exclude_paths


def dockerignore(context: str) -> list[str]:
    """The patterns of `context`/.dockerignore as the SDK reads them (docker/api/build.py: lines
    stripped, empty ones and those starting with '#' left out); [] when there is none."""
    path = os.path.join(context, ".dockerignore")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [line.strip() for line in f.read().splitlines() if line.strip() and not line.strip().startswith("#")]


def context_files(context: str, dockerfile: str | None) -> list[str]:
    """The paths (relative to `context`, sorted; directories included) the SDK puts in the build
    context's tar (docker/utils/build.py `tar` and `exclude_paths`): everything `.dockerignore`
    does not exclude, and always the Dockerfile (`dockerfile`, relative to the context; None when
    it lies outside, where the SDK sends its content under a random name) and `.dockerignore`."""
    name = dockerfile if dockerfile is not None else ".dockerfile.outside"  # the SDK's name is random, never a file
    return sorted(exclude_paths(os.path.abspath(context), dockerignore(context), dockerfile=name))
