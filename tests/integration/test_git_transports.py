"""Following private repositories over SSH (a key and a known_hosts file) and over HTTP with basic
auth (a token file), against real servers on 127.0.0.1 (tests/integration/gitservers.py); and the
canary checks: a password, a token or a private key never ends up in the clone's files, an error,
a log line or the argv of a git process."""

from __future__ import annotations

import base64
import os
import threading
import time
from pathlib import Path
from typing import NamedTuple

import pytest
from structlog.testing import capture_logs

from reconciler.source.git import AuthenticationFailed, Credentials, GitError, HostKeyRejected
from reconciler.source.repository import GitSource
from tests.integration.gitrepos import commit_files, make_bare_repo, make_work_tree, push
from tests.integration.gitservers import canary
from tests.integration.sshd import make_key

pytestmark = pytest.mark.integration

WEB = "[container.web]\nimage = \"localhost/demo:1\"\n"


@pytest.fixture
def home(tmp_path) -> Path:
    """The GitSource's own directory (the clone and its checkouts), searched by the canary checks."""
    return tmp_path / "state" / "git"


class Remote(NamedTuple):
    """A served repository: its `url`, a `work` tree that pushes to it, the `sha` of main."""

    url: str
    work: Path
    sha: str

    def push(self, files: dict[str, str], message: str) -> str:
        """Commit `files` in the work tree and push them to main; the new sha."""
        sha = commit_files(self.work, files, message)
        push(self.work)
        return sha


def served(bare: Path, url: str, work: Path) -> Remote:
    """The repository `bare` (made here), reached at `url`, holding web.toml on main."""
    remote = Remote(url, make_work_tree(make_bare_repo(bare), work), "")
    return remote._replace(sha=remote.push({"web.toml": WEB}, "web"))


@pytest.fixture
def ssh_repository(ssh_server, tmp_path) -> Remote:
    bare = tmp_path / "remote" / "hosts.git"
    return served(bare, ssh_server.url(bare), tmp_path / "work")


@pytest.fixture
def http_repository(http_server, tmp_path) -> Remote:
    return served(http_server.root / "hosts.git", http_server.url("hosts.git"), tmp_path / "work")


