"""`plan --target swarm` and `apply --target swarm` as a user runs them, on the private single-node
Swarm manager ($SWARM_HOST): services, overlay networks, rolling updates and Swarm's rollbacks,
drift healed, jobs, secrets rotated, unowned names left alone, ports published in host mode."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request

import docker
import pytest

pytestmark = pytest.mark.integration

SETTLE_SECONDS = 60.0


@pytest.fixture
def cli(swarm_host, namespace, tmp_path):
    """Run `reconciler ARGS` against the swarm for the test's namespace (its state dir in tmp_path)."""

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "reconciler", *args, "--engine", swarm_host, "--namespace",
                               namespace, "--state-dir", str(tmp_path / "state")],
                              capture_output=True, text=True, timeout=300)
    return run


@pytest.fixture
def files(tmp_path):
    """Write the desired state: `files(text)` replaces app.toml in the test's directory."""
    folder = tmp_path / "desired"
    folder.mkdir()

    def write(text: str) -> str:
        (folder / "app.toml").write_text(text)
        return str(folder)
    return write


def service_toml(name: str, image: str, extra: str = "") -> str:
    return (f'[container.{name}]\nimage = "{image}"\ncommand = ["sleep", "3600"]\ninit = true\nstop_timeout = 1\n'
            + extra)


def running_tasks(client: docker.DockerClient, name: str) -> list[dict]:
    return [t for t in client.services.get(name).tasks() if t["Status"]["State"] == "running"
            and t["DesiredState"] == "running"]


def settle(condition, seconds: float = SETTLE_SECONDS):
    """Wait until `condition()` is true (Swarm schedules tasks asynchronously); its last value."""
    deadline = time.monotonic() + seconds
    while not (value := condition()) and time.monotonic() < deadline:
        time.sleep(0.5)
    return value


def task_container(client: docker.DockerClient, name: str):
    return settle(lambda: next(iter(client.containers.list(filters={"label": f"com.docker.swarm.service.name={name}",
                                                                      "status": "running"})), None))


def test_a_stack_with_an_overlay_network_applies_and_its_next_plan_has_no_changes(
        cli, files, namespace, swarm_registry, swarm_client):
    web = f"{namespace}-web"
    folder = files(f'[network.{namespace}-net]\n\n'
                   + service_toml(web, swarm_registry, f'networks = ["{namespace}-net"]\n'))
    applied = cli("apply", "--target", "swarm", folder)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert swarm_client.networks.get(f"{namespace}-net").attrs["Driver"] == "overlay"
    assert settle(lambda: len(running_tasks(swarm_client, web)) == 1)
    again = cli("plan", "--target", "swarm", "--detailed-exitcode", folder)
    assert (again.returncode, again.stdout) == (0, "No changes: the engine matches the desired state.\n")


def test_replicas_scaled_up_then_down_are_followed_by_the_running_tasks(
        cli, files, namespace, swarm_registry, swarm_client):
    web = f"{namespace}-web"
    assert cli("apply", "--target", "swarm", files(service_toml(web, swarm_registry, "replicas = 3\n"))).returncode == 0
    assert settle(lambda: len(running_tasks(swarm_client, web)) == 3)
    down = cli("apply", "--target", "swarm", files(service_toml(web, swarm_registry, "replicas = 1\n")))
    assert f"% update service {web} (replicas: 3 -> 1)" in down.stdout and down.returncode == 0
    assert settle(lambda: len(running_tasks(swarm_client, web)) == 1)


