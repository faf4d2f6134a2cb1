"""A healthy `apply --target swarm` ends converged (exit 0), on the private single-node Swarm
manager ($SWARM_HOST): a rolling update with a delay between batches finishes within the plan's
bound, a service removed with its overlay network leaves nothing to do, and an update after a
secret's rotation removes the older value it moved off in the same apply (review-swarm findings 2, 3)."""

from __future__ import annotations

import pytest

from tests.integration.swarm.test_swarm_apply import cli, files, service_toml  # noqa: F401

pytestmark = pytest.mark.integration


def _owned(collection, namespace: str) -> list[str]:
    return sorted(item.name for item in collection.list(filters={"label": f"io.reconciler.managed={namespace}"}))


def test_a_two_replica_rolling_update_with_a_delay_ends_converged(
        cli, files, namespace, swarm_registry, swarm_client):  # noqa: F811 (pytest fixtures)
    web = f"{namespace}-web"
    policy = 'replicas = 2\nupdate = { timeout = "1s", delay = "5s", monitor = "1s" }\n'
    assert cli("apply", "--target", "swarm", files(service_toml(web, swarm_registry, policy))).returncode == 0
    edited = files(service_toml(web, swarm_registry, policy + 'env = { V = "2" }\n'))

    updated = cli("apply", "--target", "swarm", edited)

    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert swarm_client.services.get(web).attrs["UpdateStatus"]["State"] == "completed"


def test_a_service_removed_with_its_overlay_network_leaves_nothing_to_do(
        cli, files, namespace, swarm_registry, swarm_client):  # noqa: F811 (pytest fixtures)
    net = f"{namespace}-net"
    stack = f"[network.{net}]\n\n" + service_toml(f"{namespace}-web", swarm_registry, f'networks = ["{net}"]\n')
    assert cli("apply", "--target", "swarm", files(stack)).returncode == 0

    emptied = cli("apply", "--target", "swarm", "--allow-empty", files(""))

    assert emptied.returncode == 0, emptied.stdout + emptied.stderr
    assert [n.name for n in swarm_client.networks.list(names=[net]) if n.name == net] == []


def test_an_update_after_a_secret_rotation_removes_the_older_value_in_the_same_apply(
        cli, files, namespace, swarm_registry, swarm_client, tmp_path):  # noqa: F811 (pytest fixtures)
    web, value = f"{namespace}-web", tmp_path / "token"
    value.write_text("first-value\n")
    stack = (f'[secret.{namespace}-token]\nfile = "{value}"\n\n'
             + service_toml(web, swarm_registry, f'secrets = ["{namespace}-token"]\nupdate = {{ monitor = "1s" }}\n'))
    assert cli("apply", "--target", "swarm", files(stack)).returncode == 0
    value.write_text("second-value\n")
    assert cli("apply", "--target", "swarm", files(stack)).returncode == 0
    assert len(_owned(swarm_client.secrets, namespace)) == 2  # the older value retained for a rollback

    updated = cli("apply", "--target", "swarm", files(stack + 'env = { V = "2" }\n'))

    assert updated.returncode == 0, updated.stdout + updated.stderr
    used = swarm_client.services.get(web).attrs["Spec"]["TaskTemplate"]["ContainerSpec"]["Secrets"]
    assert _owned(swarm_client.secrets, namespace) == [used[0]["SecretName"]]
