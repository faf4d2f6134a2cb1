"""Trust in the agent following a git repository, end to end (a real agent process, real git, the
real engine): only signed revisions are applied under `--verify-commits`, an old signed commit cannot
be replayed, a failing replacement is tried once, two hosts of a fleet take their own part of one
repository, no credential leaks anywhere the agent writes, and submodules are refused."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from reconciler.source.git import mask_url
from tests.conftest import DEMO_IMAGE
from tests.integration import test_git_agent, test_hosts
from tests.integration.agents import AgentProcess, eventually, running, service
from tests.integration.gitrepos import (
    commit_files,
    force_push,
    git,
    make_bare_repo,
    make_signing_key,
    make_work_tree,
    push,
    tag,
)
from tests.integration.gitservers import canary
from tests.integration.sshd import make_key
from tests.integration.test_git_agent import applied, commit, greeting, source

repo, work, follow = test_git_agent.repo, test_git_agent.work, test_git_agent.follow  # its fixtures, shared
other_namespace = test_hosts.other_namespace  # a fixture: the second host's namespace

pytestmark = pytest.mark.usefixtures("docker_client")


@pytest.fixture
def signers(tmp_path) -> tuple[Path, Path]:
    """(a signing key, the allowed-signers file that trusts it and nothing else)."""
    folder = tmp_path / "keys"
    folder.mkdir()
    key, line = make_signing_key(folder)
    allowed = folder / "allowed_signers"
    allowed.write_text(line + "\n")
    return key, allowed


@pytest.fixture
def launch(namespace, tmp_path):
    """Start `reconciler run --git URL --poll 1s` (plus `extra`) in namespace `space`, its files
    under tmp_path/`home`; stopped afterwards."""
    agents = []

    def start(url: str, *extra: str, home: str = "agent", space: str = namespace) -> AgentProcess:
        folder = tmp_path / home
        folder.mkdir(exist_ok=True)
        agents.append(AgentProcess(None, space, folder, extra=("--git", url, "--poll", "1s", *extra)))
        return agents[-1]

    yield start
    for agent in agents:
        agent.stop()


def signed(work: Path, key: Path, files: dict[str, str], message: str) -> str:
    """Commit `files` signed with `key` and push them to main; the new commit's sha."""
    sha = commit_files(work, files, message, sign_key=key)
    push(work)
    return sha


def refused(agent: AgentProcess, sha: str) -> dict:
    """The status's refusal, once it names the revision `sha`."""
    return eventually(lambda: ((source(agent).get("refused") or {}).get("revision") == sha
                               and source(agent)["refused"]), f"revision {sha[:12]} refused")


def exits_at_once(name: str) -> str:
    """A container that exits with code 3 as soon as it starts: its health gate is never passed, so
    a replacement by it always fails (a wait for "running" could see it up for an instant)."""
    return (f'[container.{name}]\nimage = "{DEMO_IMAGE}"\ncommand = ["sh", "-c", "exit 3"]\ninit = true\n'
            'stop_timeout = 1\nhealthcheck = { test = "true", interval = "1s" }\n')


def passes(agent: AgentProcess) -> float:
    """How many passes the agent has finished, whatever their result."""
    return sum(agent.passes(result) for result in ("converged", "failed", "invalid", "unavailable"))


def created(docker_client, revision: str, since: float) -> int:
    """How many containers the engine created with the label of `revision` since `since` (unix time).
    The label is matched here: Podman 4.3's event filters do not take a label with a value."""
    events = docker_client.events(since=int(since), until=int(time.time()) + 1, decode=True,
                                  filters={"type": "container", "event": "create"})
    return sum(1 for e in events if e["Actor"]["Attributes"].get("io.reconciler.revision") == revision)


def leaks(agent: AgentProcess, *secrets: str) -> list[str]:
    """Where any of `secrets` appears: the agent's log, argv, /status, status file, /metrics and
    every file of its state directory (the clone included)."""
    places = {"log": agent.log.read_bytes(), "argv": Path(f"/proc/{agent.process.pid}/cmdline").read_bytes(),
              "/status": agent.get("/status")[1].encode(), "status file": agent.status_file.read_bytes(),
              "/metrics": agent.get("/metrics")[1].encode()}
    for path in (agent.log.parent / "state").rglob("*"):
        if path.is_file() and not path.is_symlink():
            places[str(path)] = path.read_bytes()
    return [where for where, data in places.items() for secret in secrets if secret.encode() in data]


