"""What adoption relies on, pinned for every engine: unowned holders of declared names, in full."""

from __future__ import annotations

from reconciler.model import LABEL_MANAGED
from runtime.unowned import claimed_name


def make_unowned(engine, kind: str, name: str) -> str:
    """A volume or network nobody here created; returns its name (a volume) or id (a network)."""
    client = getattr(engine, "client", None)
    if client is None:
        return engine.runtime.add_unowned(kind, name, {"by": "hand"})
    if kind == "volume":
        return client.volumes.create(name, labels={"by": "hand"}).name
    return client.networks.create(name, labels={"by": "hand"}).id


def remove_unowned(engine, kind: str, name: str) -> None:
    client = getattr(engine, "client", None)
    if client is not None:
        (client.volumes if kind == "volume" else client.networks).get(name).remove()


def test_an_unowned_container_holding_a_declared_name_is_observed_in_full(engine):
    name = engine.name("byhand")
    engine.add_unowned_container(name, {"com.docker.compose.project": "proj"})

    state = engine.runtime.observe(engine.namespace, {"container": [name]})

    (held,) = state.unowned_containers
    assert held.observed.name == name
    assert held.observed.labels["com.docker.compose.project"] == "proj"
    assert held.observed.image_id == engine.unowned_image_id()
    assert state.containers == ()


def test_a_parked_unowned_container_is_found_for_a_name_to_adopt_even_while_an_owned_one_holds_it(engine):
    name = engine.name("app")
    parked = f"{name}--prev-0123456789ab"
    engine.add_unowned_container(parked)
    engine.runtime.create_container(engine.spec("app"), name, engine.labels())

    state = engine.runtime.observe(engine.namespace, {"container": [name], "adopt": [name]})

    assert [claimed_name(u.observed.name) for u in state.unowned_containers] == [name]
    assert state.unowned_containers[0].observed.name == parked
    assert "container" not in state.unowned


def test_a_container_of_another_name_is_not_observed_as_unowned(engine):
    engine.add_unowned_container(engine.name("web2"))
    state = engine.runtime.observe(engine.namespace, {"container": [engine.name("web")]})
    assert state.unowned_containers == ()


def test_an_unowned_volume_and_network_are_observed_with_what_an_adoption_record_keeps(engine):
    volume, network = engine.name("vol"), engine.name("net")
    make_unowned(engine, "volume", volume)
    network_id = make_unowned(engine, "network", network)
    try:
        state = engine.runtime.observe(engine.namespace, {"volume": [volume], "network": [network]})
        (held_volume,) = state.unowned_volumes
        (held_network,) = state.unowned_networks
        assert held_volume.name == volume and held_volume.created
        assert held_network.id == network_id and LABEL_MANAGED not in held_network.labels
    finally:
        remove_unowned(engine, "volume", volume)
        remove_unowned(engine, "network", network)
