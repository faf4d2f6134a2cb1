"""`reconciler import compose` end to end on the engine at $DOCKER_HOST (run on Docker and on
Podman): a project that is not running is imported, validated, applied, and a second plan is
empty; its services are on the network Compose would name (`<project>_default`, which both engines
accept). And a running Compose v1 project (Docker only: docker-compose 1.29.2 is a client of Docker
Engine) switched over keeps its containers on its `external` network.
"""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import DEMO_IMAGE, remove_containers
from tests.integration import compose_peer as peer

pytestmark = pytest.mark.integration

# PROJECT: a name of its own per test (the engines are shared)
NOT_RUNNING = f"""\
services:
  PROJECT-web:
    image: {DEMO_IMAGE}
    command: ["sleep", "3600"]
    init: true
    volumes: [PROJECT-data:/data]
    environment:
      SCI: 1e3
volumes:
  PROJECT-data:
"""

EXTERNAL = f"""\
version: "2.4"
services:
  proxy:
    image: {DEMO_IMAGE}
    command: ["sleep", "3600"]
    init: true
    networks: [ext, default]
networks:
  ext:
    external: true
    name: NETWORK
"""


@pytest.fixture
def not_running(tmp_path, namespace):
    """(the project name, its folder) imported into `desired-state`: Compose never ran it."""
    project = f"im{uuid.uuid4().hex[:10]}"
    (tmp_path / "compose.yaml").write_text(NOT_RUNNING.replace("PROJECT", project))
    imported = peer.import_compose("--project-name", project, "--out", "desired-state", cwd=tmp_path)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    return project, tmp_path


def test_a_project_not_running_is_imported_validated_applied_and_then_planned_empty(not_running, namespace):
    _, folder = not_running
    validated = peer.reconciler("validate", "desired-state", namespace=namespace, cwd=folder)
    applied = peer.reconciler("apply", "desired-state", namespace=namespace, cwd=folder)
    planned = peer.reconciler("plan", "desired-state", "--detailed-exitcode", namespace=namespace, cwd=folder)

    assert (validated.returncode, applied.returncode) == (0, 0), validated.stderr + applied.stdout + applied.stderr
    assert peer.still_to_do(planned) == []


def test_a_project_not_running_puts_its_services_on_project_default(not_running, namespace, docker_client):
    project, folder = not_running
    applied = peer.reconciler("apply", "desired-state", namespace=namespace, cwd=folder)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    web = docker_client.api.inspect_container(f"{project}-web")

    assert list(web["NetworkSettings"]["Networks"]) == [f"{project}_default"]
    assert "SCI=1000" in web["Config"]["Env"]


@pytest.fixture
def external_switched(tmp_path, namespace, docker_client):
    """A Compose v1 project whose service is on an external network, switched over: (the
    network's name, the project's folder, the apply's result)."""
    peer.require_compose(docker_client)
    project = f"ex{uuid.uuid4().hex[:10]}"
    network = docker_client.networks.create(f"{project}-shared")
    (tmp_path / "docker-compose.yml").write_text(EXTERNAL.replace("NETWORK", network.name))
    try:
        peer.compose_up(project, tmp_path)
        imported = peer.import_compose("docker-compose.yml", "--project-name", project, "--out", "desired-state",
                                       cwd=tmp_path)
        assert imported.returncode == 0, imported.stdout + imported.stderr
        applied = peer.reconciler("apply", "desired-state", namespace=namespace, cwd=tmp_path)
        yield network.name, project, tmp_path, applied
    finally:
        peer.compose_down(docker_client, project, namespace, tmp_path)
        remove_containers(docker_client, docker_client.containers.list(all=True, filters={"network": network.name}))
        network.remove()


def test_a_switched_over_service_stays_on_its_external_network(external_switched, docker_client):
    network, project, _, applied = external_switched
    assert applied.returncode == 0, applied.stdout + applied.stderr
    proxy = docker_client.api.inspect_container(f"{project}_proxy_1")

    assert sorted(proxy["NetworkSettings"]["Networks"]) == sorted([network, f"{project}_default"])
    assert proxy["Config"]["Labels"].get("io.reconciler.managed")


def test_a_plan_after_switching_over_with_an_external_network_is_empty(external_switched, namespace):
    _, _, folder, _ = external_switched
    planned = peer.reconciler("plan", "desired-state", "--detailed-exitcode", namespace=namespace, cwd=folder)

    assert peer.still_to_do(planned) == []
