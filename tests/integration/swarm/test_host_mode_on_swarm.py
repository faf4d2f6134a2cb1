"""Host mode on a Swarm manager leaves Swarm's task containers alone (model.held_by_swarm): the
host target's `apply` on the same engine never removes, adopts or replaces a task's container,
even when its labels carry this namespace's ownership label. On the private Swarm engine
($SWARM_HOST, tests/integration/swarm/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import docker
import pytest

from tests.conftest import DEMO_IMAGE

pytestmark = pytest.mark.integration



@pytest.fixture
def swarm(swarm_client, namespace):
    """The Swarm engine; the host containers the test's `apply` made are removed afterwards."""
    yield swarm_client
    for container in swarm_client.containers.list(all=True, filters={"label": f"io.reconciler.managed={namespace}"}):
        if not container.labels.get("com.docker.swarm.task.id"):
            container.remove(force=True)


def task_container(swarm: docker.DockerClient, namespace: str, labels: dict[str, str]):
    """Run a one-replica service `NAMESPACE-web` and return its task's running container."""
    service = f"{namespace}-web"
    swarm.services.create(DEMO_IMAGE, ["sleep", "3600"], name=service, container_labels=labels,
                          labels={"io.reconciler.managed": namespace}, stop_grace_period=1_000_000_000)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = swarm.containers.list(filters={"label": f"com.docker.swarm.service.name={service}"})
        if found:
            return found[0]
        time.sleep(0.5)
    pytest.fail(f"service {service} started no task within 60 s")


def host_apply(files, namespace: str, tmp_path, swarm_host: str) -> subprocess.CompletedProcess:
    """`reconciler apply` (the host target) on the Swarm engine."""
    return subprocess.run(
        [sys.executable, "-m", "reconciler", "apply", str(files), "--namespace", namespace,
         "--state-dir", str(tmp_path / "state")],
        capture_output=True, text=True, timeout=180, env={**os.environ, "DOCKER_HOST": swarm_host})


def still_running(swarm: docker.DockerClient, task) -> bool:
    found = swarm.api.inspect_container(task.id)
    return found["State"]["Running"]


def test_adopting_a_task_containers_name_is_a_conflict_and_the_task_runs_on(swarm, swarm_host, namespace, tmp_path):
    task = task_container(swarm, namespace, {"team": "web"})
    files = tmp_path / "desired"
    files.mkdir()
    (files / "app.toml").write_text(
        f'[container."{task.name}"]\nimage = "{DEMO_IMAGE}"\ncommand = ["sleep", "3600"]\ninit = true\n'
        'adopt = true\n')

    applied = host_apply(files, namespace, tmp_path, swarm_host)

    assert applied.returncode == 1, applied.stderr
    assert (f"! conflict container {task.name} (name held by a resource this namespace does not own: "
            f"a Swarm task of service {namespace}-web: Swarm owns it)") in applied.stdout
    assert still_running(swarm, task)


def test_a_task_carrying_this_namespaces_labels_is_not_removed_as_undeclared(swarm, swarm_host, namespace, tmp_path):
    task = task_container(swarm, namespace, {"io.reconciler.managed": namespace, "io.reconciler.name": "web"})
    files = tmp_path / "desired"
    files.mkdir()
    (files / "other.toml").write_text(
        f'[container.{namespace}-other]\nimage = "{DEMO_IMAGE}"\ncommand = ["sleep", "3600"]\ninit = true\n')

    applied = host_apply(files, namespace, tmp_path, swarm_host)

    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "remove" not in applied.stdout
    assert still_running(swarm, task)


