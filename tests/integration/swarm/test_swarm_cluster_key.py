"""The cluster's key of secrets' keyed hashes (reconciler.swarm.cluster_key) on the private Swarm
manager ($SWARM_HOST): kept in the config `reconciler-key-<namespace>`, so that `apply --target
swarm` runs with different state directories (two agents, or an `apply` from another machine)
name a secret alike, and never removed by a Swarm diff nor seen by host mode."""

from __future__ import annotations

import subprocess
import sys

import docker
import pytest

from tests.integration.agents import AgentProcess, eventually
from tests.integration.swarm.test_swarm_apply import service_toml

pytestmark = pytest.mark.integration

NO_CHANGES = "No changes: the engine matches the desired state.\n"
SETTLE_SECONDS = 60.0


@pytest.fixture
def reconciler(swarm_host, namespace, tmp_path):
    """Run `reconciler ARGS` against the swarm for the test's namespace with the state directory
    `tmp_path/<state>`: `reconciler(state, *args)`."""

    def run(state: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "reconciler", *args, "--engine", swarm_host, "--namespace",
                               namespace, "--state-dir", str(tmp_path / state)],
                              capture_output=True, text=True, timeout=300)
    return run


@pytest.fixture
def secret_stack(namespace, swarm_registry, tmp_path):
    """A service reading the secret `<namespace>-token` from the file `token` (its value); the folder."""
    folder = tmp_path / "desired"
    folder.mkdir()
    (tmp_path / "token").write_text("first-value\n")
    (folder / "app.toml").write_text(f'[secret.{namespace}-token]\nfile = "{tmp_path / "token"}"\n\n'
                                     + service_toml(f"{namespace}-web", swarm_registry,
                                                    f'secrets = ["{namespace}-token"]\n'))
    return str(folder)


def owned_secrets(client: docker.DockerClient, namespace: str) -> list[tuple[str, str]]:
    """(id, name) of each secret the namespace owns."""
    return [(s.id, s.name) for s in client.secrets.list(filters={"label": f"io.reconciler.managed={namespace}"})]


def secret_references(client: docker.DockerClient, service: str) -> list[tuple[str, str]]:
    """(SecretID, SecretName) of each secret the service's tasks mount."""
    container = client.services.get(service).attrs["Spec"]["TaskTemplate"]["ContainerSpec"]
    return [(s["SecretID"], s["SecretName"]) for s in container.get("Secrets") or []]


def config_named(client: docker.DockerClient, name: str):
    found = [c for c in client.configs.list(filters={"name": name}) if c.name == name]
    return found[0] if found else None


def test_the_adapter_reads_no_key_until_one_is_created(swarm, namespace):
    assert swarm.cluster_key(f"reconciler-key-{namespace}") is None


def test_a_created_key_is_read_back(swarm, namespace):
    name = f"reconciler-key-{namespace}"
    assert swarm.create_cluster_key(name, b"k" * 32) == b"k" * 32
    assert swarm.cluster_key(name) == b"k" * 32


def test_creating_a_key_another_created_first_gives_the_first_ones(swarm, namespace):
    name = f"reconciler-key-{namespace}"
    swarm.create_cluster_key(name, b"a" * 32)
    assert swarm.create_cluster_key(name, b"b" * 32) == b"a" * 32


def test_applies_with_two_state_directories_keep_the_secret_and_the_services_reference(
        reconciler, secret_stack, namespace, swarm_client):
    web = f"{namespace}-web"
    first = reconciler("state-a", "apply", "--target", "swarm", secret_stack)
    assert first.returncode == 0, first.stdout + first.stderr
    secrets, references = owned_secrets(swarm_client, namespace), secret_references(swarm_client, web)
    version = swarm_client.services.get(web).attrs["Version"]["Index"]

    second = reconciler("state-b", "apply", "--target", "swarm", secret_stack)

    assert second.returncode == 0, second.stdout + second.stderr
    assert (owned_secrets(swarm_client, namespace), secret_references(swarm_client, web)) == (secrets, references)
    assert swarm_client.services.get(web).attrs["Version"]["Index"] == version
    planned = reconciler("state-c", "plan", "--target", "swarm", "--detailed-exitcode", secret_stack)
    assert (planned.returncode, planned.stdout) == (0, NO_CHANGES)


