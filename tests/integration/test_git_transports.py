"""Fetching private repositories over SSH and HTTP with basic auth, against real servers on
127.0.0.1 (tests/integration/gitservers.py)."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.integration.gitservers import bare_repository, commit

pytestmark = pytest.mark.integration


def test_plain_git_clones_over_ssh_with_the_authorised_key(ssh_server, tmp_path):
    bare = bare_repository(tmp_path / "repo.git")
    sha = commit(bare, {"web.toml": "# web\n"}, "first")
    ssh = (f"ssh -i {ssh_server.client_key} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes "
           f"-o UserKnownHostsFile={ssh_server.known_hosts}")
    answer = subprocess.run(["git", "ls-remote", ssh_server.url(bare), "main"], capture_output=True, text=True,
                            timeout=30, env={**os.environ, "GIT_SSH_COMMAND": ssh})
    assert answer.stdout.split() == [sha, "refs/heads/main"], answer.stderr


def test_plain_git_clones_over_http_with_the_password(http_server, tmp_path):
    bare = bare_repository(http_server.root / "repo.git")
    sha = commit(bare, {"web.toml": "# web\n"}, "first")
    url = http_server.url("repo.git").replace("://", f"://deploy:{http_server.password}@")
    subprocess.run(["git", "clone", "-q", url, str(tmp_path / "clone")], check=True, timeout=30)
    assert subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path / "clone", capture_output=True,
                          text=True).stdout.strip() == sha
