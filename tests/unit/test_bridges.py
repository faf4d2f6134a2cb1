"""More containers on one bridge network than a Linux bridge takes: a warning, never an error."""

from __future__ import annotations

from reconciler.desired.bridges import crowded
from reconciler.fields import NetworkAttachment
from reconciler.model import ContainerSpec, DesiredState, NetworkSpec, Source


def _containers(count: int, **fields) -> dict[str, ContainerSpec]:
    specs = (ContainerSpec(name=f"c{i:04d}", image="demo", source=Source(f"c{i:04d}.toml", 2), **fields)
             for i in range(count))
    return {spec.name: spec for spec in specs}


def test_a_thousand_containers_on_the_default_bridge_are_fine_one_more_is_warned_at_it():
    assert crowded(DesiredState(containers=_containers(1000))) == []
    (warning,) = crowded(DesiredState(containers=_containers(1001)))
    assert (warning.file, warning.line, warning.key) == ("c1000.toml", 2, "container.c1000")
    assert warning.message.startswith("network 'bridge' would get 1001 containers: a Linux bridge holds at most 1023")


def test_containers_on_a_declared_bridge_network_count_and_on_another_driver_do_not():
    on_front = _containers(1001, networks=(NetworkAttachment("front"),))
    bridge = DesiredState(containers=on_front, networks={"front": NetworkSpec(name="front")})
    other = DesiredState(containers=on_front, networks={"front": NetworkSpec(name="front", driver="macvlan")})
    assert [w.message.split(":")[0] for w in crowded(bridge)] == ["network 'front' would get 1001 containers"]
    assert crowded(other) == []


def test_containers_on_the_host_network_or_another_stack_take_no_bridge_port():
    assert crowded(DesiredState(containers=_containers(1001, network_mode="host"))) == []
