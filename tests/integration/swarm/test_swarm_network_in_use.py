"""An owned overlay network that a service made by hand (not this namespace's) still uses, on the
private single-node Swarm manager ($SWARM_HOST): `apply --target swarm` neither removes nor makes it
again, reports the block naming that service, and relays no raw error of the engine (review-swarm
finding 5)."""

from __future__ import annotations

import docker
import pytest

from tests.integration.swarm.test_swarm_apply import cli, files  # noqa: F401 (fixtures)

pytestmark = pytest.mark.integration


@pytest.fixture
def network_in_use(cli, files, namespace, swarm_registry, swarm_client):  # noqa: F811
    """The namespace's network `NS-net`, applied, and the service `NS-byhand` created on it with the
    docker SDK; (network name, service name, network id)."""
    network, by_hand = f"{namespace}-net", f"{namespace}-byhand"
    applied = cli("apply", "--target", "swarm", files(f"[network.{network}]\n"))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    network_id = swarm_client.networks.get(network).id
    swarm_client.services.create(swarm_registry, ["sleep", "3600"], name=by_hand, networks=[network])
    return network, by_hand, network_id


def assert_blocked(result, network: str, by_hand: str, swarm_client: docker.DockerClient, network_id: str) -> None:
    output = result.stdout + result.stderr
    assert f"# blocked network {network} (" in output, output
    assert f"in use: by service/{by_hand} (not this namespace's)" in output, output
    assert "rpc error" not in output and "failed:" not in output, output
    assert swarm_client.networks.get(network).id == network_id


def test_a_network_no_longer_declared_stays_while_an_unowned_service_uses_it(
        cli, files, network_in_use, swarm_client):  # noqa: F811
    network, by_hand, network_id = network_in_use

    applied = cli("apply", "--target", "swarm", "--allow-empty", files(""))

    assert applied.returncode == 1
    assert_blocked(applied, network, by_hand, swarm_client, network_id)


def test_a_changed_network_is_not_made_again_while_an_unowned_service_uses_it(
        cli, files, network_in_use, swarm_client):  # noqa: F811
    network, by_hand, network_id = network_in_use

    applied = cli("apply", "--target", "swarm", files(f"[network.{network}]\ninternal = true\n"))

    assert applied.returncode == 1
    assert_blocked(applied, network, by_hand, swarm_client, network_id)
