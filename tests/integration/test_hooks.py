"""post_start and pre_stop hooks on the real engine (Docker, or Podman at $DOCKER_HOST), through
`reconciler apply` as a user runs it."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration


def apply(directory, namespace: str, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reconciler", "apply", str(directory), "--namespace", namespace,
                           *options], capture_output=True, text=True, timeout=180)


def write(directory, namespace: str, body: str) -> str:
    """The container `NAMESPACE-app`, a busybox that stops at once, with `body` added; its name."""
    name = f"{namespace}-app"
    (directory / "app.toml").write_text(
        f'[container.{name}]\nimage = "localhost/demo:1"\ncommand = ["sleep", "3600"]\ninit = true\n'
        f'stop_timeout = 1\nupdate = {{ timeout = "20s" }}\n{body}')
    return name


def read(docker_client, name: str, path: str) -> str:
    result = docker_client.containers.get(name).exec_run(["cat", path])
    assert result.exit_code == 0, result.output
    return result.output.decode()


def test_a_post_start_hook_runs_in_the_started_container_as_its_declared_user(tmp_path, namespace, docker_client):
    name = write(tmp_path, namespace, 'user = "1000"\n'
                 'post_start = [{ command = "sh -c \'echo $(id -u) $STEP > /dev/shm/started\'", user = "4242", '
                 'environment = { STEP = "one" } }]\n')
    done = apply(tmp_path, namespace)
    assert done.returncode == 0, done.stdout + done.stderr
    assert read(docker_client, name, "/dev/shm/started") == "4242 one\n"


def test_a_pre_stop_hook_of_the_old_container_writes_before_a_replacement_stops_it(
        tmp_path, namespace, docker_client):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    body = (f'mounts = ["{shared}:/shared"]\n'
            "pre_stop = [{ command = [\"sh\", \"-c\", \"hostname > /shared/stopped-by\"] }]\n")
    desired = tmp_path / "desired"
    desired.mkdir()
    name = write(desired, namespace, f'env = {{ V = "1" }}\n{body}')
    assert apply(desired, namespace).returncode == 0
    old = docker_client.containers.get(name).id
    write(desired, namespace, f'env = {{ V = "2" }}\n{body}')
    done = apply(desired, namespace)
    assert done.returncode == 0, done.stdout + done.stderr
    assert docker_client.containers.get(name).id != old
    assert (shared / "stopped-by").read_text().strip() == old[:12]


def test_a_failing_post_start_rolls_a_replacement_back_and_never_shows_an_env_file_value(
        tmp_path, namespace, docker_client):
    desired = tmp_path / "desired"
    desired.mkdir()
    env_file = tmp_path / "env"
    env_file.write_text("HOOK_TOKEN=s3cr3t-token\n")
    name = write(desired, namespace, 'env = { V = "1" }\n')
    assert apply(desired, namespace).returncode == 0
    old = docker_client.containers.get(name).id
    write(desired, namespace, 'env = { V = "2" }\npost_start = [{ command = "sh -c \'echo no $TOKEN >&2; exit 4\'", '
                              'environment = { TOKEN = "${HOOK_TOKEN}" } }]\n')
    done = apply(desired, namespace, "--env-file", str(env_file))
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "post_start hook 1 exited with code 4: no ***" in output
    assert "s3cr3t-token" not in output
    container = docker_client.containers.get(name)
    assert (container.id, container.status) == (old, "running")


def test_a_pre_stop_hook_runs_before_apply_removes_a_container_no_longer_declared(
        tmp_path, namespace, docker_client):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    desired = tmp_path / "desired"
    desired.mkdir()
    name = write(desired, namespace, f'mounts = ["{shared}:/shared"]\n'
                 "pre_stop = [{ command = [\"sh\", \"-c\", \"echo bye > /shared/removed\"] }]\n")
    (desired / "keep.toml").write_text(f'[container.{namespace}-keep]\nimage = "localhost/demo:1"\n'
                                       'command = ["sleep", "3600"]\ninit = true\nstop_timeout = 1\n')
    assert apply(desired, namespace).returncode == 0
    (desired / "app.toml").unlink()
    done = apply(desired, namespace)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not docker_client.containers.list(all=True, filters={"name": f"^{name}$"})
    assert (shared / "removed").read_text() == "bye\n"
