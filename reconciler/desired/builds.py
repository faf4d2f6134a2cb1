"""A container's `build` and `push` keys -> the model's `Build`, checked where the loader can:
the context and Dockerfile inside the desired-state folder (through any symlink), the Dockerfile
free of what only BuildKit takes, no build argument from the env file, and the content hash that
names the image (see `reconciler.images.builds`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.desired import forms
from reconciler.desired.problems import Problem
from reconciler.fields import Build
from reconciler.images import bases, builds

if TYPE_CHECKING:
    from reconciler.desired.resource import Resource


def built_image(r: Resource, image: str | None) -> dict[str, Any]:
    """{"build", "push", "image"} for a container whose body has `build` (image: the one declared,
    else the build's own tag); {} without it, or {"push": ...} to report a push with nothing to push.
    Each problem is reported at its key; a Dockerfile's at its own FILE:LINE."""
    table, push = r.body.get("build"), r.body.get("push", False)
    if table is None:
        if push:
            r.error("push", "push = true needs a build: only an image built here is pushed")
        return {}
    if push and "image" not in r.written:
        r.error("push", "push = true needs an image: the reference the build is pushed to")
    if image is not None and "@" in image:
        r.error("image", "a built image cannot be pinned by digest: the build makes the digest")
    tree = r.report.tree or r.base
    context = Path(os.path.normpath(r.base / table["context"]))
    dockerfile = Path(os.path.normpath(context / table.get("dockerfile", "Dockerfile")))
    for key, path in (("context", context), ("dockerfile", dockerfile)):
        why = builds.outside(path, tree, r.report.build_allow)
        if why:
            r.error(("build", key), why)
            return {}
    if not context.is_dir():
        r.error(("build", "context"), f"{context} is not a folder")
        return {}
    if not dockerfile.is_file():
        r.error(("build", "dockerfile" if "dockerfile" in table else "context"), f"{dockerfile}: no such Dockerfile")
        return {}
    args = _args(r, table)
    text = _check_dockerfile(r, dockerfile, tree)
    try:
        names = builds.sent_files(context, dockerfile)
        files = builds.context_hash(context, dockerfile, names)
    except OSError as error:
        r.error(("build", "context"), f"cannot read the context: {error.strerror}: {error.filename}")
        return {}
    r.report.inputs.extend([str(dockerfile), *(str(context / name) for name in names)])
    relative = os.path.relpath(dockerfile, context)
    repository = builds.repository(image) if image else builds.derived_repository(str(r.path[-1]))
    tag = builds.build_tag(repository, files, relative, args, table.get("target"), table.get("pull", False))
    spec = Build(str(context), tag, str(dockerfile), args, table.get("target"), table.get("pull", False),
                 bases.from_images(text, table.get("target")))
    return {"build": spec, "push": push, "image": image or tag}


def _args(r: Resource, table: dict) -> dict[str, str]:
    """The build arguments; one whose value came from the env file is refused (DESIGN section 11:
    build arguments stay in the image's history, readable by anyone who can pull it)."""
    args = forms.string_map(table.get("args", {}))
    for name in args:
        path = (*r.path, "build", "args", name)
        if any(path[: len(secret)] == secret for secret in r.report.secret_paths):
            r.error(("build", "args", name), "a build argument must not take a value from the env file: build "
                    "arguments stay in the image's history (`docker history`); give the secret to the container")
    return args


def _check_dockerfile(r: Resource, dockerfile: Path, tree: Path) -> str:
    """Report what the classic builder cannot take at the Dockerfile's own FILE:LINE; its text
    ("" when it cannot be read, reported)."""
    try:
        text = dockerfile.read_text(errors="replace")
    except OSError as error:
        r.error(("build", "dockerfile"), f"cannot read {dockerfile}: {error.strerror}")
        return ""
    shown = os.path.relpath(dockerfile, tree) if dockerfile.is_relative_to(tree) else str(dockerfile)
    for line, message in builds.dockerfile_problems(text):
        r.report.errors.append(Problem(shown, line, "", f"{message} (the build of container.{r.path[-1]})"))
    return text
