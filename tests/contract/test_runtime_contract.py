"""The behaviour the reconciler relies on, pinned for every engine (see conftest: `engine`)."""

from __future__ import annotations

import dataclasses

import pytest

from reconciler.fields import Healthcheck, Mount, NetworkAttachment
from reconciler.model import LABEL_MANAGED, ContainerSpec, NetworkSpec, VolumeSpec
from runtime.base import Conflict, EngineUnavailable, Forbidden, InvalidSpec, NotFound, WaitTimeout
from tests.conftest import DEMO_IMAGE, VOLUME_IMAGE


def observed(engine, **names):
    return engine.runtime.observe(engine.namespace, names)


def container_named(engine, name):
    found = [c for c in observed(engine).containers if c.name == name]
    assert len(found) <= 1
    return found[0] if found else None


# -- containers -------------------------------------------------------------------------------


def test_a_created_container_is_observed_owned_with_its_labels_and_image(engine):
    spec = engine.spec("web", labels={"tier": "front"})
    id = engine.runtime.create_container(spec, engine.name("web"), engine.labels(extra="1"))

    container = container_named(engine, engine.name("web"))
    assert container.id == id
    assert container.state == "created"
    assert container.labels[LABEL_MANAGED] == engine.namespace
    assert container.labels["tier"] == "front" and container.labels["extra"] == "1"
    assert container.image_id == engine.runtime.resolve_image(DEMO_IMAGE)
    assert engine.runtime.container_labels(id) == container.labels


def test_start_runs_the_container_on_the_default_bridge(engine):
    id = engine.create("web")
    engine.runtime.start_container(id)
    container = container_named(engine, engine.name("web"))
    assert container.state == "running"
    assert container.networks == {"bridge"}
    assert container.health is None and container.exit_code is None


def test_stop_leaves_an_exited_container_with_its_exit_code(engine):
    id = engine.create("web")
    engine.runtime.start_container(id)
    engine.runtime.stop_container(id, timeout=1)
    container = container_named(engine, engine.name("web"))
    assert container.state == "exited"
    assert container.exit_code is not None and container.exit_code != 0


def test_start_and_stop_are_idempotent(engine):
    id = engine.create("web")
    engine.runtime.start_container(id)
    engine.runtime.start_container(id)
    engine.runtime.stop_container(id, timeout=1)
    engine.runtime.stop_container(id, timeout=1)
    assert container_named(engine, engine.name("web")).state == "exited"


def test_remove_deletes_a_running_container_and_a_second_remove_is_not_found(engine):
    id = engine.create("web")
    engine.runtime.start_container(id)
    engine.runtime.remove_container(id)
    assert container_named(engine, engine.name("web")) is None
    with pytest.raises(NotFound):
        engine.runtime.remove_container(id)


def test_a_taken_container_name_is_a_conflict(engine):
    engine.create("web")
    with pytest.raises(Conflict):
        engine.create("web")


def test_rename_changes_the_name_and_refuses_a_taken_one(engine):
    old = engine.create("web")
    engine.create("other")
    engine.runtime.rename_container(old, engine.name("web-old"))
    assert container_named(engine, engine.name("web-old")).id == old
    assert container_named(engine, engine.name("web")) is None
    with pytest.raises(Conflict):
        engine.runtime.rename_container(old, engine.name("other"))


def test_calls_on_a_missing_container_are_not_found(engine):
    missing = "f" * 64
    for call in (engine.runtime.start_container, engine.runtime.container_labels,
                 engine.runtime.remove_container, lambda id: engine.runtime.rename_container(id, "x")):
        with pytest.raises(NotFound):
            call(missing)


def test_a_missing_image_is_an_invalid_spec_at_create(engine):
    with pytest.raises(InvalidSpec):
        engine.runtime.create_container(
            ContainerSpec(name="web", image="localhost/absent:1"), engine.name("web"), engine.labels())
    assert container_named(engine, engine.name("web")) is None