@pytest.mark.parametrize("order", ["start-first", "stop-first"])
def test_a_rolling_update_completes_and_the_tasks_run_the_new_spec(
        cli, files, namespace, swarm_registry, swarm_client, order):
    web = f"{namespace}-web"
    policy = f'update = {{ order = "{order}", monitor = "1s" }}\nreplicas = 2\n'
    version = [service_toml(web, swarm_registry, policy + f'env = {{ V = "{v}" }}\n') for v in "12"]
    assert cli("apply", "--target", "swarm", files(version[0])).returncode == 0
    updated = cli("apply", "--target", "swarm", files(version[1]))
    assert updated.returncode == 0, updated.stdout + updated.stderr
    service = swarm_client.services.get(web)
    assert service.attrs["UpdateStatus"]["State"] == "completed"
    assert service.attrs["Spec"]["UpdateConfig"]["Order"] == order
    tasks = settle(lambda: len(running_tasks(swarm_client, web)) == 2 and running_tasks(swarm_client, web))
    assert [t["Spec"]["ContainerSpec"]["Env"] for t in tasks] == [["V=2"], ["V=2"]]


def test_an_update_whose_tasks_exit_is_rolled_back_by_swarm_and_reported_with_its_reason(
        cli, files, namespace, swarm_registry, swarm_client):
    web = f"{namespace}-web"
    policy = 'update = { order = "start-first", monitor = "2s" }\n'
    assert cli("apply", "--target", "swarm", files(service_toml(web, swarm_registry, policy))).returncode == 0
    broken = service_toml(web, swarm_registry, policy).replace('["sleep", "3600"]', '["sh", "-c", "exit 3"]')
    failed = cli("apply", "--target", "swarm", files(broken))
    assert failed.returncode == 1
    assert f"failed: update service {web}" in failed.stdout
    assert "rolled back by Swarm: " in failed.stdout and "task: non-zero exit (3)" in failed.stdout
    assert '"event": "service.rolled_back"' in failed.stderr
    assert swarm_client.services.get(web).attrs["Spec"]["TaskTemplate"]["ContainerSpec"]["Args"] == ["sleep", "3600"]


def test_a_spec_swarm_rolled_back_is_blocked_until_the_file_changes(cli, files, namespace, swarm_registry,
                                                                      swarm_client):
    web = f"{namespace}-web"
    policy = 'update = { order = "start-first", monitor = "2s" }\n'
    assert cli("apply", "--target", "swarm", files(service_toml(web, swarm_registry, policy))).returncode == 0
    broken = service_toml(web, swarm_registry, policy).replace('["sleep", "3600"]', '["sh", "-c", "exit 3"]')
    assert cli("apply", "--target", "swarm", files(broken)).returncode == 1
    held = cli("plan", "--target", "swarm", "--detailed-exitcode", files(broken))
    assert held.returncode == 3
    assert held.stdout.startswith(f"# blocked service {web} (rolled back by Swarm: ")
    assert "task: non-zero exit (3)" in held.stdout.splitlines()[0]
    fixed = cli("apply", "--target", "swarm", files(broken.replace("exit 3", "exec sleep 3600")))
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert swarm_client.services.get(web).attrs["UpdateStatus"]["State"] == "completed"


def test_a_service_scaled_by_hand_is_scaled_back_by_the_next_apply(cli, files, namespace, swarm_registry,
                                                                    swarm_client):
    web = f"{namespace}-web"
    folder = files(service_toml(web, swarm_registry, "replicas = 2\n"))
    assert cli("apply", "--target", "swarm", folder).returncode == 0
    swarm_client.services.get(web).scale(4)
    healed = cli("apply", "--target", "swarm", folder)
    assert healed.returncode == 0, healed.stdout + healed.stderr
    assert swarm_client.services.get(web).attrs["Spec"]["Mode"]["Replicated"]["Replicas"] == 2
    assert settle(lambda: len(running_tasks(swarm_client, web)) == 2)


def test_a_service_removed_by_hand_is_created_again_by_the_next_apply(cli, files, namespace, swarm_registry,
                                                                      swarm_client):
    web = f"{namespace}-web"
    folder = files(service_toml(web, swarm_registry))
    assert cli("apply", "--target", "swarm", folder).returncode == 0
    swarm_client.services.get(web).remove()
    healed = cli("apply", "--target", "swarm", folder)
    assert f"+ create service {web} (missing)" in healed.stdout and healed.returncode == 0
    assert settle(lambda: len(running_tasks(swarm_client, web)) == 1)


