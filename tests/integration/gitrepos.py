"""Git repositories for tests, made with the real `git` program: a bare "remote" served over
`file://`, a work tree that commits (signed or not) and pushes to it, SSH signing keys.

    remote = make_bare_repo(tmp_path / "remote.git")
    work = make_work_tree(remote, tmp_path / "work")
    sha = commit_files(work, {"web/app.toml": "..."}, "add web")
    push(work)                                  # to refs/heads/main
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

IDENTITY = ("-c", "user.name=Reconciler Tests", "-c", "user.email=tests@reconciler.invalid",
            "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", "-c", "protocol.file.allow=always")
SIGNER = "tests@reconciler.invalid"


def git(*args: str, cwd: Path | None = None) -> str:
    """Run git as a developer would (no prompt, 60 s at most); its stdout, stripped. Raises
    CalledProcessError."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("GIT_")}
    environment["GIT_TERMINAL_PROMPT"] = "0"
    done = subprocess.run(["git", *IDENTITY, *args], cwd=cwd, env=environment, capture_output=True, text=True,
                          timeout=60, check=True)
    return done.stdout.strip()


def make_bare_repo(path: Path, branch: str = "main") -> Path:
    """An empty bare repository at `path` whose HEAD (default branch) is `branch`; returns `path`."""
    git("init", "--quiet", "--bare", "--initial-branch", branch, str(path))
    return path


def url_of(bare: Path) -> str:
    return f"file://{bare}"


def make_work_tree(bare: Path, path: Path, branch: str = "main") -> Path:
    """A clone of `bare` at `path`, on `branch` (made if the remote has none yet); returns `path`."""
    git("clone", "--quiet", str(bare), str(path))
    git("checkout", "--quiet", "-B", branch, cwd=path)
    return path


def _signing(sign_key: Path | None) -> tuple[str, ...]:
    if sign_key is None:
        return ()
    return ("-c", "gpg.format=ssh", "-c", f"user.signingkey={sign_key}")


def commit_files(workdir: Path, files: dict[str, str | None], message: str, sign_key: Path | None = None) -> str:
    """Write `files` (relative path -> text; None removes the file) in `workdir` and commit them all,
    signed with the SSH private key `sign_key` when given; returns the new commit's sha."""
    for name, text in files.items():
        path = workdir / name
        if text is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git("add", "--all", cwd=workdir)
    git(*_signing(sign_key), "commit", "--quiet", "--allow-empty", "-m", message,
        *(("-S",) if sign_key else ()), cwd=workdir)
    return git("rev-parse", "HEAD", cwd=workdir)


def push(workdir: Path, ref: str = "refs/heads/main", source: str = "HEAD") -> None:
    """Push `source` of `workdir` to `ref` of its origin (a fast-forward)."""
    git("push", "--quiet", "origin", f"{source}:{ref}", cwd=workdir)


def force_push(workdir: Path, ref: str = "refs/heads/main", source: str = "HEAD") -> None:
    """Push `source` to `ref` of the origin whatever the remote holds (a rewrite of history)."""
    git("push", "--quiet", "--force", "origin", f"{source}:{ref}", cwd=workdir)


def tag(workdir: Path, name: str, sign_key: Path | None = None, annotated: bool = True) -> None:
    """Tag HEAD of `workdir` as `name` (annotated, signed with `sign_key` when given) and push the tag,
    moving it on the remote if it was there."""
    options = ("-s" if sign_key else "-a", "-m", f"release {name}") if annotated or sign_key else ()
    git(*_signing(sign_key), "tag", "--force", *options, name, cwd=workdir)
    git("push", "--quiet", "--force", "origin", f"refs/tags/{name}", cwd=workdir)


def make_signing_key(folder: Path, name: str = "signer") -> tuple[Path, str]:
    """A new ed25519 key pair in `folder` (no passphrase): (private key path, the allowed-signers line
    that trusts it for git signatures, for the address SIGNER)."""
    key = folder / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True,
                   timeout=30)
    public = key.with_name(f"{name}.pub").read_text().split()
    return key, f'{SIGNER} namespaces="git" {public[0]} {public[1]}'