def test_the_host_targets_apply_leaves_the_swarm_targets_overlay_network_in_place(
        swarm, swarm_host, swarm_registry, namespace, tmp_path):
    network = f"{namespace}-net"
    on_swarm = tmp_path / "swarm"
    on_swarm.mkdir()
    (on_swarm / "app.toml").write_text(
        f'[network.{network}]\n\n[container.{namespace}-web]\nimage = "{swarm_registry}"\n'
        f'command = ["sleep", "3600"]\ninit = true\nstop_timeout = 1\nnetworks = ["{network}"]\n')
    made = subprocess.run([sys.executable, "-m", "reconciler", "apply", "--target", "swarm", str(on_swarm),
                           "--namespace", namespace, "--state-dir", str(tmp_path / "swarm-state")],
                          capture_output=True, text=True, timeout=180, env={**os.environ, "DOCKER_HOST": swarm_host})
    assert made.returncode == 0, made.stderr
    overlay = swarm.networks.get(network).id
    files = tmp_path / "desired"
    files.mkdir()
    (files / "other.toml").write_text(f'[container.{namespace}-other]\nimage = "{DEMO_IMAGE}"\n'
                                      'command = ["sleep", "3600"]\ninit = true\n')
    done = host_apply(files, namespace, tmp_path, swarm_host)
    assert done.returncode == 0, done.stderr
    assert f"network {network}" not in done.stdout
    assert swarm.networks.get(network).id == overlay


def host_overlay(files, namespace: str, network: str) -> None:
    """A host-target overlay network (attachable, as a container needs it) with a container on it."""
    (files / "app.toml").write_text(
        f'[network.{network}]\ndriver = "overlay"\nattachable = true\n\n'
        f'[container.{namespace}-web]\nimage = "{DEMO_IMAGE}"\ncommand = ["sleep", "3600"]\ninit = true\n'
        f'stop_timeout = 1\nnetworks = ["{network}"]\n')


def host_plan(files, namespace: str, tmp_path, swarm_host: str, *target: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "reconciler", "plan", *target, str(files), "--namespace", namespace,
         "--state-dir", str(tmp_path / "state")],
        capture_output=True, text=True, timeout=180, env={**os.environ, "DOCKER_HOST": swarm_host})


def test_a_host_target_overlay_network_stays_owned_and_the_next_plan_has_no_changes(
        swarm, swarm_host, namespace, tmp_path):
    network = f"{namespace}-ov"
    files = tmp_path / "desired"
    files.mkdir()
    host_overlay(files, namespace, network)

    applied = host_apply(files, namespace, tmp_path, swarm_host)

    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert swarm.networks.get(network).attrs["Scope"] == "swarm"
    planned = host_plan(files, namespace, tmp_path, swarm_host)
    assert (planned.returncode, planned.stdout.strip()) == (0, "No changes: the engine matches the desired state.")


def test_a_host_target_overlay_network_is_removed_once_undeclared(swarm, swarm_host, namespace, tmp_path):
    network = f"{namespace}-ov"
    files = tmp_path / "desired"
    files.mkdir()
    host_overlay(files, namespace, network)
    assert host_apply(files, namespace, tmp_path, swarm_host).returncode == 0
    (files / "app.toml").write_text(f'[container.{namespace}-other]\nimage = "{DEMO_IMAGE}"\n'
                                    'command = ["sleep", "3600"]\ninit = true\nstop_timeout = 1\n')

    applied = host_apply(files, namespace, tmp_path, swarm_host)

    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert f"- remove network {network}" in applied.stdout
    with pytest.raises(docker.errors.NotFound):
        swarm.networks.get(network)


def test_the_swarm_target_leaves_the_host_targets_overlay_network_of_its_namespace_alone(
        swarm, swarm_host, swarm_registry, namespace, tmp_path):
    network = f"{namespace}-ov"
    files = tmp_path / "desired"
    files.mkdir()
    host_overlay(files, namespace, network)
    assert host_apply(files, namespace, tmp_path, swarm_host).returncode == 0
    on_swarm = tmp_path / "swarm"
    on_swarm.mkdir()
    (on_swarm / "app.toml").write_text(f'[container.{namespace}-svc]\nimage = "{swarm_registry}"\n'
                                       'command = ["sleep", "3600"]\ninit = true\n')

    planned = host_plan(on_swarm, namespace, tmp_path, swarm_host, "--target", "swarm")

    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert f"create service {namespace}-svc" in planned.stdout
    assert network not in planned.stdout
