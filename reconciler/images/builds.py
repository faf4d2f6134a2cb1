"""Builds from a Dockerfile, the parts that need no engine: where the context may lie, what the
classic builder refuses, and the content hash that names the image a build yields.

The engine builds with its classic builder: Docker Engine API 1.41 has no BuildKit session, and
Podman 4.3's compatible `/build` takes the same classic Dockerfile. So BuildKit-only syntax (a
`# syntax=` parser directive, `RUN --mount` and the other flags BuildKit added, heredocs) is a
validation error here, never a surprise at build time. The hash covers exactly the files the docker SDK sends (its
`.dockerignore` rules, `runtime.docker_context`): paths, modes and content, symlinks as the text
they point to; plus the Dockerfile when it lies outside the context, and the build options.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path

from runtime.docker_context import context_files

BUILDER = "the engine's classic builder (Docker Engine API 1.41 and Podman's compatible API have no BuildKit)"
TAG_PREFIX = "build-"
TAG_DIGITS = 16  # hex digits of the content hash in the tag: 64 bits

_SYNTAX = re.compile(r"#\s*syntax\s*=", re.IGNORECASE)
_DIRECTIVE = re.compile(r"#\s*\w+\s*=")
_FLAGGED = re.compile(r"^\s*(?:ONBUILD\s+)?(RUN|COPY|ADD)((?:\s+--[\w-]+(?:=\S*)?)+)", re.IGNORECASE)
# the flags Docker 20.10's classic builder parses (builder/dockerfile/instructions/parse.go); --chmod
# is parsed on COPY and ADD only to be refused as needing BuildKit, and any other flag is unknown to it
_CLASSIC_FLAGS = {"RUN": frozenset(), "COPY": frozenset({"chown", "from"}), "ADD": frozenset({"chown"})}
_HEREDOC = re.compile(r"^\s*(?:RUN|COPY|ADD)\b.*<<-?\s*[\"']?[A-Za-z_][A-Za-z0-9_]*[\"']?", re.IGNORECASE)


def dockerfile_problems(text: str) -> list[tuple[int, str]]:
    """(line, message) for each line of a Dockerfile the classic builder cannot take: a `# syntax=`
    parser directive (among the leading directives, as Docker's parser reads them), a flag of RUN,
    COPY or ADD the classic builder does not take (`RUN --mount`, `RUN --network`, `RUN --security`,
    `COPY --link`, `COPY --chmod`, `ADD --checksum`, `ADD --keep-git-dir`, ...; see `_buildkit_flag`)
    and heredocs (`RUN <<EOF`, `COPY <<EOF /file`), all BuildKit's (Dockerfile frontend 1.4 and later)."""
    problems = []
    directives = True
    for number, line in _logical_lines(text):
        stripped = line.strip()
        if directives and _DIRECTIVE.match(stripped):
            if _SYNTAX.match(stripped):
                problems.append((number, f"a '# syntax=' directive needs BuildKit; {BUILDER}"))
            continue
        directives = False
        flag = _buildkit_flag(line)
        if flag:
            problems.append((number, f"{flag} needs BuildKit; {BUILDER}"))
        elif _HEREDOC.match(line):
            problems.append((number, f"a heredoc (<<) needs BuildKit; {BUILDER}"))
    return problems


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(the number of its first line, the line) for each instruction, a line that ends in `\\`
    joined with the next as the builder joins them (`RUN \\` then `  --network=none true` is one
    RUN); comment lines inside a continued instruction are skipped, as the builder skips them."""
    joined: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if pending is not None and line.lstrip().startswith("#"):
            continue
        start, head = pending if pending is not None else (number, "")
        whole = f"{head} {line}" if pending is not None else line
        if whole.rstrip().endswith("\\"):
            pending = (start, whole.rstrip()[:-1])
            continue
        pending = None
        joined.append((start, whole))
    if pending is not None:
        joined.append(pending)
    return joined


def _buildkit_flag(line: str) -> str | None:
    """"INSTRUCTION --flag" for the first flag of a RUN, COPY or ADD line that the classic builder
    does not take (`RUN --network`, `COPY --link`, `COPY --chmod`, `ADD --checksum`, ...); None
    when every flag is one it takes (`COPY --chown`, `COPY --from`, `ADD --chown`)."""
    found = _FLAGGED.match(line)
    if found is None:
        return None
    instruction = found.group(1).upper()
    for flag in found.group(2).split():
        name = flag[2:].partition("=")[0].lower()
        if name not in _CLASSIC_FLAGS[instruction]:
            return f"{instruction} --{name}"
    return None


def outside(path: Path, tree: Path, allowed: tuple[Path, ...] = ()) -> str | None:
    """Why `path`, with every symlink resolved, may not be built from: it lies neither inside the
    desired-state `tree` nor inside a folder of `allowed` (the agent's `--build-allow`); or None.
    A commit must not be able to build `/etc` (or a symlink to it) into an image."""
    real = Path(os.path.realpath(path))
    roots = [Path(os.path.realpath(root)) for root in (tree, *allowed)]
    if any(real.is_relative_to(root) for root in roots):
        return None
    shown = f"{path} (resolved: {real})" if real != Path(path) else str(path)
    return f"{shown} lies outside the desired-state folder {roots[0]}; a build may only read there" + (
        " or under --build-allow" if allowed else " (an outside folder needs --build-allow DIR)")


def sent_files(context: Path, dockerfile: Path) -> list[str]:
    """The paths (relative to `context`, sorted, directories included) a build of `context` sends."""
    relative = os.path.relpath(dockerfile, context)
    return context_files(str(context), None if relative.startswith("..") else relative)


def context_hash(context: Path, dockerfile: Path, names: list[str]) -> str:
    """sha256 (hex) of what a build of `context` sends, `names` (see `sent_files`): each path with
    its type and permission bits, and a file's content or a symlink's target text; the Dockerfile's
    content as well when it lies outside the context. Stable under a touch (mtimes are left out);
    OSError when a file cannot be read."""
    digest = hashlib.sha256()
    inside = not os.path.relpath(dockerfile, context).startswith("..")
    for name in names:
        path = context / name
        info = path.lstat()
        kind = stat.S_IFMT(info.st_mode)
        if stat.S_ISSOCK(kind):
            continue  # the SDK leaves sockets out of the tar
        digest.update(f"{name}\0{kind:o}\0{stat.S_IMODE(info.st_mode):o}\0".encode())
        if stat.S_ISLNK(kind):
            digest.update(os.readlink(path).encode())
        elif stat.S_ISREG(kind):
            digest.update(_file_digest(path).encode())
        digest.update(b"\n")
    if not inside:
        digest.update(f"\0dockerfile\0{_file_digest(dockerfile)}\n".encode())
    return digest.hexdigest()


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_tag(repository: str, files: str, dockerfile: str, args: Mapping[str, str], target: str | None,
              pull: bool) -> str:
    """`REPOSITORY:build-<16 hex>`: the tag of the image built from the files hashed as `files`
    (see `context_hash`) with these options (`dockerfile` relative to the context), so that a
    change of any of them names another image, and the same inputs the same one."""
    options = json.dumps({"dockerfile": dockerfile, "args": dict(sorted(args.items())), "target": target,
                          "pull": pull}, sort_keys=True)
    tag = hashlib.sha256(f"{files}\n{options}".encode()).hexdigest()[:TAG_DIGITS]
    return f"{repository}:{TAG_PREFIX}{tag}"


def repository(image: str) -> str:
    """The repository part of an image reference: without its tag and digest
    (`reg:5000/app:1@sha256:...` -> `reg:5000/app`)."""
    name = image.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > slash else name


def derived_repository(container: str) -> str:
    """The repository a build is tagged in when the container names no `image`: `reconciler/NAME`,
    lowercased (repository names are lowercase; a container name may hold capitals)."""
    return "reconciler/" + re.sub(r"[^a-z0-9._-]", "-", container.lower()).strip("._-")
