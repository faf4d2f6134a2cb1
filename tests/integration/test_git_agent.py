"""The agent following a git repository (`reconciler run --git`), on the real engine with real git:
commits pushed while it runs are applied and reported by revision, and what goes wrong upstream
(a broken file, an unreachable remote, a force-push) never reaches the containers."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.request

import jsonschema
import pytest

from reconciler.control.openapi import schema_of
from tests.conftest import DEMO_IMAGE
from tests.integration.agents import RECONCILER, AgentProcess, eventually, running, service
from tests.integration.gitrepos import (
    commit_files,
    force_push,
    make_bare_repo,
    make_signing_key,
    make_work_tree,
    push,
)

pytestmark = pytest.mark.usefixtures("docker_client")


@pytest.fixture
def repo(tmp_path):
    return make_bare_repo(tmp_path / "desired.git")


@pytest.fixture
def work(repo, tmp_path):
    return make_work_tree(repo, tmp_path / "work")


def commit(work, files: dict[str, str], message: str) -> str:
    """Commit `files` in the work tree and push them to the remote's main; the new commit's sha."""
    sha = commit_files(work, files, message)
    push(work)
    return sha


@pytest.fixture
def follow(repo, namespace, tmp_path):
    """Start `reconciler run --git file://REPO --poll 1s` (plus `extra`); stopped afterwards."""
    agents = []

    def start(*extra: str, home: str = "agent") -> AgentProcess:
        folder = tmp_path / home
        folder.mkdir(exist_ok=True)
        agents.append(AgentProcess(None, namespace, folder, extra=("--git", f"file://{repo}", "--poll", "1s",
                                                                   *extra)))
        return agents[-1]

    yield start
    for agent in agents:
        agent.stop()


def agent_namespace(agent: AgentProcess) -> str:
    return agent.status()["namespace"]


def source(agent: AgentProcess) -> dict:
    return agent.status()["source"] or {}


def applied(agent: AgentProcess, sha: str) -> dict:
    return eventually(lambda: source(agent).get("applied") == sha and agent.status(), f"revision {sha[:12]} applied")


def greeting(docker_client, name: str) -> str:
    env = running(docker_client, name).attrs["Config"]["Env"]
    return next(e.split("=", 1)[1] for e in env if e.startswith("GREETING="))


def test_each_pushed_commit_is_applied_and_reported_by_revision(work, follow, names, docker_client):
    web = names("web")
    first = commit(work, {"web.toml": service(web, "hello")}, "web says hello")
    agent = follow()
    status = applied(agent, first)
    assert status["source"]["attempted"] == first and status["source"]["files"] == {"web.toml": "applied"}
    assert greeting(docker_client, web) == "hello"
    second = commit(work, {"web.toml": service(web, "bonjour")}, "web says bonjour")
    applied(agent, second)
    container = running(docker_client, web)
    assert greeting(docker_client, web) == "bonjour"
    assert container.labels["io.reconciler.revision"] == second
    assert f'reconciler_source_revision_info{{revision="{second}",state="applied"}} 1.0' in agent.get("/metrics")[1]
    jsonschema.validate({"schema_version": 1, "status": agent.status()}, schema_of("status"),
                        cls=jsonschema.Draft202012Validator)


def test_a_commit_that_breaks_a_file_keeps_its_last_valid_content_in_force(work, follow, names, docker_client):
    web = names("web")
    good = commit(work, {"web.toml": service(web)}, "web")
    agent = follow()
    applied(agent, good)
    serving = running(docker_client, web).id
    broken = commit(work, {"web.toml": service(web, "bonjour") + "broken = [\n"}, "a syntax error")
    eventually(lambda: source(agent).get("attempted") == broken, "the broken revision attempted")
    status = agent.status()
    assert status["source"]["applied"] == good and status["source"]["files"] == {"web.toml": "invalid"}
    assert status["errors"][0]["file"] == "web.toml" and status["errors"][0]["line"]
    assert running(docker_client, web).id == serving


def test_an_unreachable_remote_keeps_the_revision_running_and_is_reported(repo, work, follow, names, docker_client):
    web = names("web")
    sha = commit(work, {"web.toml": service(web)}, "web")
    agent = follow()
    applied(agent, sha)
    serving = running(docker_client, web).id
    moved = repo.with_name("moved.git")
    repo.rename(moved)
    error = eventually(lambda: source(agent).get("fetch_error"), "the failing fetch reported")
    assert str(repo) in error or "repository" in error
    assert running(docker_client, web).id == serving and source(agent)["applied"] == sha
    synced = subprocess.run([RECONCILER, "--namespace", agent_namespace(agent), "sync"], capture_output=True,
                            text=True, timeout=60)
    assert "warning: fetch failed: " in synced.stdout and f"revision {sha[:12]} stays in force" in synced.stdout
    moved.rename(repo)
    eventually(lambda: source(agent).get("fetch_error") is None, "the fetch recovered")


def test_a_force_push_is_followed_without_verification(work, follow, names, docker_client):
    web = names("web")
    first = commit(work, {"web.toml": service(web, "one")}, "one")
    agent = follow()
    applied(agent, first)
    applied(agent, commit(work, {"web.toml": service(web, "two")}, "two"))
    force_push(work, source=first)
    applied(agent, first)
    assert greeting(docker_client, web) == "one"


def test_a_commit_that_changes_an_unrelated_file_replaces_nothing_and_one_under_a_mount_replaces(
        work, follow, names, docker_client):
    web = names("web")
    files = {"web.toml": service(web, extra='mounts = ["./conf:/conf:ro"]\n'), "conf/motd": "hello\n",
             "README.md": "one\n"}
    agent = follow()
    applied(agent, commit(work, files, "web with its conf"))
    serving = running(docker_client, web)
    assert serving.exec_run(["cat", "/conf/motd"]).output == b"hello\n"
    applied(agent, commit(work, {"README.md": "two\n"}, "docs only"))
    assert running(docker_client, web).id == serving.id
    applied(agent, commit(work, {"conf/motd": "bonjour\n"}, "a new motd"))
    replaced = running(docker_client, web)
    assert replaced.id != serving.id
    assert replaced.exec_run(["cat", "/conf/motd"]).output == b"bonjour\n"


def test_a_bind_mount_of_a_path_the_repository_lacks_is_refused_with_its_line(work, follow, names, docker_client):
    web = names("web")
    sha = commit(work, {"web.toml": service(web, extra='mounts = ["./data:/data"]\n')}, "web with data")
    agent = follow()
    eventually(lambda: source(agent).get("attempted") == sha, "the revision attempted")
    error = eventually(lambda: agent.status()["errors"], "the error reported")[0]
    assert (error["file"], error["line"]) == ("web.toml", 7) and "not in the repository" in error["message"]
    assert running(docker_client, web) is None


def test_a_webhook_fetches_at_once(work, follow, names, docker_client, tmp_path):
    web = names("web")
    agent = follow("--poll", "1h", "--hook-addr", "127.0.0.1:0")
    port = eventually(lambda: next((json.loads(line)["port"] for line in agent.log.read_text().splitlines()
                                    if '"hook.serving"' in line), None), "the hook listening")
    sha = commit(work, {"web.toml": service(web)}, "web")
    request = urllib.request.Request(f"http://127.0.0.1:{port}/hook", data=b"{}", method="POST")
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert answer.status == 202
    applied(agent, sha)


def test_an_api_sync_fetches_before_its_pass(work, follow, names, docker_client, namespace, tmp_path):
    web = names("web")
    agent = follow("--poll", "1h")
    eventually(lambda: source(agent).get("fetched") or source(agent).get("fetch_error"), "a first fetch")
    sha = commit(work, {"web.toml": service(web)}, "web")
    synced = subprocess.run([RECONCILER, "--namespace", namespace, "sync"],
                            capture_output=True, text=True, timeout=60)
    assert synced.returncode == 0, synced.stderr
    assert source(agent)["applied"] == sha and running(docker_client, web)


def test_the_state_directory_holds_the_clone_and_no_dir_argument_is_read(work, follow, names, tmp_path):
    web = names("web")
    applied(follow(), commit(work, {"web.toml": service(web)}, "web"))
    home = tmp_path / "agent" / "state" / "git"
    assert (home / "repo.git").is_dir() and (home / "current").is_symlink()


def test_symlinks_that_lead_outside_the_repository_are_refused_with_their_file_and_line(
        work, follow, names, docker_client, tmp_path):
    web, db = names("web"), names("db")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.env").write_text("GREETING=stolen\n")
    (outside / "extra.toml").write_text(service(db))
    (work / "stolen.env").symlink_to(outside / "secret.env")
    (work / "extra.toml").symlink_to(outside / "extra.toml")
    sha = commit(work, {"web.toml": service(web, extra='env_file = ["./stolen.env"]\n')}, "links out")
    agent = follow()
    eventually(lambda: source(agent).get("attempted") == sha, "the revision attempted")
    errors = {(e["file"], e["line"], e["key"]): e["message"] for e in agent.status()["errors"]}
    assert errors[("web.toml", 7, "container." + web + ".env_file[0]")].endswith("refused")
    assert "outside the repository" in errors[("extra.toml", None, "")]
    assert running(docker_client, web) is None and running(docker_client, db) is None


def test_sighup_fetches_at_once(work, follow, names, docker_client):
    web = names("web")
    agent = follow("--poll", "1h")
    eventually(lambda: source(agent).get("fetch_error"), "the first fetch found no branch yet")
    sha = commit(work, {"web.toml": service(web)}, "web")
    agent.process.send_signal(signal.SIGHUP)
    applied(agent, sha)


def test_before_any_revision_the_status_says_why_nothing_is_applied(work, follow, names, docker_client):
    agent = follow()

    def reported():
        errors = agent.status()["errors"]
        return errors and "the first fetch has not finished" not in errors[0]["text"] and errors[0]["text"]

    text = eventually(reported, "the failing first fetch reported")
    assert text.startswith(f"no revision of file://{work.with_name('desired.git')} checked out yet: ")
    sha = commit(work, {"web.toml": service(names("web"))}, "web")
    applied(agent, sha)
    assert agent.status()["errors"] == []


def test_a_revision_without_the_path_followed_is_refused_and_the_last_one_stays(work, follow, names, docker_client):
    web = names("web")
    sha = commit(work, {"hosts/web.toml": service(web)}, "web under hosts/")
    agent = follow("--path", "hosts")
    applied(agent, sha)
    moved = commit(work, {"hosts/web.toml": None, "elsewhere/web.toml": service(web)}, "moved away")
    refused = eventually(lambda: source(agent).get("refused"), "the revision refused")
    assert refused["revision"] == moved and "hosts" in refused["reason"]
    assert source(agent)["applied"] == sha and running(docker_client, web)


def test_a_relative_bind_mount_that_climbs_out_of_the_repository_is_refused_at_its_line(
        work, follow, names, docker_client):
    web = names("web")
    sha = commit(work, {"web.toml": service(web, extra='mounts = ["../../../../../../../../etc:/host-etc:ro"]\n')},
                 "climbs out")
    agent = follow()
    eventually(lambda: source(agent).get("attempted") == sha, "the revision attempted")
    (error,) = agent.status()["errors"]
    assert (error["file"], error["line"], error["key"]) == ("web.toml", 7, f"container.{web}.mounts[0]")
    assert error["message"].endswith("leads outside the repository; refused")
    assert running(docker_client, web) is None


def test_a_restarted_agent_still_says_which_revision_is_applied(work, follow, names, docker_client):
    web = names("web")
    sha = commit(work, {"web.toml": service(web)}, "web")
    agent = follow()
    applied(agent, sha)
    agent.process.kill()
    agent.process.wait(timeout=20)
    docker_client.containers.get(web).remove(force=True)
    squatter = docker_client.containers.create(DEMO_IMAGE, ["sleep", "60"], name=web)  # the next pass cannot converge
    try:
        again = follow()
        status = eventually(lambda: (s := again.status())["last_pass"] and s, "a pass after the restart")
        assert status["last_pass"]["result"] != "converged"
        assert status["source"]["applied"] == sha
    finally:
        squatter.remove(force=True)


def test_verification_turned_on_does_not_trust_the_unsigned_revision_left_in_force(
        work, follow, names, docker_client, tmp_path):
    web = names("web")
    unsigned = commit(work, {"web.toml": service(web)}, "unsigned")
    agent = follow()
    applied(agent, unsigned)
    serving = running(docker_client, web).id
    agent.stop()
    key, allowed = make_signing_key(tmp_path)
    (tmp_path / "allowed_signers").write_text(allowed + "\n")
    (work / "web.toml").unlink()
    commit(work, {}, "an unsigned removal of web")
    again = follow("--verify-commits", "--allowed-signers", str(tmp_path / "allowed_signers"))
    error = eventually(lambda: again.status()["errors"], "the untrusted revision reported")[0]["text"]
    assert f"{unsigned[:12]}, is not trusted" in error and "nothing is applied" in error
    assert running(docker_client, web).id == serving
    signed = commit_files(work, {"web.toml": service(web, "signed")}, "signed", sign_key=key)
    push(work)
    applied(again, signed)
    assert greeting(docker_client, web) == "signed" and again.status()["source"]["untrusted"] is None


def test_a_broken_file_keeps_mounting_the_content_of_its_last_valid_revision(work, follow, names, docker_client):
    web = names("web")
    files = {"web.toml": service(web, extra='mounts = ["./conf:/conf:ro"]\n'), "conf/motd": "hello\n"}
    agent = follow()
    applied(agent, commit(work, files, "web with its conf"))
    serving = running(docker_client, web).id
    broken = commit(work, {"web.toml": files["web.toml"] + "broken = [\n", "conf/motd": "bonjour\n"}, "broken")
    eventually(lambda: source(agent).get("attempted") == broken, "the broken revision attempted")
    time.sleep(1.5)  # a pass or two more
    errors = agent.status()["errors"]
    assert [e["file"] for e in errors] == ["web.toml"] and "no longer in force" not in errors[0]["text"]
    assert running(docker_client, web).id == serving