def test_observe_reports_the_network_mode_with_a_shared_container_named_by_its_id(engine):
    engine.runtime.create_network(NetworkSpec(name=engine.name("front")), engine.labels())
    main = engine.create("main")
    engine.runtime.start_container(main)
    side = engine.create("side", network_mode=f"container:{engine.name('main')}",
                         volumes_from=(f"{engine.name('main')}:ro",))
    engine.runtime.start_container(side)
    engine.create("host", network_mode="host")
    engine.create("on", networks=(NetworkAttachment(engine.name("front")),))

    modes = {c.name: c.network_mode for c in observed(engine).containers}
    assert (modes[engine.name("side")], modes[engine.name("host")]) == (f"container:{main}", "host")
    if engine.runtime.capabilities.kind == "podman":  # it says the mode only of those on no network
        assert (modes[engine.name("main")], modes[engine.name("on")]) == (None, None)
    else:
        assert (modes[engine.name("main")], modes[engine.name("on")]) == ("default", engine.name("front"))
    assert container_named(engine, engine.name("side")).state == "running"


def test_observe_reports_how_often_the_engine_restarted_a_crash_looping_container(engine):
    looping = engine.runtime.create_container(engine.crash_looping("loop"), engine.name("loop"), engine.labels())
    quiet = engine.create("quiet")
    engine.runtime.start_container(looping)
    engine.runtime.start_container(quiet)
    engine.await_restarts(looping, 2)

    loop = container_named(engine, engine.name("loop"))
    assert loop.state in ("running", "restarting") and loop.restart_count >= 2
    assert container_named(engine, engine.name("quiet")).restart_count == 0


@pytest.mark.parametrize("refers_to", ["network", "network_mode", "volumes_from"])
def test_a_missing_network_or_container_referred_to_is_an_invalid_spec_at_create_or_start(engine, refers_to):
    absent = engine.name("absent")
    fields = {
        "network": {"networks": (NetworkAttachment(absent),)},
        "network_mode": {"network_mode": f"container:{absent}"},
        "volumes_from": {"volumes_from": (absent,)},
    }[refers_to]
    with pytest.raises(InvalidSpec):
        engine.runtime.start_container(engine.create("web", **fields))


# -- observe ----------------------------------------------------------------------------------


def test_observe_reports_desired_names_held_by_resources_it_does_not_own(engine):
    engine.add_unowned_container(engine.name("byhand"))
    engine.add_unowned_container(engine.name("theirs"), {LABEL_MANAGED: engine.namespace + "-other"})
    engine.create("mine")
    wanted = {engine.name(n) for n in ("byhand", "theirs", "mine", "free")}

    state = observed(engine, container=wanted)
    assert state.unowned["container"] == {engine.name("byhand"), engine.name("theirs")}
    assert [c.name for c in state.containers] == [engine.name("mine")]


def test_observe_resolves_the_images_asked_about(engine):
    state = engine.runtime.observe(engine.namespace, {}, [DEMO_IMAGE, "localhost/absent:1"])
    assert state.images == {DEMO_IMAGE: engine.runtime.resolve_image(DEMO_IMAGE)}
    assert state.images[DEMO_IMAGE].startswith("sha256:")
    assert engine.runtime.resolve_image("localhost/absent:1") is None


def test_an_absent_image_has_no_repo_digests(engine):
    assert engine.runtime.image_digests("localhost/absent:1") == ()


def test_repo_digests_are_repository_at_digest_pairs(engine):
    digests = engine.runtime.image_digests(DEMO_IMAGE)
    assert isinstance(digests, tuple)
    assert all("@sha256:" in entry for entry in digests)


def test_observe_reports_the_volumes_the_images_asked_about_declare(engine):
    refs = [DEMO_IMAGE, VOLUME_IMAGE, "localhost/absent:1"]
    state = engine.runtime.observe(engine.namespace, {}, refs)
    assert state.image_volumes == {DEMO_IMAGE: (), VOLUME_IMAGE: ("/data",)}
    assert engine.runtime.observe(engine.namespace, {}, refs).image_volumes == state.image_volumes


