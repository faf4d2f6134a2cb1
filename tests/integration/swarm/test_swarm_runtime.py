"""The Swarm adapter (runtime.swarm) against the real single-node swarm at $SWARM_HOST."""

from __future__ import annotations

import os
import time

import pytest

from runtime.base import Conflict, NotFound
from runtime.swarm import connect_swarm
from runtime.swarm_base import NotManager, SwarmState

SETTLE_SECONDS = 60.0


def owned(namespace: str, name: str) -> dict[str, str]:
    """The labels the Swarm target puts on what it makes (its mark included: reconciler.swarm.service_spec.marked)."""
    return {"io.reconciler.managed": namespace, "io.reconciler.name": name, "io.reconciler.target": "swarm"}


def service_spec(namespace: str, name: str, image: str, **template) -> dict:
    """A minimal ServiceSpec: one replica of busybox sleeping, stopped at once."""
    container = {"Image": image, "Args": ["sleep", "300"], "Init": True, "StopGracePeriod": 1_000_000_000}
    return {"Name": name, "Labels": owned(namespace, name),
            "TaskTemplate": {"ContainerSpec": container, **template},
            "Mode": {"Replicated": {"Replicas": 1}}}


def pinned(swarm, image: str) -> str:
    """`image` pinned to the digest the manager resolves for it."""
    return f"{image}@{swarm.observe_swarm('unused', {}, frozenset({image})).digests[image]}"


def observe_until(swarm, namespace: str, done, names=None) -> SwarmState:
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        state = swarm.observe_swarm(namespace, names or {}, frozenset())
        if done(state) or time.monotonic() > deadline:
            return state
        time.sleep(0.5)


def test_manager_is_this_nodes_id(swarm, swarm_client):
    assert swarm.manager() == swarm_client.info()["Swarm"]["NodeID"]


def test_an_engine_outside_a_swarm_is_not_a_manager(docker_client):
    with pytest.raises(NotManager, match="not part of an active swarm"):
        connect_swarm(os.environ.get("DOCKER_HOST")).manager()


def test_a_created_service_is_observed_with_its_task_running(swarm, namespace, swarm_registry):
    name = f"{namespace}-web"
    service_id = swarm.create_service(service_spec(namespace, name, pinned(swarm, swarm_registry)))

    state = observe_until(swarm, namespace, lambda s: s.services and s.services[0].tasks.running == 1)

    [observed] = state.services
    assert (observed.id, observed.name, observed.labels) == (service_id, name, owned(namespace, name))
    assert (observed.tasks.running, observed.tasks.desired, observed.tasks.last_error) == (1, 1, None)


def test_a_service_of_another_namespace_is_not_observed(swarm, namespace, swarm_registry):
    swarm.create_service(service_spec(f"{namespace}-other", f"{namespace}-theirs", pinned(swarm, swarm_registry)))

    assert swarm.observe_swarm(namespace, {}, frozenset()).services == ()


def test_an_update_at_a_stale_version_is_a_conflict(swarm, namespace, swarm_registry):
    spec = service_spec(namespace, f"{namespace}-web", pinned(swarm, swarm_registry))
    service_id = swarm.create_service(spec)
    stale = swarm.service(service_id).version
    swarm.update_service(service_id, stale, {**spec, "Labels": {**spec["Labels"], "edit": "1"}})

    with pytest.raises(Conflict, match="out of sequence"):
        swarm.update_service(service_id, stale, {**spec, "Labels": {**spec["Labels"], "edit": "2"}})
    assert swarm.service(service_id).labels["edit"] == "1"


def test_an_update_replaces_the_spec_at_a_new_version(swarm, namespace, swarm_registry):
    spec = service_spec(namespace, f"{namespace}-web", pinned(swarm, swarm_registry))
    service_id = swarm.create_service(spec)
    before = swarm.service(service_id)
    changed = {**spec, "TaskTemplate": {**spec["TaskTemplate"],
                                        "ContainerSpec": {**spec["TaskTemplate"]["ContainerSpec"], "Env": ["A=1"]}}}

    swarm.update_service(service_id, before.version, changed)

    after = swarm.service(service_id)
    assert after.version > before.version
    assert after.spec["TaskTemplate"]["ContainerSpec"]["Env"] == ["A=1"]


def test_a_taken_service_name_is_a_conflict(swarm, namespace, swarm_registry):
    spec = service_spec(namespace, f"{namespace}-web", pinned(swarm, swarm_registry))
    swarm.create_service(spec)

    with pytest.raises(Conflict):
        swarm.create_service(spec)


