"""Following private repositories over SSH (a key and a known_hosts file) and over HTTP with basic
auth (a token file), against real servers on 127.0.0.1 (tests/integration/gitservers.py); and the
canary checks: a password, a token or a private key never ends up in the clone's files, an error,
a log line or the argv of a git process, nor in the agent's status, metrics, log or state directory."""

from __future__ import annotations

import base64
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import NamedTuple

import pytest
from structlog.testing import capture_logs

from reconciler.source.git import AuthenticationFailed, Credentials, GitError, HostKeyRejected
from reconciler.source.repository import GitSource
from tests.integration.agents import RECONCILER, AgentProcess, eventually, service
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


def files_under(root: Path) -> dict[str, bytes]:
    """The content of every file, and the target of every symlink, under `root`, by path."""
    places = {}
    for folder, folders, files in os.walk(root):
        for path in (Path(folder, name) for name in folders + files):
            if path.is_symlink():
                places[f"symlink {path}"] = os.readlink(path).encode()
            elif path.is_file():
                places[f"file {path}"] = path.read_bytes()
    return places


def error_texts(errors: list[BaseException]) -> dict[str, bytes]:
    """The message and repr of each error and of its cause and context, by error."""
    places = {}
    for index, error in enumerate(errors):
        chain = [link for link in (error, error.__cause__, error.__context__) if link is not None]
        places[f"error {index} {type(error).__name__}"] = " ".join(f"{link} {link!r}" for link in chain).encode()
    return places


def source_places(home: Path, errors: list[BaseException], logs: list[dict], trace: Path) -> dict[str, bytes]:
    """Where a GitSource could leak: its home, its errors, its log events, git's argv (the trace)."""
    return {**files_under(home), **error_texts(errors), "logs": repr(logs).encode(), "git argv": trace.read_bytes()}


def where(secret: str, places: dict[str, bytes]) -> list[str]:
    """The places whose content holds `secret`."""
    return [place for place, content in places.items() if secret.encode() in content]


def basic_forms(username: str, secret: str) -> tuple[str, str]:
    """A password as it is, and as an HTTP basic-auth header carries it."""
    return secret, base64.b64encode(f"{username}:{secret}".encode()).decode()


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
    places = source_places(home, errors, logs, git_trace)
    assert logs and places["git argv"]
    for form in (*basic_forms("deploy", password), *basic_forms("deploy", wrong)):
        assert where(form, places) == []


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
    places = source_places(home, errors, logs, git_trace)
    assert logs and places["git argv"]
    for line in private_key_lines(ssh_server.client_key) + private_key_lines(stranger):
        assert where(line, places) == []


@pytest.fixture
def follow(namespace, tmp_path):
    """Start `reconciler run --git URL --poll 1s` (plus `extra`), state in tmp_path/agent; stopped afterwards."""
    agents = []

    def start(url: str, *extra: str) -> AgentProcess:
        (tmp_path / "agent").mkdir(exist_ok=True)
        agents.append(AgentProcess(None, namespace, tmp_path / "agent", extra=("--git", url, "--poll", "1s", *extra)))
        return agents[-1]

    yield start
    for agent in agents:
        agent.stop()


def agent_places(agent: AgentProcess, namespace: str, state: Path, trace: Path) -> dict[str, bytes]:
    """Where the agent could leak: its answers, its status file, `reconciler status`, its log (every
    event, errors included), its state directory (the clone), and git's argv."""
    command = [RECONCILER, "--namespace", namespace, "--state-dir", str(state), "status"]
    cli = subprocess.run(command, capture_output=True, timeout=60)
    return {**{path: agent.get(path)[1].encode() for path in ("/status", "/metrics", "/healthz")},
            "status file": agent.status_file.read_bytes(), "reconciler status": cli.stdout + cli.stderr,
            "agent log": agent.log.read_bytes(), **files_under(state), "git argv": trace.read_bytes()}


def test_the_agent_shows_the_password_nowhere_after_fetches_that_succeed_and_fail(
        follow, http_server, http_repository, token_file, names, namespace, tmp_path, git_trace):
    password = http_server.password
    sha = http_repository.push({"web.toml": service(names("web"))}, "web")
    agent = follow(http_repository.url, "--git-token-file", str(token_file), "--git-username", "deploy")
    eventually(lambda: (agent.status()["source"] or {}).get("applied") == sha, "the commit applied")
    http_server.password = canary()
    eventually(lambda: (agent.status()["source"] or {}).get("fetch_error"), "the refused fetch reported")
    places = agent_places(agent, namespace, tmp_path / "agent" / "state", git_trace)
    for form in basic_forms("deploy", password):
        assert where(form, places) == []


def test_the_agent_shows_the_private_key_nowhere_after_fetches_that_succeed_and_fail(
        follow, ssh_server, ssh_repository, names, namespace, tmp_path, git_trace):
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(ssh_server.known_hosts.read_text())
    sha = ssh_repository.push({"web.toml": service(names("web"))}, "web")
    agent = follow(ssh_repository.url, "--git-ssh-key", str(ssh_server.client_key),
                   "--git-known-hosts", str(known_hosts))
    eventually(lambda: (agent.status()["source"] or {}).get("applied") == sha, "the commit applied")
    known_hosts.write_text("")
    error = eventually(lambda: (agent.status()["source"] or {}).get("fetch_error"), "the rejected host key reported")
    assert f"known_hosts file: {known_hosts}" in error
    places = agent_places(agent, namespace, tmp_path / "agent" / "state", git_trace)
    for line in private_key_lines(ssh_server.client_key):
        assert where(line, places) == []