# -- networks and volumes ---------------------------------------------------------------------


def test_a_network_is_created_observed_and_removed(engine):
    spec = NetworkSpec(name=engine.name("front"), subnet=engine.subnet(), internal=True, labels={"t": "1"})
    id = engine.runtime.create_network(spec, engine.labels())
    (network,) = observed(engine).networks
    assert (network.id, network.name, network.driver) == (id, spec.name, "bridge")
    assert engine.runtime.network_labels(id) == {"t": "1", LABEL_MANAGED: engine.namespace}
    with pytest.raises(Conflict):
        engine.runtime.create_network(NetworkSpec(name=spec.name), engine.labels())
    engine.runtime.remove_network(id)
    assert observed(engine).networks == ()
    with pytest.raises(NotFound):
        engine.runtime.remove_network(id)


def test_a_container_joins_several_networks_by_name_and_can_leave_and_rejoin(engine):
    front = engine.runtime.create_network(NetworkSpec(name=engine.name("front")), engine.labels())
    engine.runtime.create_network(NetworkSpec(name=engine.name("back")), engine.labels())
    id = engine.create("web", networks=(NetworkAttachment(engine.name("front"), aliases=("www",)),
                                        NetworkAttachment(engine.name("back"))))
    engine.runtime.start_container(id)
    assert container_named(engine, engine.name("web")).networks == {engine.name("front"), engine.name("back")}

    with pytest.raises(Forbidden):
        engine.runtime.remove_network(front)
    engine.runtime.disconnect_network(engine.name("front"), id)
    assert container_named(engine, engine.name("web")).networks == {engine.name("back")}
    with pytest.raises(NotFound):
        engine.runtime.disconnect_network(engine.name("front"), id)
    engine.runtime.connect_network(engine.name("front"), id, ("www",))
    assert container_named(engine, engine.name("web")).networks == {engine.name("front"), engine.name("back")}
    with pytest.raises(Forbidden):
        engine.runtime.connect_network(engine.name("front"), id)


def test_a_volume_is_created_observed_protected_while_in_use_and_removed(engine):
    name = engine.name("data")
    assert engine.runtime.create_volume(VolumeSpec(name=name, labels={"t": "1"}), engine.labels()) == name
    (volume,) = observed(engine).volumes
    assert (volume.name, volume.driver) == (name, "local")
    assert engine.runtime.volume_labels(name) == {"t": "1", LABEL_MANAGED: engine.namespace}

    user = engine.create("user", mounts=(Mount("volume", "/data", name),))
    with pytest.raises(Conflict):
        engine.runtime.remove_volume(name)
    engine.runtime.remove_container(user)
    engine.runtime.remove_volume(name)
    assert observed(engine).volumes == ()
    with pytest.raises(NotFound):
        engine.runtime.remove_volume(name)


def test_creating_a_volume_whose_name_another_namespace_holds_is_a_conflict(engine):
    name = engine.name("data")
    engine.runtime.create_volume(VolumeSpec(name=name), {LABEL_MANAGED: engine.namespace})
    with pytest.raises(Conflict):
        engine.runtime.create_volume(VolumeSpec(name=name), {LABEL_MANAGED: engine.namespace + "-other"})
    assert observed(engine, volume=[name]).unowned == {}


# -- volumes an image declares ----------------------------------------------------------------


def test_an_image_volume_gets_an_anonymous_volume_that_outlives_its_container(engine):
    id = engine.create("db", image=VOLUME_IMAGE)
    (path, anonymous), = engine.mounted_volumes(id).items()
    assert path == "/data"
    with pytest.raises(Conflict):
        engine.runtime.remove_volume(anonymous)
    engine.runtime.remove_container(id)
    engine.runtime.volume_labels(anonymous)  # still there: NotFound otherwise
    engine.runtime.remove_volume(anonymous)


