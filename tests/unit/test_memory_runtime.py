"""What the in-memory engine offers tests beyond the contract: call log, failures, by-hand changes."""

from __future__ import annotations

import pytest

from reconciler.fields import Healthcheck
from reconciler.model import LABEL_MANAGED, ContainerSpec, NetworkSpec
from runtime.base import Conflict, EngineUnavailable, NotFound
from runtime.memory import MemoryRuntime

IMAGE = "localhost/demo:1"
LABELS = {LABEL_MANAGED: "ns"}


@pytest.fixture
def engine() -> MemoryRuntime:
    return MemoryRuntime(images={IMAGE: "sha256:demo"}, registry={"localhost/demo:2": "sha256:two"})


def _running(engine: MemoryRuntime, name: str = "web", **fields) -> str:
    id = engine.create_container(ContainerSpec(name=name, image=IMAGE, **fields), name, LABELS)
    engine.start_container(id)
    return id


def _one_round():
    """A stop() that lets an event stream take one round: everything emitted so far."""
    checks = iter([False])
    return lambda: next(checks, True)


def test_calls_are_logged_with_their_arguments_and_defaults(engine):
    id = _running(engine)
    engine.stop_container(id)
    assert [name for name, _ in engine.calls] == ["create_container", "start_container", "stop_container"]
    assert engine.calls_to("stop_container") == [(id, None)]
    assert engine.calls_to("create_container")[0][1:] == ("web", LABELS)


def test_an_injected_failure_is_raised_once_without_acting(engine):
    engine.fail_next("create_container", Conflict("injected"))
    with pytest.raises(Conflict, match="injected"):
        _running(engine)
    assert engine.observe("ns").containers == ()
    _running(engine)
    assert len(engine.observe("ns").containers) == 1


def test_an_engine_that_is_down_refuses_every_call_until_it_is_back(engine):
    id = _running(engine)
    engine.available = False
    for call in (lambda: engine.observe("ns"), lambda: engine.stop_container(id), engine.ping):
        with pytest.raises(EngineUnavailable):
            call()
    engine.available = True
    assert engine.observe("ns").containers[0].state == "running"


def test_containers_behave_on_start_as_told(engine):
    engine.on_start("job", exit_code=2)
    engine.on_start("slow", health="starting")
    job = _running(engine, "job")
    slow = _running(engine, "slow", healthcheck=Healthcheck(("CMD", "true")))
    plain = _running(engine, "plain", healthcheck=Healthcheck(("CMD", "true")))
    state = {c.id: c for c in engine.observe("ns").containers}
    assert (state[job].state, state[job].exit_code) == ("exited", 2)
    assert (state[slow].health, state[plain].health) == ("starting", "healthy")


def test_changes_by_hand_show_in_observe_and_as_events(engine):
    web, db = _running(engine, "web"), _running(engine, "db")
    stream = engine.events("ns", _one_round())
    engine.kill(web)
    engine.set_health(db, "unhealthy")
    engine.remove_by_hand("container", db)
    (observed,) = engine.observe("ns").containers
    assert (observed.id, observed.state, observed.exit_code) == (web, "exited", 137)
    assert [(e.kind, e.action) for e in stream] == [
        ("container", "kill"), ("container", "die"), ("network", "disconnect"),
        ("container", "health_status"),
        ("container", "kill"), ("container", "die"), ("network", "disconnect"), ("container", "destroy")]
    assert engine.calls_to("remove_container") == []


def test_unowned_resources_hold_names_and_refuse_to_be_taken(engine):
    engine.add_unowned("container", "web")
    engine.add_unowned("network", "front", {LABEL_MANAGED: "other"})
    engine.add_unowned("volume", "data")
    state = engine.observe("ns", {"container": ["web"], "network": ["front", "back"], "volume": ["data"]})
    assert state.unowned == {"container": {"web"}, "network": {"front"}, "volume": {"data"}}
    assert (state.containers, state.networks, state.volumes) == ((), (), ())
    with pytest.raises(Conflict):
        engine.create_network(NetworkSpec(name="front"), LABELS)
    engine.remove_by_hand("network", "front")
    engine.create_network(NetworkSpec(name="front"), LABELS)


def test_pull_adds_the_registry_image_and_reports_progress(engine):
    lines = []
    assert engine.resolve_image("localhost/demo:2") is None
    assert engine.pull_image("localhost/demo:2", lambda update: lines.append(update.ref)) == "sha256:two"
    assert engine.resolve_image("localhost/demo:2") == "sha256:two"
    assert lines == ["localhost/demo:2"]


def test_events_are_every_resources_since_the_call_and_end_when_stop_says_so(engine):
    before = _running(engine, "before")
    engine.kill(before)
    stream = engine.events("ns", _one_round())
    engine.create_container(ContainerSpec(name="x", image=IMAGE), "x", {LABEL_MANAGED: "other"})
    engine.remove_container("x")
    engine.add_unowned("volume", "data")
    assert [(e.kind, e.action, e.name) for e in stream] == [
        ("container", "create", "x"), ("container", "destroy", "x"), ("volume", "create", "data")]


def test_a_container_event_carries_the_containers_labels(engine):
    stream = engine.events("ns", _one_round())
    engine.create_container(ContainerSpec(name="x", image=IMAGE), "x", {LABEL_MANAGED: "other"})
    (event,) = stream
    assert event.attributes == {LABEL_MANAGED: "other", "name": "x"}


def test_a_removed_container_is_not_found_by_name_or_id(engine):
    id = _running(engine)
    engine.remove_container("web")
    for ref in (id, "web"):
        with pytest.raises(NotFound):
            engine.container_labels(ref)


def test_image_volumes_are_declared_per_image_id_and_outlive_their_containers():
    engine = MemoryRuntime(registry={"localhost/db:1": "sha256:db"}, image_volumes={"sha256:db": ["/data"]})
    engine.pull_image("localhost/db:1")
    id = engine.create_container(ContainerSpec(name="db", image="localhost/db:1"), "db", LABELS)
    (volume,) = engine.containers[id].volumes.values()
    engine.remove_by_hand("container", id)
    assert volume in engine.volumes


def test_restarts_by_the_engine_count_and_show_as_deaths(engine):
    id = _running(engine, "loop", healthcheck=Healthcheck(("CMD", "true")))
    stream = engine.events("ns", _one_round())
    engine.restart_by_engine(id, 2)
    (observed,) = engine.observe("ns").containers
    assert (observed.state, observed.restart_count, observed.health) == ("running", 2, "starting")
    engine.restart_by_engine(id, restarting=True)
    (observed,) = engine.observe("ns").containers
    assert (observed.state, observed.restart_count, observed.health) == ("restarting", 3, None)
    assert [e.action for e in stream if e.kind == "container"] == ["die", "die", "start", "die"]
    engine.stop_container(id)
    engine.start_container(id)
    assert engine.observe("ns").containers[0].restart_count == 0


def test_network_mode_is_kept_as_created_with_a_shared_container_resolved_to_its_id(engine):
    main = _running(engine, "main")
    _running(engine, "side", network_mode="container:main")
    modes = {c.name: c.network_mode for c in engine.observe("ns").containers}
    assert modes == {"main": "default", "side": f"container:{main}"}
