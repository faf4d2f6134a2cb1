"""The Swarm lease (reconciler.swarm.lease) on the real Swarm manager: two agents' `Leases` on one
config, `reconciler-lease-<namespace>`. The durations are shortened (a 3 s lease renewed every
1 s) so the tests run in seconds; the rule is the same as with 30 s and 10 s."""

from __future__ import annotations

import time

import pytest

from reconciler.swarm.lease import Leases, lease_name
from runtime.swarm import connect_swarm

pytestmark = pytest.mark.integration

TTL = 3.0
RENEW_EVERY = 1.0


@pytest.fixture
def agents(swarm_host, namespace):
    """Two lease holders, a and b, on the same namespace of the Swarm manager."""
    runtime = connect_swarm(swarm_host)
    return tuple(Leases(runtime, namespace, holder, time.time, ttl=TTL, renew_every=RENEW_EVERY)
                 for holder in (f"{namespace}-a", f"{namespace}-b"))


def test_a_second_agent_waits_and_names_the_holder(agents):
    a, b = agents
    assert a.hold() is None
    assert b.hold().startswith(f"lease held by {a.holder} until ")


def test_a_holder_that_renews_keeps_the_lease_past_its_first_expiry(agents):
    a, b = agents
    a.hold()
    for _ in range(int(TTL / RENEW_EVERY) + 2):
        time.sleep(RENEW_EVERY)
        assert a.hold() is None
    assert b.hold().startswith(f"lease held by {a.holder} until ")


def test_the_lease_is_taken_over_once_its_holder_stopped_renewing_it(agents, swarm_client, namespace):
    a, b = agents
    a.hold()
    b.hold()
    time.sleep(TTL + 0.5)
    assert b.hold() is None
    [config] = swarm_client.configs.list(filters={"name": lease_name(namespace)})
    assert config.attrs["Spec"]["Labels"]["io.reconciler.lease-holder"] == b.holder
    assert a.hold().startswith(f"lease held by {b.holder} until ")
