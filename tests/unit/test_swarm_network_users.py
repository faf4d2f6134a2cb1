"""An owned overlay network a service this namespace does not own still uses (review-swarm finding 5):
the observation names such services (runtime.swarm_observe.network_users), and the Swarm plan
blocks the network's removal or recreation, naming them, as it does for owned services."""

from __future__ import annotations

import dataclasses

import pytest

from reconciler.model import LABEL_MANAGED, LABEL_TARGET, TARGET_SWARM
from runtime.swarm_observe import network, network_users, swarm_network
from tests.unit.test_swarm_plan import FRONT, desired, running, swarm, text, web

NETWORKS = [{"Id": "n1", "Name": "front"}, {"Id": "n2", "Name": "back"}]


def service(name: str, *targets: str, namespace: str | None = None) -> dict:
    """A `GET /services` item attached to `targets` (network ids or names), owned by `namespace`."""
    labels = {LABEL_MANAGED: namespace} if namespace else {}
    return {"ID": "id-" + name, "Spec": {"Name": name, "Labels": labels,
                                         "TaskTemplate": {"Networks": [{"Target": t} for t in targets]}}}


def test_services_not_owned_are_named_per_network_they_attach_to_by_id_or_name():
    listed = [service("x", "n1"), service("y", "back", "n1"), service("z", "elsewhere")]

    assert network_users(listed, NETWORKS, "ns") == {"front": {"x", "y"}, "back": {"y"}}


def test_the_namespaces_own_services_are_not_network_users_here():
    assert network_users([service("web", "n1", namespace="ns")], NETWORKS, "ns") == {}


def test_another_namespaces_service_is_a_network_user():
    assert network_users([service("web", "n1", namespace="other")], NETWORKS, "ns") == {"front": {"web"}}


INTERNAL = dataclasses.replace(FRONT, internal=True)


@pytest.mark.parametrize(("networks", "why"), [((), "no longer declared"), ((INTERNAL,), "spec changed: internal")],
                         ids=["removal", "recreation"])
def test_the_removal_or_recreation_of_a_network_an_unowned_service_uses_is_blocked_naming_it(networks, why):
    plan = text(desired(networks=networks), swarm(network_users={"front": frozenset({"rv3x"})}), allow_empty=True)

    assert plan == "\n".join([
        f"# blocked network front ({why}; in use: by service/rv3x (not this namespace's): Swarm cannot remove it; "
        "remove them first)",
        "Plan: 1 blocked.",
    ])


def test_a_recreation_blocked_by_owned_and_unowned_services_names_both():
    plan = text(desired(web(), networks=(INTERNAL,)), swarm(running(web()), network_users={"front": frozenset({"a"})}))

    assert plan.splitlines()[0] == ("# blocked network front (spec changed: internal; in use: by service/web, "
                                    "service/a (not this namespace's): Swarm cannot remove it; remove them first)")


def test_the_removal_of_an_owned_service_still_goes_ahead_beside_a_network_an_unowned_one_holds():
    plan = text(desired(networks=()), swarm(running(web()), network_users={"front": frozenset({"rv3x"})}),
                allow_empty=True)

    assert plan.splitlines()[1:] == ["- remove service web (no longer declared)", "    remove service web",
                                     "Plan: 1 to remove, 1 blocked."]


def test_a_network_only_owned_services_leave_is_removed_after_them():
    plan = text(desired(networks=()), swarm(running(web())), allow_empty=True)

    assert "- remove network front (no longer declared)" in plan.splitlines()


def test_a_network_just_created_is_owned_though_the_engine_lists_it_without_its_driver_yet():
    item = {"Id": "n1", "Name": "front", "Driver": "", "Scope": "swarm",
            "Labels": {LABEL_MANAGED: "ns", LABEL_TARGET: TARGET_SWARM}}

    assert swarm_network(item, "ns") and network(item).driver == "overlay"
