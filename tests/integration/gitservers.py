"""Fixtures of the git transport tests: a private sshd and an HTTP git server with basic auth, both on
127.0.0.1 (tests/integration/sshd.py, githttp.py); repositories to serve come from
tests/integration/gitrepos.py.

tests/integration/conftest.py makes the fixtures available to every integration test. Without sshd
or git's http-backend (`scripts/gitservers.sh install`) the tests are skipped locally and fail in CI
(`RECONCILER_REQUIRE_ENGINE=1`), as tests/conftest.py does for a missing engine."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

from tests.integration.githttp import HTTP_BACKEND, HttpGitServer
from tests.integration.sshd import SSHD, SshServer


def canary() -> str:
    """A secret that no file, message or log may contain unless it was handed over on purpose."""
    return f"canary-{secrets.token_hex(12)}"


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
