"""A fleet from one directory on the real engine: each host id gets its own resources, a mistyped
one removes nothing. Two hosts are two namespaces on one engine (their names are engine-wide)."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

from tests.conftest import remove_containers
from tests.integration.agents import eventually, service

pytestmark = pytest.mark.integration


def reconciler(*args: str, namespace: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reconciler", *args, "--namespace", namespace],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def other_namespace(docker_client):
    """A second namespace for the second host; what it owns is removed afterwards."""
    name = f"test-{uuid.uuid4().hex[:10]}"
    yield name
    remove_containers(docker_client, docker_client.containers.list(all=True, filters={
        "label": f"io.reconciler.managed={name}"}))


@pytest.fixture
def fleet(desired, names):
    """web for the web-* hosts, db for db-1 only."""
    (desired / "fleet.toml").write_text(service(names("web"), extra='hosts = ["web-*"]\n') + "\n"
                                        + service(names("db"), extra='hosts = ["db-1"]\n'))
    return desired


def owners(docker_client, names) -> dict[str, str]:
    """Container name -> the namespace that owns it, for web and db."""
    found = {}
    for name in (names("web"), names("db")):
        for container in docker_client.containers.list(all=True, filters={"name": f"^{name}$"}):
            found[name] = container.labels.get("io.reconciler.managed")
    return found


def test_two_hosts_applying_one_directory_each_get_their_own_containers(
    fleet, namespace, other_namespace, names, docker_client
):
    web = reconciler("apply", str(fleet), "--host-id", "web-1", namespace=namespace)
    db = reconciler("apply", str(fleet), "--host-id", "db-1", namespace=other_namespace)
    assert (web.returncode, db.returncode) == (0, 0), web.stderr + db.stderr
    assert owners(docker_client, names) == {names("web"): namespace, names("db"): other_namespace}


def test_a_mistyped_host_id_removes_nothing_and_says_the_selection_is_empty(fleet, namespace, names, docker_client):
    assert reconciler("apply", str(fleet), "--host-id", "web-1", namespace=namespace).returncode == 0
    result = reconciler("apply", str(fleet), "--host-id", "wbe-1", namespace=namespace)
    assert result.returncode == 1
    assert "blocked: refused: the selection for host 'wbe-1' is empty" in result.stdout
    assert docker_client.containers.get(names("web")).status == "running"


def test_plan_with_a_host_id_shows_that_hosts_view(fleet, namespace, names):
    result = reconciler("plan", str(fleet), "--brief", "--host-id", "db-1", namespace=namespace)
    assert result.stdout == f"+ create container {names('db')} (missing)\nPlan: 1 to create.\n"


def test_plan_refuses_a_view_whose_container_is_on_a_network_for_other_hosts(fleet, namespace, names):
    (fleet / "net.toml").write_text(f'[network.{names("front")}]\nhosts = ["web-*"]\n')
    (fleet / "log.toml").write_text(service(names("log"), extra=f'networks = ["{names("front")}"]\n'))
    result = reconciler("plan", str(fleet), "--host-id", "db-1", namespace=namespace)
    assert result.returncode == 1
    assert f"log.toml:7: container.{names('log')}.networks.{names('front')}: on host 'db-1': network " in result.stderr


def test_an_agent_with_a_host_id_converges_its_own_view_beside_another_hosts_containers(
    fleet, start_agent, namespace, other_namespace, names, docker_client
):
    assert reconciler("apply", str(fleet), "--host-id", "db-1", namespace=other_namespace).returncode == 0
    start_agent(extra=("--host-id", "web-3"))
    expected = {names("web"): namespace, names("db"): other_namespace}
    eventually(lambda: owners(docker_client, names) == expected, "web made by the agent of web-3")