@pytest.fixture
def token_file(http_server, tmp_path) -> Path:
    """A file (mode 0600, outside the GitSource's home) holding the HTTP server's password."""
    path = tmp_path / "secrets" / "token"
    path.parent.mkdir()
    path.write_text(http_server.password + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture
def git_trace(tmp_path, monkeypatch) -> Path:
    """The trace of every git process started from now on (GIT_TRACE: each one's argv and the
    commands it runs, ssh and git-remote-http included), through a `git` first on PATH that sets
    GIT_TRACE and runs the real one (the adapter drops inherited GIT_* variables)."""
    trace, wrapper = tmp_path / "git.trace", tmp_path / "bin" / "git"
    wrapper.parent.mkdir()
    wrapper.write_text(f"#!/bin/sh\nGIT_TRACE={trace} exec /usr/bin/git \"$@\"\n")
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{wrapper.parent}{os.pathsep}{os.environ['PATH']}")
    return trace


def ssh_credentials(server, key: Path | None = None, known_hosts: Path | None = None) -> Credentials:
    return Credentials(ssh_key=key or server.client_key, known_hosts=known_hosts or server.known_hosts)


def failure(call) -> GitError:
    """The GitError that `call()` raises (the test fails when it raises none)."""
    with pytest.raises(GitError) as raised:
        call()
    return raised.value


def private_key_lines(key: Path) -> list[str]:
    """The base64 lines of a private key file: its secret content."""
    return [line for line in key.read_text().splitlines() if line and not line.startswith("-----")]


def leaks(secret: str, home: Path, errors: list[BaseException], logs: list[dict], trace: Path) -> list[str]:
    """Where `secret` appears: files (and symlinks) under `home`, errors (their chain included), log
    events, and git's trace of its processes' argv."""
    places = []
    for folder, folders, files in os.walk(home):
        for path in (Path(folder, name) for name in folders + files):
            if path.is_symlink():
                content = os.readlink(path).encode()
            elif path.is_file():
                content = path.read_bytes()
            else:
                continue
            if secret.encode() in content:
                places.append(f"file {path.relative_to(home)}")
    for error in errors:
        chain = [error, error.__cause__, error.__context__]
        if any(secret in f"{link} {link!r}" for link in chain if link is not None):
            places.append(f"error {type(error).__name__}")
    places += [f"log {entry['event']}" for entry in logs if secret in repr(entry)]
    if trace.exists() and secret in trace.read_text(errors="replace"):
        places.append("git trace (argv)")
    return places


# -- SSH ------------------------------------------------------------------------------------------


def test_fetches_and_checks_out_over_ssh_with_the_key_and_a_known_hosts_file(ssh_server, ssh_repository, home):
    source = GitSource(ssh_repository.url, "main", "", home, ssh_credentials(ssh_server))
    revision = source.update()
    assert revision.sha == ssh_repository.sha
    assert (source.root / "web.toml").read_text() == WEB


def test_a_host_key_other_than_the_one_in_known_hosts_is_rejected_and_never_recorded(
        ssh_server, ssh_repository, home, tmp_path):
    other = make_key(tmp_path / "other_host_key", "not the server")
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(ssh_server.known_hosts_line(other))
    source = GitSource(ssh_repository.url, "main", "", home, ssh_credentials(ssh_server, known_hosts=known_hosts))
    with pytest.raises(HostKeyRejected):
        source.fetch()
    assert known_hosts.read_text() == ssh_server.known_hosts_line(other)


def test_an_unknown_host_is_rejected_not_trusted_on_first_use(ssh_server, ssh_repository, home, tmp_path):
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("")
    source = GitSource(ssh_repository.url, "main", "", home, ssh_credentials(ssh_server, known_hosts=known_hosts))
    with pytest.raises(HostKeyRejected):
        source.fetch()
    assert known_hosts.read_text() == ""


def test_a_key_the_server_does_not_authorise_fails_authentication(ssh_server, ssh_repository, home, tmp_path):
    stranger = make_key(tmp_path / "stranger", "not authorised")
    source = GitSource(ssh_repository.url, "main", "", home, ssh_credentials(ssh_server, key=stranger))
    with pytest.raises(AuthenticationFailed):
        source.fetch()


# -- HTTP with basic auth -------------------------------------------------------------------------


def test_fetches_and_checks_out_over_http_with_the_token_file(http_server, http_repository, token_file, home):
    source = GitSource(http_repository.url, "main", "", home, Credentials(token_file=token_file, username="deploy"))
    revision = source.update()
    assert revision.sha == http_repository.sha
    assert (source.root / "web.toml").read_text() == WEB


def test_a_wrong_token_fails_authentication(http_server, http_repository, token_file, home):
    token_file.write_text(canary())
    source = GitSource(http_repository.url, "main", "", home, Credentials(token_file=token_file, username="deploy"))
    with pytest.raises(AuthenticationFailed):
        source.fetch()
    assert http_server.refused >= 1


def test_without_a_token_authentication_fails_at_once_and_nothing_waits_for_a_person(
        http_server, http_repository, home):
    source = GitSource(http_repository.url, "main", "", home)
    outcome: list[BaseException] = []
    started = time.monotonic()
    worker = threading.Thread(target=lambda: outcome.append(failure(source.fetch)), daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), "git is still waiting after 10 s"
    assert isinstance(outcome[0], AuthenticationFailed)
    assert time.monotonic() - started < 10
    assert http_server.refused >= 1


def test_a_rotated_token_is_read_from_its_file_on_the_next_fetch(http_server, http_repository, token_file, home):
    source = GitSource(http_repository.url, "main", "", home, Credentials(token_file=token_file, username="deploy"))
    source.update()
    http_server.password = canary()
    with pytest.raises(AuthenticationFailed):
        source.fetch()
    token_file.write_text(http_server.password + "\n")
    sha = http_repository.push({"db.toml": "# db\n"}, "db")
    assert source.update().sha == sha


# -- canaries -------------------------------------------------------------------------------------


def test_no_password_or_token_appears_in_files_errors_logs_or_argv(
        http_server, http_repository, token_file, home, git_trace):
    password, wrong = http_server.password, canary()
    source = GitSource(http_repository.url, "main", "", home, Credentials(token_file=token_file, username="deploy"))
    errors = []
    with capture_logs() as logs:
        source.update()
        http_repository.push({"db.toml": "# db\n"}, "db")
        token_file.write_text(wrong)
        errors.append(failure(source.fetch))
        token_file.write_text(password)
        http_server.password = canary()
        errors.append(failure(source.update))
    assert [type(error) for error in errors] == [AuthenticationFailed, AuthenticationFailed]
    assert git_trace.read_text() and logs
    for secret in (password, wrong):
        for form in (secret, base64.b64encode(f"deploy:{secret}".encode()).decode()):
            assert leaks(form, home, errors, logs, git_trace) == []


def test_no_private_key_content_appears_in_files_errors_logs_or_argv(
        ssh_server, ssh_repository, home, git_trace, tmp_path):
    url = ssh_repository.url
    stranger = make_key(tmp_path / "stranger", "not authorised")
    known_hosts = tmp_path / "empty_known_hosts"
    known_hosts.write_text("")
    errors = []
    with capture_logs() as logs:
        GitSource(url, "main", "", home, ssh_credentials(ssh_server)).update()
        errors.append(failure(GitSource(url, "main", "", home, ssh_credentials(ssh_server, key=stranger)).fetch))
        errors.append(failure(GitSource(url, "main", "", home,
                                        ssh_credentials(ssh_server, known_hosts=known_hosts)).fetch))
    assert [type(error) for error in errors] == [AuthenticationFailed, HostKeyRejected]
    assert git_trace.read_text() and logs
    for key in (ssh_server.client_key, stranger):
        for line in private_key_lines(key):
            assert leaks(line, home, errors, logs, git_trace) == []