def test_an_image_volume_path_mounted_otherwise_gets_no_anonymous_volume(engine):
    name = engine.runtime.create_volume(VolumeSpec(name=engine.name("data")), engine.labels())
    named = engine.create("named", image=VOLUME_IMAGE, mounts=(Mount("volume", "/data", name),))
    donor = engine.create("donor", image=VOLUME_IMAGE)
    sharing = engine.create("sharing", image=VOLUME_IMAGE, volumes_from=(f"{engine.name('donor')}:ro",))
    assert engine.mounted_volumes(named) == {"/data": name}
    assert engine.mounted_volumes(sharing) == engine.mounted_volumes(donor)


# -- waiting ----------------------------------------------------------------------------------


def test_wait_running_returns_once_started_and_times_out_when_never_started(engine):
    started, idle = engine.create("web"), engine.create("idle")
    engine.runtime.start_container(started)
    engine.runtime.wait_container(started, "running", timeout=10)
    with pytest.raises(WaitTimeout):
        engine.runtime.wait_container(idle, "running", timeout=0.3)


def test_wait_stable_returns_while_it_runs_and_refuses_a_container_that_exits(engine):
    steady = engine.create("steady")
    quitter = engine.runtime.create_container(engine.exiting("quitter", 3), engine.name("quitter"), engine.labels())
    engine.runtime.start_container(steady)
    engine.runtime.start_container(quitter)
    engine.runtime.wait_container(steady, "stable", timeout=0.5)
    with pytest.raises(InvalidSpec, match="exited with code 3"):
        engine.runtime.wait_container(quitter, "stable", timeout=2)


def test_wait_completed_returns_on_exit_zero_and_refuses_a_failure(engine):
    ok = engine.runtime.create_container(engine.exiting("ok", 0), engine.name("ok"), engine.labels())
    bad = engine.runtime.create_container(engine.exiting("bad", 3), engine.name("bad"), engine.labels())
    engine.runtime.start_container(ok)
    engine.runtime.start_container(bad)
    engine.runtime.wait_container(ok, "completed", timeout=10)
    engine.runtime.wait_container(bad, "exited", timeout=10)
    with pytest.raises(InvalidSpec):
        engine.runtime.wait_container(bad, "completed", timeout=10)
    with pytest.raises(InvalidSpec):
        engine.runtime.wait_container(bad, "running", timeout=10)
    assert container_named(engine, engine.name("bad")).exit_code == 3


def test_wait_healthy_follows_the_healthcheck(engine):
    check = Healthcheck(("CMD", "true"), interval=0.5, timeout=1, retries=1)
    good = engine.runtime.create_container(engine.spec("good", healthcheck=check), engine.name("good"),
                                           engine.labels())
    sick = engine.runtime.create_container(engine.failing_healthcheck("sick"), engine.name("sick"),
                                           engine.labels())
    engine.runtime.start_container(good)
    engine.runtime.start_container(sick)
    engine.runtime.wait_container(good, "healthy", timeout=15)
    assert container_named(engine, engine.name("good")).health == "healthy"
    with pytest.raises(InvalidSpec):
        engine.runtime.wait_container(sick, "healthy", timeout=15)


# -- images, events, errors -------------------------------------------------------------------


def test_pulling_an_image_no_registry_serves_is_an_invalid_spec(engine):
    with pytest.raises(InvalidSpec):
        engine.runtime.pull_image("localhost:1/absent:1")


