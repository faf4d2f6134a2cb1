"""`reconciler run --target swarm` as a process on the private single-node Swarm manager
($SWARM_HOST): it converges a stack, heals a service removed by hand, and a second agent of the
same namespace waits for the lease, says who holds it, and changes nothing. The second agent
names the manager by another address (`//` in the socket path): to the local lock, which is per
engine address, it is another manager of the cluster, as a second agent on another node is."""

from __future__ import annotations

import subprocess
import sys
import time

import docker
import pytest

from tests.integration.agents import AgentProcess, eventually
from tests.integration.swarm.test_swarm_apply import running_tasks, service_toml

pytestmark = pytest.mark.integration

SETTLE_SECONDS = 60.0
LEASE_SECONDS = 30.0  # a lease not renewed is taken over this long after its last renewal


@pytest.fixture
def stack(tmp_path, namespace, swarm_registry):
    """A directory declaring an overlay network and a service of two replicas on it."""
    folder = tmp_path / "desired"
    folder.mkdir()
    (folder / "app.toml").write_text(
        f'[network.{namespace}-net]\n\n'
        + service_toml(f"{namespace}-web", swarm_registry, f'replicas = 2\nnetworks = ["{namespace}-net"]\n'))
    return folder


@pytest.fixture
def start(stack, namespace, tmp_path):
    """Start `run --target swarm` on the stack (`engine`: the manager's address); stopped afterwards."""
    agents = []

    def start_one(name: str, engine: str) -> AgentProcess:
        home = tmp_path / name
        home.mkdir()
        agents.append(AgentProcess(stack, namespace, home, engine, ("--target", "swarm", "--interval", "2s")))
        return agents[-1]

    yield start_one
    for agent in agents:
        agent.stop()


def converged_with_replicas(agent: AgentProcess, name: str, running: int) -> dict | None:
    status = agent.status()
    found = {r["name"]: r for r in status["resources"]}.get(name) or {}
    ok = (status["last_pass"] or {}).get("result") == "converged" and found.get("state") == "converged"
    return status if ok and found.get("replicas") == {"running": running, "desired": running} else None


def test_the_agent_converges_a_stack_and_reports_its_replicas(start, swarm_host, swarm_client, namespace):
    agent = start("a", swarm_host)
    status = eventually(lambda: converged_with_replicas(agent, f"{namespace}-web", 2), "web runs 2 of 2 tasks",
                        SETTLE_SECONDS)
    assert (status["target"], status["lease"]["held"]) == ("swarm", True)
    assert swarm_client.networks.get(f"{namespace}-net").attrs["Driver"] == "overlay"
    assert len(running_tasks(swarm_client, f"{namespace}-web")) == 2
    assert f'reconciler_service_replicas{{name="{namespace}-web",state="running"}} 2.0' in agent.get("/metrics")[1]


def test_the_agent_and_reconciler_status_show_the_engine_as_a_swarm_manager(start, swarm_host, swarm_client,
                                                                            namespace):
    agent = start("a", swarm_host)
    status = eventually(lambda: converged_with_replicas(agent, f"{namespace}-web", 2), "web runs", SETTLE_SECONDS)
    swarm = swarm_client.info()["Swarm"]
    assert (status["engine"]["kind"], status["engine"]["version"]) == ("docker", swarm_client.version()["Version"])
    assert status["engine"]["swarm"] == {"role": "manager", "node_id": swarm["NodeID"],
                                         "cluster_id": swarm["Cluster"]["ID"], "nodes": swarm["Nodes"],
                                         "managers": swarm["Managers"]}
    shown = subprocess.run([sys.executable, "-m", "reconciler", "--namespace", namespace, "status",
                            "--status-file", str(agent.status_file)], capture_output=True, text=True, timeout=60)
    assert f"Swarm manager {swarm['NodeID']} of {swarm['Nodes']} node" in shown.stdout, shown.stdout + shown.stderr


def test_the_agent_heals_a_service_removed_by_hand(start, swarm_host, swarm_client, namespace):
    agent = start("a", swarm_host)
    eventually(lambda: converged_with_replicas(agent, f"{namespace}-web", 2), "web runs", SETTLE_SECONDS)
    old = swarm_client.services.get(f"{namespace}-web").id
    swarm_client.services.get(f"{namespace}-web").remove()

    def recreated():
        try:
            return swarm_client.services.get(f"{namespace}-web").id != old
        except docker.errors.NotFound:
            return False

    eventually(recreated, "the service made again", SETTLE_SECONDS)
    eventually(lambda: converged_with_replicas(agent, f"{namespace}-web", 2), "web runs again", SETTLE_SECONDS)


