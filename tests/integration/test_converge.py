"""One pass against the real engine: each reason to act, conflicts, rollbacks, volume retention."""

from __future__ import annotations

import dataclasses

import pytest

from reconciler.commands.render import plan_text
from reconciler.converge import converge, make_plan, observe
from reconciler.fields import Dependency, Healthcheck, Mount, NetworkAttachment, UpdatePolicy
from reconciler.model import ContainerSpec, DesiredState, NetworkSpec, Source, VolumeSpec
from reconciler.options import PlanOptions

pytestmark = pytest.mark.integration


def sleeper(name: str, **changes) -> ContainerSpec:
    spec = ContainerSpec(name=name, image="localhost/demo:1", command=("sleep", "3600"), init=True,
                         source=Source("test.toml", 1), stop_timeout=1)
    return dataclasses.replace(spec, **changes)


def state(*specs) -> DesiredState:
    return DesiredState(
        containers={s.name: s for s in specs if isinstance(s, ContainerSpec)},
        networks={s.name: s for s in specs if isinstance(s, NetworkSpec)},
        volumes={s.name: s for s in specs if isinstance(s, VolumeSpec)},
    )


def named(docker_client, name):
    """The containers whose name starts with `name` (filtered by the engine, so containers other
    tests remove meanwhile cannot make the listing fail)."""
    listed = docker_client.containers.list(all=True, filters={"name": f"^/?{name}"})
    return [c for c in listed if c.name.startswith(name)]


def pending(engine, namespace, desired) -> str:
    return plan_text(make_plan(desired, observe(engine, namespace, desired), namespace))


NO_CHANGES = "No changes: the engine matches the desired state."


def test_a_cold_apply_creates_and_starts_everything_and_a_second_pass_has_nothing_to_do(
    engine, namespace, names, docker_client
):
    net = NetworkSpec(name=names("net"))
    vol = VolumeSpec(name=names("vol"))
    web = sleeper(names("web"), networks=(NetworkAttachment(net.name, ("www",)),),
                  mounts=(Mount("volume", "/data", vol.name),))
    desired = state(net, vol, web)
    report = converge(engine, desired, namespace)
    assert report.converged, report
    (container,) = named(docker_client, web.name)
    assert container.status == "running"
    assert container.labels["io.reconciler.managed"] == namespace
    assert set(container.attrs["NetworkSettings"]["Networks"]) == {net.name}
    assert pending(engine, namespace, desired) == NO_CHANGES


def test_a_changed_spec_replaces_the_container_with_exactly_one_of_that_name(engine, namespace, names, docker_client):
    web = sleeper(names("web"), env={"GREETING": "hello"})
    converge(engine, state(web), namespace)
    before = named(docker_client, web.name)[0].id
    changed = dataclasses.replace(web, env={"GREETING": "bonjour"})
    assert pending(engine, namespace, state(changed)).splitlines()[0] == (
        f"~ recreate container {web.name} (spec changed: env)"
    )
    assert converge(engine, state(changed), namespace).converged
    (after,) = named(docker_client, web.name)
    assert after.id != before
    assert "GREETING=bonjour" in after.attrs["Config"]["Env"]


def test_a_container_stopped_by_hand_is_started_again(engine, namespace, names, docker_client):
    web = sleeper(names("web"))
    converge(engine, state(web), namespace)
    docker_client.containers.get(web.name).stop(timeout=1)
    assert pending(engine, namespace, state(web)).splitlines()[0] == f"> start container {web.name} (stopped by hand)"
    assert converge(engine, state(web), namespace).converged
    assert docker_client.containers.get(web.name).status == "running"


def test_a_container_removed_by_hand_is_created_again(engine, namespace, names, docker_client):
    web = sleeper(names("web"))
    converge(engine, state(web), namespace)
    docker_client.containers.get(web.name).remove(force=True)
    assert pending(engine, namespace, state(web)).splitlines()[0] == f"+ create container {web.name} (missing)"
    assert converge(engine, state(web), namespace).converged
    assert docker_client.containers.get(web.name).status == "running"


def test_a_network_detached_by_hand_recreates_the_container(engine, namespace, names, docker_client):
    net = NetworkSpec(name=names("net"))
    web = sleeper(names("web"), networks=(NetworkAttachment(net.name),))
    converge(engine, state(net, web), namespace)
    docker_client.networks.get(net.name).disconnect(web.name)
    assert pending(engine, namespace, state(net, web)).splitlines()[0] == (
        f"~ recreate container {web.name} (network detached: {net.name})"
    )
    assert converge(engine, state(net, web), namespace).converged
    container = docker_client.containers.get(web.name)
    assert set(container.attrs["NetworkSettings"]["Networks"]) == {net.name}