def test_events_report_every_containers_life_with_its_labels_whoever_owns_it(engine):
    other = engine.namespace + "-other"
    finish = engine.collect_events(lambda seen: sum(e.action == "destroy" for e in seen) >= 2)
    mine = engine.create("mine")
    theirs = engine.runtime.create_container(engine.spec("theirs"), engine.name("theirs"), {LABEL_MANAGED: other})
    engine.runtime.start_container(mine)
    engine.runtime.start_container(theirs)
    engine.kill_by_hand(mine)
    engine.kill_by_hand(theirs)
    engine.runtime.remove_container(mine)
    engine.runtime.remove_container(theirs)
    seen = [e for e in finish() if e.kind == "container" and e.id in (mine, theirs)]

    for id, owner in ((mine, engine.namespace), (theirs, other)):
        assert [e.action for e in seen if e.id == id and e.action in ("create", "start", "die", "destroy")] == [
            "create", "start", "die", "destroy"]
        assert {e.attributes.get(LABEL_MANAGED) for e in seen if e.id == id} == {owner}
    assert {e.name for e in seen if e.id == mine} == {engine.name("mine")}


def test_events_name_the_container_that_joins_or_leaves_a_network(engine):
    engine.runtime.create_network(NetworkSpec(name=engine.name("front")), engine.labels())
    id = engine.create("web", networks=(NetworkAttachment(engine.name("front")),))
    engine.runtime.start_container(id)

    finish = engine.collect_events(lambda seen: any(e.action == "disconnect" for e in seen))
    engine.runtime.disconnect_network(engine.name("front"), id)
    seen = finish()
    assert ("network", "disconnect", id) in {(e.kind, e.action, e.container) for e in seen}


def test_events_report_a_volume_made_and_removed_by_its_name(engine):
    finish = engine.collect_events(lambda seen: any(e.kind == "volume" and e.action == "destroy" for e in seen))
    engine.runtime.create_volume(VolumeSpec(name=engine.name("data")), engine.labels())
    engine.runtime.remove_volume(engine.name("data"))
    seen = finish()
    assert [e.action for e in seen if e.kind == "volume" and e.name == engine.name("data")] == ["create", "destroy"]


def test_inspected_containers_read_as_the_observation_lists_them(engine):
    running, made, killed = engine.create("running"), engine.create("made"), engine.create("killed")
    engine.runtime.start_container(running)
    engine.runtime.start_container(killed)
    engine.kill_by_hand(killed)
    listed = {c.id: c for c in engine.runtime.observe(engine.namespace).containers}
    inspected = {c.id: c for c in engine.runtime.inspect_containers([*listed, "0" * 64])}
    assert set(inspected) == set(listed) and made in inspected
    for id, container in listed.items():
        assert dataclasses.replace(inspected[id], up_seconds=None) == dataclasses.replace(container, up_seconds=None)
        assert (inspected[id].up_seconds is None) == (container.up_seconds is None)
    assert [c.id for c in engine.runtime.inspect_containers([engine.name("running")])] == [running]


def test_an_engine_that_is_down_is_unavailable(engine):
    down = engine.down_runtime()
    with pytest.raises(EngineUnavailable):
        down.ping()
    with pytest.raises(EngineUnavailable):
        down.observe(engine.namespace)


def test_the_observation_names_the_host_paths_a_container_binds(engine, tmp_path):
    made = engine.create("binding", mounts=(Mount("bind", "/config", str(tmp_path), read_only=True),
                                            Mount("tmpfs", "/scratch")))
    (listed,) = [c for c in engine.runtime.observe(engine.namespace).containers if c.id == made]
    (inspected,) = engine.runtime.inspect_containers([made])
    assert listed.binds == inspected.binds == frozenset({str(tmp_path)})


def test_containers_labelled_lists_the_name_and_labels_of_every_container_with_that_label_value(engine):
    project = {"com.docker.compose.project": engine.namespace, "com.docker.compose.service": "web"}
    engine.add_unowned_container(engine.name("web-1"), project)
    engine.add_unowned_container(engine.name("other"), {"com.docker.compose.project": engine.namespace + "x"})
    engine.create("mine")

    found = engine.runtime.containers_labelled("com.docker.compose.project", engine.namespace)

    assert [(name, labels["com.docker.compose.service"]) for name, labels in found] == [(engine.name("web-1"), "web")]
