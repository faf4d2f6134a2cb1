"""Secrets and configs on the real engine (DESIGN section 11): mounted read-only with their
owner and mode, replaced when a value changes, the old file pruned once no container binds it,
and the value nowhere but in its file and the container."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid

import pytest

from reconciler import grantfiles

pytestmark = pytest.mark.integration


@pytest.fixture
def setup(tmp_path, namespace):
    """(run(*args), desired folder, secret file, files folder, state folder, canary)."""
    canary = f"canary-{uuid.uuid4().hex}"
    env_canary = f"envcanary-{uuid.uuid4().hex}"
    desired, files, state = tmp_path / "desired", tmp_path / "files", tmp_path / "state"
    desired.mkdir()
    secret = tmp_path / "db.secret"
    secret.write_text(canary)
    (tmp_path / "env").write_text(f"TOKEN={env_canary}\n")
    (desired / "app.toml").write_text(f"""
[secret.db]
file = "{secret}"
[secret.token]
environment = "TOKEN"
[config.app_conf]
content = "level = debug"
[container.{namespace}-app]
image = "localhost/demo:1"
command = ["sleep", "3600"]
init = true
stop_timeout = 1
secrets = [{{ source = "db", uid = 100, gid = 7, mode = 0o440 }}, "token"]
configs = [{{ source = "app_conf", target = "/etc/app.conf" }}]
""")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "reconciler", *args, str(desired), "--namespace", namespace,
                               "--env-file", str(tmp_path / "env"), "--secrets-dir", str(files),
                               "--state-dir", str(state)], capture_output=True, text=True, timeout=120)

    return run, secret, files, state, (canary, env_canary)


def _exec(container, command: str) -> str:
    code, output = container.exec_run(["sh", "-c", command])
    assert code == 0, output
    return output.decode()


def test_the_container_reads_its_secrets_and_config_with_the_declared_owner_and_mode(setup, docker_client,
                                                                                         namespace):
    run, _, _, _, (canary, env_canary) = setup
    assert run("apply").returncode == 0
    container = docker_client.containers.get(f"{namespace}-app")
    assert _exec(container, "stat -c '%a %u %g' /run/secrets/db; cat /run/secrets/db") == f"440 100 7\n{canary}"
    assert _exec(container, "stat -c '%a %u %g' /run/secrets/token; cat /run/secrets/token") == \
        f"400 0 0\n{env_canary}"
    assert _exec(container, "stat -c '%a' /etc/app.conf; cat /etc/app.conf") == "444\nlevel = debug"
    assert "Read-only file system" in container.exec_run(["sh", "-c", "echo x > /run/secrets/db"]).output.decode()


def test_a_second_pass_changes_nothing(setup):
    run, *_ = setup
    assert run("apply").returncode == 0
    assert run("plan", "--detailed-exitcode").returncode == 0


def test_a_changed_secret_replaces_the_container_and_its_old_file_goes_once_the_old_container_is_gone(
        setup, docker_client, namespace):
    run, secret, files, _, _ = setup
    assert run("apply").returncode == 0
    first = docker_client.containers.get(f"{namespace}-app").id
    old_files = set(p.name for p in files.iterdir())
    secret.write_text("another value")
    assert "secret changed: secrets" in run("plan").stdout
    assert run("apply").returncode == 0
    container = docker_client.containers.get(f"{namespace}-app")
    assert container.id != first
    assert _exec(container, "cat /run/secrets/db") == "another value"
    assert run("apply").returncode == 0  # the next pass prunes what no container binds
    left = set(p.name for p in files.iterdir())
    assert len(left) == 3 and len(left & old_files) == 2


def test_the_canary_is_only_in_its_file_and_the_container(setup, docker_client, namespace, tmp_path):
    run, _, files, state, canaries = setup
    outputs = [run("validate"), run("plan"), run("plan", "--json"), run("apply"), run("plan", "--json")]
    container = docker_client.containers.get(f"{namespace}-app")
    seen = [o.stdout + o.stderr for o in outputs]
    seen.append(json.dumps(container.attrs["Config"]["Labels"]) + json.dumps(container.attrs["Config"]["Env"]))
    seen.append(json.dumps(container.attrs))
    seen += [p.read_bytes().decode(errors="replace") for p in state.rglob("*") if p.is_file()]
    for canary in canaries:
        assert not [text for text in seen if canary in text]
    written = [p.read_text() for p in files.iterdir()]
    assert all(any(canary in text for text in written) for canary in canaries)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root mounts a tmpfs on the default folder")
def test_without_secrets_dir_the_default_folder_is_a_tmpfs_of_its_own(docker_client, namespace, tmp_path):
    folder = grantfiles.default_folder(namespace, os.environ.get("DOCKER_HOST"))
    (tmp_path / "app.toml").write_text(f"""
[secret.db]
environment = "DB_PASSWORD"
[container.{namespace}-app]
image = "localhost/demo:1"
command = ["sleep", "3600"]
init = true
stop_timeout = 1
secrets = ["db"]
""")
    try:
        done = subprocess.run([sys.executable, "-m", "reconciler", "apply", str(tmp_path), "--namespace", namespace,
                               "--state-dir", str(tmp_path / "state")], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "DB_PASSWORD": "s3cret"})
        assert done.returncode == 0, done.stdout + done.stderr
        assert grantfiles.filesystem_of(folder) == "tmpfs"
        container = docker_client.containers.get(f"{namespace}-app")
        assert _exec(container, "cat /run/secrets/db") == "s3cret"
    finally:
        for container in docker_client.containers.list(all=True, filters={"name": f"{namespace}-app"}):
            container.remove(force=True)
        if grantfiles.filesystem_of(folder) == "tmpfs":
            subprocess.run(["umount", str(folder)], check=True)
        shutil.rmtree(folder.parent, ignore_errors=True)