def test_names_asked_about_that_others_hold_are_unowned(swarm, namespace, swarm_client, swarm_registry):
    theirs = f"{namespace}-theirs"
    swarm_client.services.create(pinned(swarm, swarm_registry), name=theirs, args=["sleep", "300"], init=True)
    swarm_client.networks.create(theirs, driver="overlay")
    swarm_client.secrets.create(name=theirs, data=b"x")
    swarm_client.configs.create(name=theirs, data=b"x")
    swarm.create_network(f"{namespace}-ours", "overlay", owned(namespace, "ours"))
    kinds = ("service", "network", "secret", "config")
    asked = {kind: (theirs, f"{namespace}-ours", f"{namespace}-nobody") for kind in kinds}

    state = swarm.observe_swarm(namespace, asked, frozenset())

    assert state.unowned == {kind: frozenset({theirs}) for kind in kinds}


def test_a_converged_namespace_looks_up_no_name(swarm, namespace, swarm_registry):
    name = f"{namespace}-web"
    swarm.create_service(service_spec(namespace, name, pinned(swarm, swarm_registry)))
    api = swarm._client()
    paths, send = [], api.send

    def counting(request, **kwargs):
        paths.append(request.path_url)
        return send(request, **kwargs)

    api.send = counting
    try:
        state = swarm.observe_swarm(namespace, {"service": (name,)}, frozenset())
    finally:
        api.send = send

    assert [s.name for s in state.services] == [name] and state.unowned == {}
    assert sum(1 for path in paths if "/services?" in path) == 1, paths


def test_a_name_that_only_starts_like_an_asked_one_is_not_unowned(swarm, namespace, swarm_client):
    swarm_client.secrets.create(name=f"{namespace}-web-longer", data=b"x")

    assert swarm.observe_swarm(namespace, {"secret": (f"{namespace}-web",)}, frozenset()).unowned == {}


def test_digest_of_a_pushed_image_is_the_registrys(swarm, swarm_registry, registry):
    state = swarm.observe_swarm("unused", {}, frozenset({swarm_registry}))

    assert state.digests == {swarm_registry: registry.digest("swarm-demo", "1")}
    assert state.digest_errors == {}


def test_an_unpushed_image_has_a_digest_error_and_no_digest(swarm, registry):
    missing = f"{registry.host}/never-pushed:1"

    state = swarm.observe_swarm("unused", {}, frozenset({missing}))

    assert state.digests == {}
    assert "manifest unknown" in state.digest_errors[missing]


def test_the_observed_spec_names_networks_secrets_and_configs_as_rendered(swarm, swarm_client, namespace,
                                                                           swarm_registry):
    net, secret, config = (f"{namespace}-{kind}" for kind in ("net", "secret", "config"))
    network_id = swarm.create_network(net, "overlay", owned(namespace, net))
    swarm.create_secret(secret, b"s3cret", owned(namespace, "token"))
    swarm.create_config(config, b"setting=1", owned(namespace, "app"))
    file = {"UID": "0", "GID": "0", "Mode": 0o400}
    spec = service_spec(namespace, f"{namespace}-web", pinned(swarm, swarm_registry),
                        Networks=[{"Target": net, "Aliases": ["web"]}])
    spec["TaskTemplate"]["ContainerSpec"].update(
        Secrets=[{"SecretName": secret, "File": {"Name": "token", **file}}],
        Configs=[{"ConfigName": config, "File": {"Name": "/app.conf", **file}}])
    service_id = swarm.create_service(spec)

    observed = swarm.observe_swarm(namespace, {}, frozenset()).services[0].spec

    raw = swarm_client.api.inspect_service(service_id)["Spec"]["TaskTemplate"]
    assert raw["Networks"][0]["Target"] == network_id
    assert observed["TaskTemplate"]["Networks"] == spec["TaskTemplate"]["Networks"]
    assert observed["TaskTemplate"]["ContainerSpec"]["Secrets"] == spec["TaskTemplate"]["ContainerSpec"]["Secrets"]
    assert observed["TaskTemplate"]["ContainerSpec"]["Configs"] == spec["TaskTemplate"]["ContainerSpec"]["Configs"]


def test_a_service_naming_a_missing_secret_is_not_found(swarm, namespace, swarm_registry):
    spec = service_spec(namespace, f"{namespace}-web", pinned(swarm, swarm_registry))
    spec["TaskTemplate"]["ContainerSpec"]["Secrets"] = [{"SecretName": f"{namespace}-none", "File": {"Name": "x"}}]

    with pytest.raises(NotFound, match=f"{namespace}-none"):
        swarm.create_service(spec)
    assert swarm.observe_swarm(namespace, {}, frozenset()).services == ()


def test_owned_secrets_and_configs_are_observed_by_labels_without_their_data(swarm, namespace):
    secret_id = swarm.create_secret(f"{namespace}-token-abc", b"s3cret", owned(namespace, "token"))
    config_id = swarm.create_config(f"{namespace}-app-abc", b"setting=1", owned(namespace, "app"))

    state = swarm.observe_swarm(namespace, {}, frozenset())

    assert [(s.id, s.name, s.labels) for s in state.secrets] == [(secret_id, f"{namespace}-token-abc",
                                                                  owned(namespace, "token"))]
    assert [(c.id, c.name, c.labels) for c in state.configs] == [(config_id, f"{namespace}-app-abc",
                                                                  owned(namespace, "app"))]
    assert "s3cret" not in repr(state)