def test_a_service_no_longer_declared_is_removed(cli, files, namespace, swarm_registry, swarm_client):
    web, old = f"{namespace}-web", f"{namespace}-old"
    both = files(service_toml(web, swarm_registry) + "\n" + service_toml(old, swarm_registry))
    assert cli("apply", "--target", "swarm", both).returncode == 0
    removed = cli("apply", "--target", "swarm", files(service_toml(web, swarm_registry)))
    assert f"- remove service {old} (no longer declared)" in removed.stdout and removed.returncode == 0
    assert [s.name for s in swarm_client.services.list(filters={"name": namespace})] == [web]


def test_a_completed_state_container_is_a_job_that_runs_once(cli, files, namespace, swarm_registry, swarm_client):
    job = f"{namespace}-job"
    folder = files(f'[container.{job}]\nimage = "{swarm_registry}"\ncommand = ["true"]\nstate = "completed"\n')
    assert cli("apply", "--target", "swarm", folder).returncode == 0
    assert "ReplicatedJob" in swarm_client.services.get(job).attrs["Spec"]["Mode"]
    assert settle(lambda: [t["Status"]["State"] for t in swarm_client.services.get(job).tasks()] == ["complete"])
    assert cli("apply", "--target", "swarm", folder).returncode == 0
    time.sleep(2)
    assert [t["Status"]["State"] for t in swarm_client.services.get(job).tasks()] == ["complete"]


def test_a_rotated_secret_is_a_new_secret_the_task_reads_and_the_old_one_is_kept_for_a_rollback(
        cli, files, namespace, swarm_registry, swarm_client, tmp_path):
    web, value = f"{namespace}-web", tmp_path / "token"
    value.write_text("first-value\n")
    folder = files(f'[secret.{namespace}-token]\nfile = "{value}"\n\n'
                   + service_toml(web, swarm_registry, f'secrets = ["{namespace}-token"]\n'))
    assert cli("apply", "--target", "swarm", folder).returncode == 0
    (old,) = [s.name for s in swarm_client.secrets.list(filters={"label": f"io.reconciler.managed={namespace}"})]
    value.write_text("second-value\n")
    rotated = cli("apply", "--target", "swarm", folder)
    assert rotated.returncode == 0, rotated.stdout + rotated.stderr
    names = {s.name for s in swarm_client.secrets.list(filters={"label": f"io.reconciler.managed={namespace}"})}
    assert old in names
    (new,) = names - {old}
    assert new.startswith(f"{namespace}-token-")
    assert f"= retain secret {old} (an older value, no longer used; kept for a rollback: the previous spec of " \
           f"service {web} will name it once updated)" in rotated.stdout
    path = f"/run/secrets/{namespace}-token"
    assert settle(lambda: _read(task_container(swarm_client, web), path) == b"second-value\n")
    assert "second-value" not in rotated.stdout + rotated.stderr


def _read(container, path: str) -> bytes | None:
    if container is None:
        return None
    try:
        return container.exec_run(["cat", path]).output
    except docker.errors.APIError:
        return None


def test_an_unowned_service_and_network_holding_declared_names_are_conflicts_left_untouched(
        cli, files, namespace, swarm_registry, swarm_client):
    web, net = f"{namespace}-web", f"{namespace}-net"
    theirs = swarm_client.services.get(swarm_client.services.create(swarm_registry, ["sleep", "3600"], name=web).id)
    network = swarm_client.networks.create(net, driver="overlay", attachable=True)
    applied = cli("apply", "--target", "swarm", files(f"[network.{net}]\n\n" + service_toml(
        web, swarm_registry, f'networks = ["{net}"]\n')))
    assert applied.returncode == 1
    assert f"! conflict service {web}" in applied.stdout and f"! conflict network {net}" in applied.stdout
    assert swarm_client.services.get(web).attrs["Version"] == theirs.attrs["Version"]
    assert (swarm_client.networks.get(network.id).attrs["Labels"] or {}) == {}


