"""The agent's informer: an observation kept from engine events, equal to a fresh relist."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.agent.informer import Informer, aged
from reconciler.fields import NetworkAttachment
from reconciler.model import LABEL_MANAGED, ContainerSpec, NetworkSpec, VolumeSpec
from runtime.base import ENGINE_RECONNECTED, EngineUnavailable, Event, ObservedContainer, ObservedState
from runtime.memory import MemoryRuntime

NS = "unit"
OWNED = {LABEL_MANAGED: NS}
IMAGE = "demo"
NAMES = {"container": ("web", "db", "job"), "network": ("front",), "volume": ("data",)}


def engine_with_informer() -> tuple[MemoryRuntime, Informer]:
    engine = MemoryRuntime(images={IMAGE: "sha256:" + "d" * 64})
    informer = Informer(engine, NS)
    engine.listen(informer.note)
    return engine, informer


def run(runtime, name: str, labels=OWNED, **fields) -> str:
    id = runtime.create_container(ContainerSpec(name=name, image=IMAGE, **fields), name, labels)
    runtime.start_container(id)
    return id


def comparable(state: ObservedState) -> ObservedState:
    """A state with its containers, owned or not, in id order and uptimes left out: a list reads
    them coarse ("Up 3 minutes"), an inspect exact."""
    containers = sorted((dataclasses.replace(c, up_seconds=None) for c in state.containers), key=lambda c: c.id)
    unowned = sorted((dataclasses.replace(u, observed=dataclasses.replace(u.observed, up_seconds=None))
                      for u in state.unowned_containers), key=lambda u: u.observed.id)
    return dataclasses.replace(state, containers=tuple(containers), unowned_containers=tuple(unowned))


def calls_made(engine: MemoryRuntime, action) -> list[str]:
    before = len(engine.calls)
    action()
    return [name for name, _ in engine.calls[before:]]


def test_the_first_observation_is_a_full_relist():
    engine, informer = engine_with_informer()
    run(engine, "web")
    assert calls_made(engine, lambda: informer.observe(NS, NAMES)) == ["observe"]
    assert informer.relists == 1


def test_an_observation_with_nothing_new_makes_no_engine_call():
    engine, informer = engine_with_informer()
    run(engine, "web")
    first = informer.observe(NS, NAMES)
    assert calls_made(engine, lambda: informer.observe(NS, NAMES)) == []
    assert comparable(informer.observe(NS, NAMES)) == comparable(first)


def test_an_event_about_an_owned_container_reads_that_container_again_and_lists_nothing():
    engine, informer = engine_with_informer()
    web, _ = run(engine, "web"), run(engine, "db")
    informer.observe(NS, NAMES)
    engine.kill(web)
    assert calls_made(engine, lambda: informer.observe(NS, NAMES)) == ["inspect_containers"]
    assert engine.calls_to("inspect_containers")[-1] == ([web],)
    assert {c.name: c.state for c in informer.observe(NS, NAMES).containers} == {"web": "exited", "db": "running"}


def test_a_death_of_an_owned_container_wakes_a_pass_and_its_start_does_not():
    informer = Informer(MemoryRuntime(), NS)
    assert informer.note(Event("container", "die", "web", "1", attributes=OWNED))
    assert not informer.note(Event("container", "start", "web", "1", attributes=OWNED))


def test_events_about_other_containers_wake_nothing_and_cost_nothing():
    engine, informer = engine_with_informer()
    informer.observe(NS, NAMES)
    woken = [informer.note(Event("container", "die", "other", "2", attributes={LABEL_MANAGED: "other"})),
             informer.note(Event("container", "create", "unrelated", "3"))]
    assert woken == [False, False]
    assert calls_made(engine, lambda: informer.observe(NS, NAMES)) == []


def test_an_unowned_container_taking_a_desired_name_makes_a_relist_that_reports_it():
    engine, informer = engine_with_informer()
    informer.observe(NS, NAMES)
    engine.add_unowned("container", "db")
    assert calls_made(engine, lambda: informer.observe(NS, NAMES)) == ["observe"]
    assert informer.observe(NS, NAMES).unowned == {"container": {"db"}}


def test_an_unowned_container_renamed_away_from_a_desired_name_frees_it():
    engine, informer = engine_with_informer()
    engine.add_unowned("container", "db")
    informer.observe(NS, NAMES)
    informer.note(Event("container", "rename", "elsewhere", "4"))  # Podman's rename names no old name
    engine.remove_by_hand("container", "db")
    assert informer.observe(NS, NAMES).unowned == {}


def test_names_the_last_relist_did_not_ask_about_make_a_relist():
    engine, informer = engine_with_informer()
    informer.observe(NS, {"container": ("web",)})
    engine.add_unowned("container", "db")
    engine.calls.clear()
    assert informer.observe(NS, NAMES).unowned == {"container": {"db"}}
    assert [name for name, _ in engine.calls] == ["observe"]


def test_fewer_names_are_answered_from_the_cache():
    engine, informer = engine_with_informer()
    engine.add_unowned("container", "db")
    informer.observe(NS, NAMES)
    assert calls_made(engine, lambda: informer.observe(NS, {"container": ("web",)})) == []
    assert informer.observe(NS, {"container": ("web",)}).unowned == {}


def test_the_agents_own_stop_and_removal_wake_no_pass_when_they_echo():
    engine, informer = engine_with_informer()
    web = run(engine, "web")
    informer.observe(NS, NAMES)
    woken = []
    engine.listen(lambda event: woken.append(informer.note(event)))
    informer.stop_container(web)
    informer.remove_container(web)
    assert woken and not any(woken)
    assert informer.observe(NS, NAMES).containers == ()


def test_the_agents_own_actions_are_read_again_before_their_events_come_back():
    engine = MemoryRuntime(images={IMAGE: "sha256:" + "d" * 64})
    informer = Informer(engine, NS)  # no events at all
    informer.observe(NS, NAMES)
    web = run(informer, "web")
    informer.create_network(NetworkSpec(name="front"), OWNED)
    observed = informer.observe(NS, NAMES)
    assert [(c.id, c.state) for c in observed.containers] == [(web, "running")]
    assert [n.name for n in observed.networks] == ["front"]


def test_a_resync_and_a_reconnected_stream_each_make_a_relist():
    engine, informer = engine_with_informer()
    informer.observe(NS, NAMES)
    informer.relist()
    assert calls_made(engine, lambda: informer.observe(NS, NAMES)) == ["observe"]
    assert informer.note(ENGINE_RECONNECTED)
    assert calls_made(engine, lambda: informer.observe(NS, NAMES)) == ["observe"]


def test_an_observation_the_engine_failed_is_made_again_as_a_relist():
    engine, informer = engine_with_informer()
    web = run(engine, "web")
    informer.observe(NS, NAMES)
    engine.kill(web)
    engine.fail_next("inspect_containers", EngineUnavailable("down"))
    with pytest.raises(EngineUnavailable):
        informer.observe(NS, NAMES)
    assert calls_made(engine, lambda: informer.observe(NS, NAMES)) == ["observe"]


def test_a_kept_container_ages_and_its_restart_count_is_no_longer_read_after_a_minute():
    young = ObservedContainer(id="1", name="web", labels=OWNED, state="running", health=None, image_id="i",
                              networks=frozenset(), created=0.0, restart_count=3, up_seconds=10.0)
    assert (aged(young, 20.0).up_seconds, aged(young, 20.0).restart_count) == (30.0, 3)
    assert (aged(young, 50.0).up_seconds, aged(young, 50.0).restart_count) == (60.0, 0)


def test_a_kept_uptime_is_exact_where_a_stack_is_shared_and_a_lower_bound_elsewhere():
    calm = ObservedContainer(id="1", name="web", labels=OWNED, state="running", health=None, image_id="i",
                             networks=frozenset(), created=0.0, up_seconds=10.0)
    assert aged(calm, 20.0) is calm
    assert aged(calm, 20.0, exact=True).up_seconds == 30.0


OUT_OF_BAND = st.lists(st.tuples(
    st.sampled_from(["create", "kill", "start", "remove", "disconnect", "unowned", "health", "network", "volume",
                     "rename"]),
    st.sampled_from(["web", "db", "job", "other"]),
), max_size=12)


@settings(max_examples=60, deadline=None)
@given(OUT_OF_BAND)
def test_the_kept_observation_equals_a_fresh_relist_after_any_out_of_band_changes(changes):
    engine, informer = engine_with_informer()
    engine.create_network(NetworkSpec(name="front"), OWNED)
    run(engine, "web", networks=(NetworkAttachment("front"),))
    informer.observe(NS, NAMES)
    for change, name in changes:
        out_of_band(engine, change, name)
        informer.observe(NS, NAMES)
    assert comparable(informer.observe(NS, NAMES)) == comparable(engine.observe(NS, NAMES))


def out_of_band(engine: MemoryRuntime, change: str, name: str) -> None:
    """One change by hand; one that the engine refuses (a name taken, nothing to act on) is skipped."""
    containers = {c.name: c for c in engine.containers.values()}
    target = containers.get(name)
    try:
        if change == "create" and target is None:
            run(engine, name, networks=(NetworkAttachment("front"),) if "front" in engine_networks(engine) else ())
        elif change == "kill" and target is not None:
            engine.kill(target.id)
        elif change == "start" and target is not None:
            engine.start_container(target.id)
        elif change == "remove" and target is not None:
            engine.remove_by_hand("container", target.id)
        elif change == "disconnect" and target is not None and "front" in target.networks:
            engine.disconnect_by_hand("front", target.id)
        elif change == "unowned" and target is None:
            engine.add_unowned("container", name)
        elif change == "health" and target is not None:
            engine.set_health(target.id, "unhealthy")
        elif change == "network" and "front" in engine_networks(engine):
            engine.remove_by_hand("network", "front")
        elif change == "volume":
            engine.create_volume(VolumeSpec(name="data"), OWNED)
        elif change == "rename" and target is not None and f"{name}-old" not in containers:
            engine.rename_container(target.id, f"{name}-old")
    except Exception as error:  # the engine's own refusal: a network in use, and the like
        assert type(error).__name__ in ("Forbidden", "Conflict"), error


def engine_networks(engine: MemoryRuntime) -> set[str]:
    return {n.name for n in engine.networks.values()}


def test_a_container_the_agent_starts_by_name_is_read_again_before_its_events_come_back():
    engine = MemoryRuntime(images={IMAGE: "sha256:" + "d" * 64})
    informer = Informer(engine, NS)  # no events at all
    id = engine.create_container(ContainerSpec(name="web", image=IMAGE), "web", OWNED)
    informer.observe(NS, NAMES)
    informer.start_container("web")
    assert [(c.id, c.state) for c in informer.observe(NS, NAMES).containers] == [(id, "running")]


def test_an_event_about_a_desired_image_wakes_a_pass_and_makes_a_relist():
    engine, informer = engine_with_informer()
    informer.observe(NS, NAMES, images=("localhost/demo:1", "busybox"))
    assert informer.note(Event("image", "tag", "localhost/demo:1", "sha256:2"))
    assert informer.note(Event("image", "pull", "busybox:latest", "busybox:latest"))
    assert not informer.note(Event("image", "tag", "localhost/other:1", "sha256:3"))
    assert calls_made(engine, lambda: informer.observe(NS, NAMES, images=("localhost/demo:1", "busybox"))) == [
        "observe"]