def secret_file(path: Path, text: str) -> Path:
    """Write `text` and a newline to the file at `path` (made, with its folder, if missing), mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")
    path.chmod(0o600)
    return path


def verifying(allowed: Path, *extra: str) -> tuple[str, ...]:
    return ("--verify-commits", "--allowed-signers", str(allowed), *extra)


def verified(work: Path, follow, signers: tuple[Path, Path], web: str, *extra: str) -> tuple[AgentProcess, str]:
    """An agent verifying commits with `signers` (plus `extra`) that applied a signed commit of the
    container `web` saying "one": (the agent, that commit's sha)."""
    key, allowed = signers
    good = signed(work, key, {"web.toml": service(web, "one")}, "one, signed")
    agent = follow(*verifying(allowed, *extra))
    applied(agent, good)
    return agent, good


# -- signed revisions ------------------------------------------------------------------------------

def test_an_unsigned_commit_after_a_signed_one_is_refused_and_the_next_signed_one_applied(
        work, follow, signers, names, docker_client):
    web = names("web")
    agent, good = verified(work, follow, signers, web)
    serving = running(docker_client, web).id
    unsigned = commit(work, {"web.toml": service(web, "two")}, "two, unsigned")
    refusal = refused(agent, unsigned)
    assert f"commit {unsigned[:12]}" in refusal["reason"] and "is not signed" in refusal["reason"]
    assert source(agent)["applied"] == good
    assert running(docker_client, web).id == serving and greeting(docker_client, web) == "one"
    later = signed(work, signers[0], {"web.toml": service(web, "three")}, "three, signed")
    applied(agent, later)
    assert greeting(docker_client, web) == "three" and source(agent)["refused"] is None


def test_a_commit_signed_by_a_key_not_allowed_is_refused(work, follow, signers, names, docker_client, tmp_path):
    stranger, _ = make_signing_key(tmp_path, "stranger")
    web = names("web")
    agent, good = verified(work, follow, signers, web)
    serving = running(docker_client, web).id
    forged = signed(work, stranger, {"web.toml": service(web, "two")}, "two, signed by a stranger")
    refusal = refused(agent, forged)
    assert f"commit {forged[:12]}" in refusal["reason"] and "not signed by an allowed key" in refusal["reason"]
    assert source(agent)["applied"] == good and running(docker_client, web).id == serving


def test_a_signed_tag_is_applied_and_an_unsigned_tag_moved_to_a_new_commit_is_refused(
        work, follow, signers, names, docker_client):
    key, allowed = signers
    web = names("web")
    first = commit(work, {"web.toml": service(web, "one")}, "one")
    tag(work, "v1", sign_key=key)
    agent = follow("--ref", "v1", *verifying(allowed))
    applied(agent, first)
    serving = running(docker_client, web).id
    second = commit(work, {"web.toml": service(web, "two")}, "two")
    tag(work, "v1")
    refusal = refused(agent, second)
    assert "tag v1" in refusal["reason"] and "is not signed" in refusal["reason"]
    assert source(agent)["applied"] == first and running(docker_client, web).id == serving


# -- rewinds ---------------------------------------------------------------------------------------

def test_a_force_push_to_an_older_signed_commit_is_refused_under_verification(
        work, follow, signers, names, docker_client):
    web = names("web")
    agent, old = verified(work, follow, signers, web)
    new = signed(work, signers[0], {"web.toml": service(web, "two")}, "two, signed")
    applied(agent, new)
    force_push(work, source=old)
    refusal = refused(agent, old)
    assert f"moved from {new[:12]} to {old[:12]}" in refusal["reason"] and "rewinds" in refusal["reason"]
    assert source(agent)["applied"] == new and greeting(docker_client, web) == "two"


def test_a_force_push_to_an_older_signed_commit_is_followed_when_rewinds_are_allowed(
        work, follow, signers, names, docker_client):
    web = names("web")
    agent, old = verified(work, follow, signers, web, "--allow-rewind")
    applied(agent, signed(work, signers[0], {"web.toml": service(web, "two")}, "two, signed"))
    force_push(work, source=old)
    applied(agent, old)
    assert greeting(docker_client, web) == "one" and source(agent)["refused"] is None


# -- a failing replacement -------------------------------------------------------------------------

def test_a_commit_whose_replacement_fails_is_tried_once_and_the_previous_container_keeps_serving(
        work, follow, names, docker_client):
    web = names("web")
    good = commit(work, {"web.toml": service(web, "one")}, "one")
    agent = follow("--interval", "1s")
    applied(agent, good)
    serving = running(docker_client, web).id
    since = time.time()
    bad = commit(work, {"web.toml": exits_at_once(web)}, "a command that exits at once")
    message = eventually(lambda: next((r["message"] for r in agent.status()["resources"]
                                       if r["name"] == web and r["state"] == "failed"), None), "the failure reported")
    assert message.startswith(f"revision {bad[:12]} failed for {web}: exited with code 3")
    assert message.endswith("; running the previous container")
    later = passes(agent) + 3
    eventually(lambda: passes(agent) >= later, "three more passes")
    # Podman writes its event log behind the calls it answers: wait for the create to be in it
    assert eventually(lambda: created(docker_client, bad, since), "the create event", timeout=10) == 1
    assert running(docker_client, web).id == serving
    assert (source(agent)["attempted"], source(agent)["applied"]) == (bad, good)
    assert source(agent)["files"] == {"web.toml": "failed"}
    fixed = commit(work, {"web.toml": service(web, "two")}, "two")
    applied(agent, fixed)
    assert greeting(docker_client, web) == "two"


# -- a fleet from one repository -------------------------------------------------------------------

def test_two_agents_following_one_repository_each_get_their_own_containers(
        repo, work, launch, namespace, other_namespace, names, docker_client):
    web, db = names("web"), names("db")
    sha = commit(work, {"web.toml": service(web, extra='hosts = ["web-*"]\n'),
                        "db.toml": service(db, extra='hosts = ["db-*"]\n')}, "web and db hosts")
    web_host = launch(f"file://{repo}", "--host-id", "web-1", home="web-1")
    db_host = launch(f"file://{repo}", "--host-id", "db-1", home="db-1", space=other_namespace)
    assert applied(web_host, sha)["source"]["files"] == {"web.toml": "applied"}
    assert applied(db_host, sha)["source"]["files"] == {"db.toml": "applied"}
    owners = {c.name: c.labels["io.reconciler.managed"] for name in (web, db)
              for c in docker_client.containers.list(all=True, filters={"name": f"^/?{name}$"})}
    assert owners == {web: namespace, db: other_namespace}
    assert (web_host.states(), db_host.states()) == ({web: "converged"}, {db: "converged"})


# -- no credential leaks ---------------------------------------------------------------------------

def test_no_http_token_leaks_after_an_apply_nor_after_a_failed_fetch(http_server, launch, names, tmp_path):
    bare = make_bare_repo(http_server.root / "hosts.git")
    web = names("web")
    sha = commit(make_work_tree(bare, tmp_path / "work"), {"web.toml": service(web)}, "web")
    token = secret_file(tmp_path / "secrets" / "token", http_server.password)
    url = http_server.url("hosts.git")
    agent = launch(url, "--git-token-file", str(token), "--git-username", http_server.username)
    applied(agent, sha)
    assert source(agent)["url"] == mask_url(url)
    assert leaks(agent, http_server.password) == [] and "/status" in leaks(agent, sha)  # it finds what is there
    wrong = canary()
    secret_file(token, wrong)
    agent.process.send_signal(signal.SIGHUP)
    error = eventually(lambda: source(agent).get("fetch_error"), "the failing fetch reported")
    assert error.startswith(f"git ls-remote {url}: ")
    assert source(agent)["applied"] == sha
    assert leaks(agent, http_server.password, wrong) == []


def test_no_ssh_key_leaks_after_an_apply_nor_after_a_rejected_host_key(ssh_server, launch, names, tmp_path):
    bare = make_bare_repo(tmp_path / "remote" / "hosts.git")
    web = names("web")
    sha = commit(make_work_tree(bare, tmp_path / "work"), {"web.toml": service(web)}, "web")
    known_hosts = secret_file(tmp_path / "ssh" / "known_hosts", ssh_server.known_hosts.read_text().strip())
    url = ssh_server.url(bare)
    agent = launch(url, "--git-ssh-key", str(ssh_server.client_key), "--git-known-hosts", str(known_hosts))
    applied(agent, sha)
    assert source(agent)["url"] == mask_url(url) and ssh_server.user + "@" not in source(agent)["url"]
    key = [line for line in ssh_server.client_key.read_text().splitlines() if not line.startswith("-----")]
    assert leaks(agent, *key) == []
    impostor = make_key(tmp_path / "ssh" / "impostor", "not the server's key")
    known_hosts.write_text(ssh_server.known_hosts_line(impostor))
    error = eventually(lambda: source(agent).get("fetch_error"), "the rejected host key reported")
    assert error.startswith(f"git ls-remote {mask_url(url)}: ") and f"(known_hosts file: {known_hosts})" in error
    assert source(agent)["applied"] == sha
    assert leaks(agent, *key) == []


# -- submodules ------------------------------------------------------------------------------------

def test_a_revision_holding_a_submodule_is_refused_and_the_previous_one_stays_applied(
        work, follow, names, docker_client):
    web = names("web")
    good = commit(work, {"web.toml": service(web, "one")}, "one")
    agent = follow()
    applied(agent, good)
    serving = running(docker_client, web).id
    (work / "web.toml").write_text(service(web, "two"))
    git("add", "web.toml", cwd=work)
    git("update-index", "--add", "--cacheinfo", f"160000,{good},vendored", cwd=work)
    git("commit", "--quiet", "-m", "two, with a submodule", cwd=work)
    push(work)
    sub = git("rev-parse", "HEAD", cwd=work)
    refusal = refused(agent, sub)
    assert refusal["reason"] == f"commit {sub[:12]}: vendored is a submodule; submodules are not followed"
    assert source(agent)["applied"] == good
    assert running(docker_client, web).id == serving and greeting(docker_client, web) == "one"