def replicas(client: docker.DockerClient, name: str) -> int:
    return client.services.get(name).attrs["Spec"]["Mode"]["Replicated"]["Replicas"]


def test_a_second_agent_waits_for_the_lease_names_its_holder_and_changes_nothing(
        start, swarm_host, swarm_client, namespace):
    web = f"{namespace}-web"
    first = start("a", swarm_host)
    eventually(lambda: converged_with_replicas(first, web, 2), "web runs", SETTLE_SECONDS)
    holder = first.status()["lease"]["holder"]
    second = start("b", swarm_host.replace("/docker.sock", "//docker.sock"))

    def waiting():
        status = second.status()
        return status if (status["last_pass"] or {}).get("result") == "waiting" else None

    status = eventually(waiting, "the second agent's pass waits", SETTLE_SECONDS)
    assert status["lease"]["held"] is False
    assert status["lease"]["waiting"].startswith(f"lease held by {holder} until ")
    assert any('"lease.waiting"' in line and holder in line for line in second.log.read_text().splitlines())
    first.stop()
    swarm_client.services.get(web).scale(1)  # drift: the second agent may heal it only once the lease expired
    time.sleep(5)
    assert replicas(swarm_client, web) == 1 and second.passes("converged") == 0


def test_a_second_agent_takes_over_once_the_first_stopped_renewing(start, swarm_host, swarm_client, namespace):
    web = f"{namespace}-web"
    first = start("a", swarm_host)
    eventually(lambda: converged_with_replicas(first, web, 2), "web runs", SETTLE_SECONDS)
    second = start("b", swarm_host.replace("/docker.sock", "//docker.sock"))
    eventually(lambda: second.passes("waiting"), "the second agent waits", SETTLE_SECONDS)
    first.stop()
    swarm_client.services.get(web).scale(1)
    status = eventually(lambda: converged_with_replicas(second, web, 2), "the second agent heals web",
                        LEASE_SECONDS + SETTLE_SECONDS)
    assert status["lease"]["held"] is True


def test_run_on_an_engine_that_is_not_a_swarm_manager_is_an_error_saying_so(stack, namespace, tmp_path):
    plain = "unix:///run/reconciler-engine/docker.sock"
    done = subprocess.run([sys.executable, "-m", "reconciler", "--engine", plain, "--namespace", namespace,
                           "--state-dir", str(tmp_path / "state"), "run", str(stack), "--target", "swarm",
                           "--status-addr", "127.0.0.1:0", "--status-file", str(tmp_path / "status.json")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert f"error: engine {plain} is not a Swarm manager: " in done.stderr


def apply_cli(stack, namespace: str, engine: str, tmp_path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reconciler", "--engine", engine, "--namespace", namespace,
                           "--state-dir", str(tmp_path / "apply-state"), "apply", str(stack), *extra],
                          capture_output=True, text=True, timeout=300)


def test_apply_target_swarm_asks_the_running_agent_for_its_pass(start, stack, swarm_host, swarm_client, namespace,
                                                                tmp_path):
    agent = start("a", swarm_host)
    eventually(lambda: converged_with_replicas(agent, f"{namespace}-web", 2), "web runs", SETTLE_SECONDS)
    swarm_client.services.get(f"{namespace}-web").scale(1)
    done = apply_cli(stack, namespace, swarm_host, tmp_path, "--target", "swarm")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("applied through the running agent (one writer per engine and namespace):")
    assert replicas(swarm_client, f"{namespace}-web") == 2


def test_apply_of_the_host_target_is_refused_by_an_agent_of_the_swarm_target(start, stack, swarm_host, namespace,
                                                                              tmp_path):
    agent = start("a", swarm_host)
    eventually(lambda: converged_with_replicas(agent, f"{namespace}-web", 2), "web runs", SETTLE_SECONDS)
    done = apply_cli(stack, namespace, swarm_host, tmp_path)
    assert done.returncode == 1
    assert "this agent converges --target swarm, not --target host: apply refused" in done.stderr