def test_an_owned_overlay_network_is_observed_attachable(swarm, swarm_client, namespace):
    network_id = swarm.create_network(f"{namespace}-net", "overlay", owned(namespace, "net"))

    state = swarm.observe_swarm(namespace, {}, frozenset())

    assert [(n.id, n.name, n.driver) for n in state.networks] == [(network_id, f"{namespace}-net", "overlay")]
    assert swarm_client.api.inspect_network(network_id)["Attachable"] is True


def test_removed_resources_are_no_longer_observed(swarm, namespace, swarm_registry):
    service_id = swarm.create_service(service_spec(namespace, f"{namespace}-web", pinned(swarm, swarm_registry)))
    secret_id = swarm.create_secret(f"{namespace}-token-abc", b"s3cret", owned(namespace, "token"))
    config_id = swarm.create_config(f"{namespace}-app-abc", b"x", owned(namespace, "app"))
    network_id = swarm.create_network(f"{namespace}-net", "overlay", owned(namespace, "net"))

    swarm.remove_service(service_id)
    swarm.remove_secret(secret_id)
    swarm.remove_config(config_id)
    swarm.remove_network(network_id)

    state = swarm.observe_swarm(namespace, {}, frozenset())
    assert (state.services, state.networks, state.secrets, state.configs) == ((), (), (), ())


def test_the_nodes_are_observed(swarm, swarm_client):
    [node] = swarm.observe_swarm("unused", {}, frozenset()).nodes

    info = swarm_client.info()
    assert (node.id, node.hostname, node.role) == (info["Swarm"]["NodeID"], info["Name"], "manager")
    assert node.state == "ready"


def test_a_new_lease_is_created_with_its_holder_and_expiry(swarm, namespace):
    name = f"reconciler-lease-{namespace}"

    written = swarm.write_lease(name, None, "host-a 12 agent-1", 1700000000.5)

    assert (written.holder, written.expires) == ("host-a 12 agent-1", 1700000000.5)
    assert swarm.read_lease(name) == written


def test_there_is_no_lease_until_one_is_written(swarm, namespace):
    assert swarm.read_lease(f"reconciler-lease-{namespace}") is None


def test_a_lease_renewed_at_its_version_gets_a_new_version(swarm, namespace):
    name = f"reconciler-lease-{namespace}"
    first = swarm.write_lease(name, None, "host-a", 100.0)

    renewed = swarm.write_lease(name, first, "host-a", 110.0)

    assert (renewed.id, renewed.expires) == (first.id, 110.0)
    assert renewed.version > first.version


def test_of_two_writers_at_the_same_version_one_wins(swarm, namespace):
    name = f"reconciler-lease-{namespace}"
    seen = swarm.write_lease(name, None, "host-a", 100.0)
    swarm.write_lease(name, seen, "host-b", 200.0)

    with pytest.raises(Conflict):
        swarm.write_lease(name, seen, "host-c", 300.0)
    assert (swarm.read_lease(name).holder, swarm.read_lease(name).expires) == ("host-b", 200.0)


def test_a_lease_created_first_by_another_is_a_conflict(swarm, namespace):
    name = f"reconciler-lease-{namespace}"
    swarm.write_lease(name, None, "host-a", 100.0)

    with pytest.raises(Conflict):
        swarm.write_lease(name, None, "host-b", 100.0)
    assert swarm.read_lease(name).holder == "host-a"


def _network_in_use(swarm, namespace: str, image: str) -> str:
    """An owned overlay network whose service, with a running task on it, was just removed (as an
    apply removes both): Swarm's removal of the network then takes seconds to reach the node's list."""
    network_id = swarm.create_network(f"{namespace}-net", "overlay", owned(namespace, "net"))
    service_id = swarm.create_service(service_spec(namespace, f"{namespace}-web", pinned(swarm, image),
                                                   Networks=[{"Target": network_id}]))
    observe_until(swarm, namespace, lambda state: state.services[0].tasks.running == 1)
    swarm.remove_service(service_id)
    return network_id


def test_a_removed_network_a_service_used_is_no_longer_listed_once_remove_network_returns(
        swarm, swarm_client, namespace, swarm_registry):
    network_id = _network_in_use(swarm, namespace, swarm_registry)

    swarm.remove_network(network_id)

    assert [n for n in swarm_client.api.networks() if n["Id"] == network_id] == []


def test_removing_a_network_whose_removal_is_under_way_is_not_found_and_waits_until_it_is_unlisted(
        swarm, swarm_client, namespace, swarm_registry):
    network_id = _network_in_use(swarm, namespace, swarm_registry)
    swarm_client.api.remove_network(network_id)

    with pytest.raises(NotFound):
        swarm.remove_network(network_id)

    assert [n for n in swarm_client.api.networks() if n["Id"] == network_id] == []