def test_an_image_reference_moved_to_another_image_recreates(engine, namespace, names, docker_client):
    ref = f"localhost/{namespace}:1"
    demo = docker_client.images.get("localhost/demo:1")
    demo.tag(f"localhost/{namespace}", tag="1")
    try:
        web = sleeper(names("web"), image=ref, pull="never")
        converge(engine, state(web), namespace)
        other = docker_client.containers.run("localhost/demo:1", ["touch", "/moved"], detach=True)
        other.wait()
        moved = other.commit(repository=f"localhost/{namespace}", tag="1")
        other.remove()
        assert pending(engine, namespace, state(web)).splitlines()[0].startswith(
            f"~ recreate container {web.name} (image moved: {ref} is now"
        )
        assert converge(engine, state(web), namespace).converged
        assert docker_client.containers.get(web.name).image.id == moved.id
    finally:
        docker_client.images.remove(ref, force=True)


def test_a_name_held_by_an_unowned_container_is_a_conflict_and_that_container_is_untouched(
    engine, namespace, names, docker_client
):
    stranger = docker_client.containers.create("localhost/demo:1", ["sleep", "1"], name=names("web"))
    try:
        report = converge(engine, state(sleeper(names("web"))), namespace)
        assert not report.converged
        assert str(report.plan.changes[0]) == (
            f"! conflict container {names('web')} (name held by a resource this namespace does not own)"
        )
        assert docker_client.containers.get(names("web")).id == stranger.id
    finally:
        stranger.remove(force=True)


def test_a_replacement_that_cannot_start_is_rolled_back_to_the_previous_container(
    engine, namespace, names, docker_client
):
    web = sleeper(names("web"), init=False)
    converge(engine, state(web), namespace)
    old = docker_client.containers.get(web.name).id
    broken = dataclasses.replace(web, command=("/no/such/binary",))
    report = converge(engine, state(broken), namespace)
    assert not report.converged
    (failure,) = report.failures
    assert failure.rolled_back
    (container,) = named(docker_client, web.name)
    assert (container.id, container.name, container.status) == (old, web.name, "running")


def test_a_replacement_that_never_becomes_healthy_is_rolled_back(engine, namespace, names, docker_client):
    web = sleeper(names("web"))
    converge(engine, state(web), namespace)
    old = docker_client.containers.get(web.name).id
    sick = dataclasses.replace(
        web, healthcheck=Healthcheck(("CMD", "false"), interval=0.5, timeout=1, retries=1),
        update=UpdatePolicy(order="start-first", timeout=10),
    )
    report = converge(engine, state(sick), namespace)
    (failure,) = report.failures
    assert failure.rolled_back and "unhealthy" in failure.error
    (container,) = named(docker_client, web.name)
    assert (container.id, container.status) == (old, "running")


def test_a_volume_no_longer_declared_is_kept_until_prune_volumes(engine, namespace, names, docker_client):
    vol = VolumeSpec(name=names("vol"))
    keeper = sleeper(names("keeper"))
    converge(engine, state(vol, keeper), namespace)
    report = converge(engine, state(keeper), namespace)
    assert report.converged
    assert docker_client.volumes.get(vol.name)
    converge(engine, state(keeper), namespace, PlanOptions(prune_volumes=True))
    assert [v.name for v in docker_client.volumes.list() if v.name == vol.name] == []


def test_dependencies_start_before_their_dependents(engine, namespace, names, docker_client):
    db = sleeper(names("db"), healthcheck=Healthcheck(("CMD", "true"), interval=0.5, timeout=1))
    web = sleeper(names("web"), depends_on=(Dependency(db.name, "healthy"),))
    assert converge(engine, state(db, web), namespace).converged
    started = {
        name: docker_client.containers.get(name).attrs["State"]["StartedAt"] for name in (db.name, web.name)
    }
    assert docker_client.containers.get(db.name).attrs["State"]["Health"]["Status"] == "healthy"
    assert started[db.name] < started[web.name]


def test_a_failed_pull_fails_only_its_container_whose_running_one_keeps_running(
    engine, namespace, names, docker_client
):
    web, other = sleeper(names("web")), sleeper(names("other"))
    converge(engine, state(web), namespace)
    before = docker_client.containers.get(web.name).id
    unpullable = dataclasses.replace(web, image="127.0.0.1:1/nowhere:1")
    report = converge(engine, state(unpullable, other), namespace)
    (failure,) = report.failures
    assert str(failure).startswith("pull image 127.0.0.1:1/nowhere:1: failed at 'pull 127.0.0.1:1/nowhere:1'")
    assert docker_client.containers.get(web.name).id == before
    assert docker_client.containers.get(web.name).status == "running"
    assert docker_client.containers.get(other.name).status == "running"
