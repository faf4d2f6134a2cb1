"""Fixtures of the git transport tests: a private sshd and an HTTP git server with basic auth, both on
127.0.0.1 (tests/integration/sshd.py, githttp.py), and bare repositories they serve.

tests/integration/conftest.py makes the fixtures available to every integration test. Without sshd
or git's http-backend (`scripts/gitservers.sh install`) the tests are skipped locally and fail in CI
(`RECONCILER_REQUIRE_ENGINE=1`), as tests/conftest.py does for a missing engine."""

from __future__ import annotations

import os
import secrets
import subprocess
from pathlib import Path

import pytest

from tests.integration.githttp import HTTP_BACKEND, HttpGitServer
from tests.integration.sshd import SSHD, SshServer

GIT_IDENTITY = ("-c", "user.name=Reconciler Tests", "-c", "user.email=tests@reconciler.invalid",
                "-c", "commit.gpgsign=false")


def canary() -> str:
    """A secret that no file, message or log may contain unless it was handed over on purpose."""
    return f"canary-{secrets.token_hex(12)}"


def git(*args: str, cwd: Path | None = None) -> str:
    """Run git (no prompt, 60 s at most); returns its stdout, stripped; raises CalledProcessError."""
    environment = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    answer = subprocess.run(["git", *GIT_IDENTITY, *args], cwd=cwd, env=environment, capture_output=True,
                            text=True, timeout=60, check=True)
    return answer.stdout.strip()


def bare_repository(path: Path) -> Path:
    """An empty bare repository at `path` whose HEAD is `main`; returns `path`."""
    git("init", "-q", "--bare", "--initial-branch", "main", str(path))
    return path


def commit(bare: Path, files: dict[str, str], message: str, branch: str = "main") -> str:
    """Commit `files` (relative path -> text) on top of `branch` of the bare repository `bare` and
    push it there directly on disk; returns the new commit's sha."""
    work = bare.with_name(f"{bare.name}.work")
    if not work.exists():
        git("clone", "-q", str(bare), str(work))
    git("fetch", "-q", "origin", cwd=work)
    if git("ls-remote", "--heads", "origin", branch, cwd=work):
        git("checkout", "-q", "--force", "-B", branch, f"origin/{branch}", cwd=work)
    else:
        git("checkout", "-q", "-B", branch, cwd=work)
    for name, text in files.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(text)
    git("add", "--all", cwd=work)
    git("commit", "-q", "-m", message, cwd=work)
    git("push", "-q", "origin", f"HEAD:refs/heads/{branch}", cwd=work)
    return git("rev-parse", "HEAD", cwd=work)


def _require(program: Path, package: str) -> None:
    if program.exists():
        return
    message = f"{program} is missing (Debian package {package}): run `scripts/gitservers.sh install`"
    if os.environ.get("RECONCILER_REQUIRE_ENGINE"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def ssh_server(tmp_path_factory) -> SshServer:
    """sshd on 127.0.0.1 for the whole session; it serves any repository by absolute path."""
    _require(SSHD, "openssh-server")
    server = SshServer(tmp_path_factory.mktemp("sshd"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def http_server(tmp_path) -> HttpGitServer:
    """An HTTP git server for the test serving tmp_path/"served", user `deploy`, a canary password."""
    _require(HTTP_BACKEND, "git")
    root = tmp_path / "served"
    root.mkdir()
    server = HttpGitServer(root, "deploy", canary())
    server.start()
    yield server
    server.stop()