def test_the_key_is_32_bytes_in_a_config_no_diff_owns(reconciler, secret_stack, namespace, swarm_client):
    assert reconciler("state-a", "apply", "--target", "swarm", secret_stack).returncode == 0
    key = config_named(swarm_client, f"reconciler-key-{namespace}")
    assert key is not None and "io.reconciler.managed" not in (key.attrs["Spec"].get("Labels") or {})
    assert len(swarm_client.api.inspect_config(key.id)["Spec"]["Data"]) == 44  # 32 bytes, base64


def test_a_new_value_still_rotates_the_secret_with_another_state_directory(
        reconciler, secret_stack, namespace, swarm_client, tmp_path):
    web = f"{namespace}-web"
    assert reconciler("state-a", "apply", "--target", "swarm", secret_stack).returncode == 0
    [(old_id, old_name)] = secret_references(swarm_client, web)
    (tmp_path / "token").write_text("second-value\n")

    rotated = reconciler("state-b", "apply", "--target", "swarm", secret_stack)

    assert rotated.returncode == 0, rotated.stdout + rotated.stderr
    [(new_id, new_name)] = secret_references(swarm_client, web)
    assert new_id != old_id and new_name != old_name and new_name.startswith(f"{namespace}-token-")
    assert sorted(owned_secrets(swarm_client, namespace)) == sorted([(old_id, old_name), (new_id, new_name)])


def test_removing_everything_leaves_the_key_and_the_lease_and_host_mode_never_names_them(
        reconciler, secret_stack, namespace, swarm_client, tmp_path):
    assert reconciler("state-a", "apply", "--target", "swarm", secret_stack).returncode == 0
    empty = tmp_path / "empty"
    empty.mkdir()

    emptied = reconciler("state-a", "apply", "--target", "swarm", "--allow-empty", str(empty))
    host = reconciler("state-h", "plan", "--allow-empty", str(empty))

    assert emptied.returncode == 0, emptied.stdout + emptied.stderr
    assert owned_secrets(swarm_client, namespace) == []
    assert config_named(swarm_client, f"reconciler-key-{namespace}") is not None
    assert config_named(swarm_client, f"reconciler-lease-{namespace}") is not None
    assert host.returncode == 0, host.stderr
    assert "reconciler-key" not in host.stdout and "reconciler-lease" not in host.stdout


def test_what_the_agent_applied_with_its_state_directory_plans_no_changes_with_another(
        reconciler, secret_stack, namespace, swarm_host, tmp_path):
    home = tmp_path / "agent"
    home.mkdir()
    agent = AgentProcess(secret_stack, namespace, home, swarm_host, ("--target", "swarm", "--interval", "2s"))
    try:
        eventually(lambda: agent.passes("converged"), "the agent converges", SETTLE_SECONDS)
    finally:
        agent.stop()

    planned = reconciler("state-b", "plan", "--target", "swarm", "--detailed-exitcode", secret_stack)

    assert (planned.returncode, planned.stdout) == (0, NO_CHANGES)


@pytest.fixture
def invalid_stack(secret_stack, namespace):
    """The secret stack plus a service on a network no file declares: the files fail a check."""
    with open(f"{secret_stack}/broken.toml", "w") as file:
        file.write(f'[container.{namespace}-lost]\nimage = "x"\nnetworks = ["{namespace}-undeclared"]\n')
    return secret_stack


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_plan_or_apply_on_files_that_fail_a_check_creates_no_key(
        reconciler, invalid_stack, namespace, swarm_client, command):
    failed = reconciler("state-a", command, "--target", "swarm", invalid_stack)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert f"{namespace}-undeclared" in failed.stderr
    assert config_named(swarm_client, f"reconciler-key-{namespace}") is None
    assert owned_secrets(swarm_client, namespace) == []


def test_plan_on_a_cluster_without_a_key_creates_none_and_says_its_names_are_provisional(
        reconciler, secret_stack, namespace, swarm_client):
    planned = reconciler("state-a", "plan", "--target", "swarm", secret_stack)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert f"+ create secret {namespace}-token-" in planned.stdout
    assert f"note: the cluster has no key of secrets' hashes yet (config reconciler-key-{namespace})" in planned.stderr
    assert config_named(swarm_client, f"reconciler-key-{namespace}") is None