def test_validate_for_swarm_rejects_a_field_swarm_cannot_run_at_its_line(cli, files, namespace, swarm_registry):
    checked = cli("validate", "--target", "swarm", files(service_toml(f"{namespace}-web", swarm_registry,
                                                                     "privileged = true\n")))
    assert checked.returncode == 1
    assert "app.toml:6: " in checked.stderr and "privileged" in checked.stderr


def test_a_port_published_in_host_mode_answers_on_127_0_0_1(cli, files, namespace, swarm_registry):
    """On an overlay network, through `docker_gwbridge` (docs/swarm.md, Ports)."""
    port = _free_port()
    folder = files(f'[network.{namespace}-net]\n\n[container.{namespace}-web]\nimage = "{swarm_registry}"\n'
                   'command = ["sh", "-c", "echo swarm-host-mode > /tmp/index.html && exec httpd -f -p 8080 -h /tmp"]\n'
                   f'init = true\nstop_timeout = 1\nnetworks = ["{namespace}-net"]\n'
                   f'ports = [{{ target = 8080, published = {port}, mode = "host" }}]\n')
    assert cli("apply", "--target", "swarm", folder).returncode == 0
    assert settle(lambda: _get(f"http://127.0.0.1:{port}/")) == "swarm-host-mode\n"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return answer.read().decode()
    except OSError:
        return None


def test_plan_against_an_engine_that_is_no_swarm_manager_is_an_error_saying_so(docker_client, files, tmp_path):
    engine = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")  # the engine docker_client reaches
    if docker_client.info()["Swarm"].get("LocalNodeState") == "active":
        pytest.skip(f"the engine at {engine} is in a swarm")
    planned = subprocess.run([sys.executable, "-m", "reconciler", "plan", "--target", "swarm", "--engine", engine,
                              "--state-dir", str(tmp_path / "state"), files(service_toml("web", "localhost/demo:1"))],
                             capture_output=True, text=True, timeout=120)
    assert planned.returncode == 1
    assert planned.stderr.strip().splitlines()[-1] == (
        f"error: engine {engine} is not a Swarm manager: the node is not part of an active swarm (state: inactive; "
        "`docker swarm init` makes one)")


def test_a_declared_volume_is_made_by_the_node_with_its_driver_options_and_labels(
        cli, files, namespace, swarm_registry, swarm_client):
    web, data = f"{namespace}-web", f"{namespace}-data"
    declared = (service_toml(web, swarm_registry, f'mounts = ["{data}:/data"]\n')
                + f'\n[volume.{data}]\ndriver = "local"\noptions = {{ type = "tmpfs", device = "tmpfs" }}\n'
                  'labels = { team = "a" }\n')
    try:
        applied = cli("apply", "--target", "swarm", files(declared))
        assert applied.returncode == 0, applied.stdout + applied.stderr
        assert settle(lambda: running_tasks(swarm_client, web))
        volume = swarm_client.volumes.get(data).attrs
        assert (volume["Driver"], volume["Options"], volume["Labels"]["team"]) == (
            "local", {"type": "tmpfs", "device": "tmpfs"}, "a")
        again = cli("plan", "--target", "swarm", "--detailed-exitcode", files(declared))
        assert again.returncode == 0, again.stdout + again.stderr
    finally:
        swarm_client.services.get(web).remove()
        settle(lambda: _volume_removed(swarm_client, data))


def _volume_removed(client: docker.DockerClient, name: str) -> bool:
    """Remove volume `name` once no task container holds it; whether it is gone."""
    try:
        client.volumes.get(name).remove()
    except docker.errors.NotFound:
        return True
    except docker.errors.APIError:
        return False
    return True
