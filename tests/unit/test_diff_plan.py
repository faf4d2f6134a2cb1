"""diff and plan, pure: (desired, observed) in, the printed plan out."""

from __future__ import annotations

import dataclasses

import pytest

from reconciler.commands.render import plan_text
from reconciler.converge import Refused, make_plan
from reconciler.model import (
    ContainerSpec,
    Dependency,
    DesiredState,
    Healthcheck,
    Mount,
    NetworkAttachment,
    NetworkSpec,
    Source,
    UpdatePolicy,
    VolumeSpec,
)
from reconciler.ownership import owned_labels
from runtime.base import ObservedContainer, ObservedNetwork, ObservedState, ObservedVolume

NS = "ns"
IMAGE = "localhost/demo:1"
IMAGE_ID = "sha256:" + "a" * 64


def web(**changes) -> ContainerSpec:
    spec = ContainerSpec(
        name="web", image=IMAGE, source=Source("web.toml", 1), env={"GREETING": "hello"},
        networks=(NetworkAttachment("front"),), mounts=(Mount("volume", "/srv", "data"),),
        depends_on=(Dependency("db"),),
    )
    return dataclasses.replace(spec, **changes)


def db(**changes) -> ContainerSpec:
    spec = ContainerSpec(name="db", image=IMAGE, source=Source("db.toml", 1), networks=(NetworkAttachment("front"),))
    return dataclasses.replace(spec, **changes)


FRONT = NetworkSpec(name="front", source=Source("net.toml", 1))
DATA = VolumeSpec(name="data", source=Source("net.toml", 4))


def desired(*containers: ContainerSpec, networks=(FRONT,), volumes=(DATA,)) -> DesiredState:
    return DesiredState(
        containers={c.name: c for c in containers},
        networks={n.name: n for n in networks},
        volumes={v.name: v for v in volumes},
    )


def running(spec: ContainerSpec, id: str, **changes) -> ObservedContainer:
    observed = ObservedContainer(
        id=id * 64 if len(id) == 1 else id, name=spec.name, labels=owned_labels(spec, NS), state="running",
        health=None, image_id=IMAGE_ID, networks=frozenset(n.name for n in spec.networks) or frozenset({"bridge"}),
        created=100.0,
    )
    return dataclasses.replace(observed, **changes)


def observed(*containers: ObservedContainer, networks=(FRONT,), volumes=(DATA,), **extra) -> ObservedState:
    return ObservedState(
        containers=containers,
        networks=tuple(ObservedNetwork("n" + n.name, n.name, owned_labels(n, NS)) for n in networks),
        volumes=tuple(ObservedVolume(v.name, owned_labels(v, NS)) for v in volumes),
        images={IMAGE: IMAGE_ID},
        **extra,
    )


def printed(d: DesiredState, o: ObservedState, steps: bool = False, **options) -> str:
    return plan_text(make_plan(d, o, NS, **options), steps=steps)


def test_an_empty_engine_gets_everything_created_networks_and_volumes_first():
    empty = ObservedState(images={IMAGE: IMAGE_ID})
    assert printed(desired(web(), db()), empty) == "\n".join([
        "+ create network front (missing)",
        "+ create volume data (missing)",
        "+ create container db (missing)",
        "+ create container web (missing)",
        "Plan: 4 to create.",
    ])


def test_a_converged_engine_needs_nothing():
    assert printed(desired(web(), db()), observed(running(web(), "1"), running(db(), "2"))) == (
        "No changes: the engine matches the desired state."
    )


def test_a_changed_env_recreates_and_names_the_changed_key():
    o = observed(running(web(), "1"), running(db(), "2"))
    assert printed(desired(web(env={"GREETING": "bonjour"}), db()), o).splitlines()[0] == (
        "~ recreate container web (spec changed: env)"
    )


def test_reformatting_changes_nothing_because_the_source_line_is_not_hashed():
    o = observed(running(web(), "1"), running(db(), "2"))
    moved = web(source=Source("elsewhere.toml", 40))
    assert printed(desired(moved, db()), o) == "No changes: the engine matches the desired state."


def test_an_image_reference_that_now_resolves_to_another_image_recreates():
    o = dataclasses.replace(observed(running(web(), "1"), running(db(), "2")), images={IMAGE: "sha256:" + "b" * 64})
    lines = printed(desired(web(), db()), o).splitlines()
    assert lines[:2] == [
        "~ recreate container db (image moved: localhost/demo:1 is now bbbbbbbbbbbb)",
        "~ recreate container web (image moved: localhost/demo:1 is now bbbbbbbbbbbb)",
    ]


def test_a_container_stopped_by_hand_is_started_not_recreated():
    o = observed(running(web(), "1", state="exited", exit_code=137), running(db(), "2"))
    assert printed(desired(web(), db()), o, steps=True) == "\n".join([
        "> start container web (stopped by hand)",
        "    start web",
        "Plan: 1 to start.",
    ])


def test_a_container_that_exited_on_its_own_is_started_with_its_exit_code_as_reason():
    o = observed(running(web(), "1", state="exited", exit_code=3), running(db(), "2"))
    assert printed(desired(web(), db()), o).splitlines()[0] == "> start container web (exited: code 3)"


def test_a_container_that_exited_0_on_its_own_is_started_as_exited_not_stopped_by_hand():
    o = observed(running(web(), "1", state="exited", exit_code=0), running(db(), "2"))
    assert printed(desired(web(), db()), o).splitlines()[0] == "> start container web (exited: code 0)"


def test_a_container_removed_by_hand_is_created_again():
    assert printed(desired(web(), db()), observed(running(db(), "2"))).splitlines()[0] == (
        "+ create container web (missing)"
    )


def test_a_detached_network_recreates_the_container():
    o = observed(running(web(), "1", networks=frozenset()), running(db(), "2"))
    assert printed(desired(web(), db()), o).splitlines()[0] == "~ recreate container web (network detached: front)"


def test_a_container_no_longer_declared_is_removed():
    o = observed(running(web(), "1"), running(db(), "2"))
    assert printed(desired(db()), o) == "- remove container web (no longer declared)\nPlan: 1 to remove."


def test_a_name_held_by_an_unowned_container_is_a_conflict_and_blocks_its_dependents():
    o = observed(unowned={"container": frozenset({"db"})})
    text = printed(desired(web(), db()), o)
    assert text == "\n".join([
        "! conflict container db (name held by a resource this namespace does not own)",
        "+ create container web (missing)",
        "    blocked: container/db is in conflict",
        "Plan: 1 to create, 1 conflict(s).",
    ])


def test_a_volume_no_longer_declared_is_retained_without_prune_volumes():
    o = observed(running(db(), "2"))
    assert printed(desired(db(), volumes=()), o) == (
        "= retain volume data (no longer declared; kept, --prune-volumes removes it)\n"
        "No changes: the engine matches the desired state."
    )


def test_a_volume_no_longer_declared_is_removed_with_prune_volumes():
    o = observed(running(db(), "2"))
    assert printed(desired(db(), volumes=()), o, prune_volumes=True).splitlines()[0] == (
        "- remove volume data (no longer declared; --prune-volumes)"
    )


def test_a_changed_volume_is_never_recreated():
    o = observed(running(web(), "1"), running(db(), "2"))
    changed = dataclasses.replace(DATA, driver="other")
    assert printed(desired(web(), db(), volumes=(changed,)), o).splitlines()[0] == (
        "= retain volume data (spec changed; volumes are never recreated: driver)"
    )


def test_a_container_declared_stopped_is_stopped_not_recreated():
    o = observed(running(web(), "1"), running(db(), "2"))
    assert printed(desired(web(state="stopped"), db()), o, steps=True).splitlines()[:2] == [
        ". stop container web (declared stopped)",
        "    stop 111111111111",
    ]


def test_an_owned_container_without_spec_hash_is_left_alone():
    bare = running(web(), "1", labels={"io.reconciler.managed": NS, "io.reconciler.name": "web"})
    assert printed(desired(web(), db()), observed(bare, running(db(), "2"))).splitlines()[0] == (
        "? warn container web (owned but has no spec-hash label; left alone)"
    )


def test_duplicates_of_an_interrupted_replacement_keep_the_spec_match_and_remove_the_rest():
    old = running(web(env={"GREETING": "old"}), "1", created=50.0, name="web--prev-111111111111")
    new = running(web(), "2", created=60.0, name="web--next-111111111111", state="created")
    text = printed(desired(web(), db()), observed(old, new, running(db(), "3")), steps=True)
    assert text.splitlines()[:5] == [
        "> start container web (interrupted replacement: 1 leftover(s); stopped by hand)",
        "    remove container 111111111111",
        "    rename 222222222222 -> web",
        "    start web",
        "Plan: 1 to start.",
    ]


def test_the_duplicate_winner_does_not_depend_on_list_order():
    a = running(web(), "1", created=50.0)
    b = running(web(), "2", created=60.0)
    first = printed(desired(web(), db()), observed(a, b, running(db(), "3")), steps=True)
    second = printed(desired(web(), db()), observed(b, a, running(db(), "3")), steps=True)
    assert first == second
    assert "remove container 111111111111" in first


def test_a_stop_first_replacement_parks_the_old_container_until_the_new_one_runs():
    o = observed(running(web(), "1"), running(db(), "2"))
    text = printed(desired(web(env={"GREETING": "new"}), db()), o, steps=True)
    assert text.splitlines()[1:8] == [
        "    create container web--next-111111111111",
        "    stop 111111111111",
        "    rename 111111111111 -> web--prev-111111111111",
        "    rename web--next-111111111111 -> web",
        "    start web",
        "    wait web running (60s)",
        "    remove container 111111111111",
    ]


def test_a_start_first_replacement_waits_for_health_before_stopping_the_old_one():
    spec = web(update=UpdatePolicy(order="start-first", timeout=30), healthcheck=Healthcheck(("CMD", "true")))
    o = observed(running(web(), "1"), running(db(), "2"))
    text = printed(desired(spec, db()), o, steps=True)
    assert text.splitlines()[1:8] == [
        "    create container web--next-111111111111",
        "    start web--next-111111111111",
        "    wait web--next-111111111111 healthy (30s)",
        "    stop 111111111111",
        "    rename 111111111111 -> web--prev-111111111111",
        "    rename web--next-111111111111 -> web",
        "    remove container 111111111111",
    ]


def test_a_failed_start_of_the_replacement_rolls_back_to_the_old_container():
    o = observed(running(web(), "1"), running(db(), "2"))
    plan = make_plan(desired(web(env={"GREETING": "new"}), db()), o, NS)
    (task,) = plan.tasks
    start = [str(a) for a in task.steps].index("start web")
    assert [str(a) for a in task.rollback[start]] == [
        "remove container web", "rename 111111111111 -> web", "start 111111111111",
    ]


def test_a_dependent_runs_after_its_dependency_which_waits_until_healthy():
    d = desired(web(depends_on=(Dependency("db", "healthy"),)), db())
    plan = make_plan(d, ObservedState(images={IMAGE: IMAGE_ID}), NS)
    tasks = {t.key: t for t in plan.tasks}
    assert tasks["container/web"].after == {"container/db", "network/front", "volume/data"}
    assert str(tasks["container/db"].steps[-1]) == "wait db healthy (60s)"


def test_a_container_taking_volumes_read_only_from_another_runs_after_it():
    d = desired(web(depends_on=(), volumes_from=("db:ro",)), db())
    tasks = {t.key: t for t in make_plan(d, ObservedState(images={IMAGE: IMAGE_ID}), NS).tasks}
    assert "container/db" in tasks["container/web"].after


def test_a_changed_network_is_recreated_with_the_containers_on_it():
    o = observed(running(web(), "1"), running(db(), "2"))
    changed = dataclasses.replace(FRONT, internal=True)
    text = printed(desired(web(), db(), networks=(changed,)), o, steps=True)
    assert text.splitlines()[:6] == [
        "~ recreate network front (spec changed: internal)",
        "    remove container 111111111111",
        "    remove container 222222222222",
        "    remove network nfront",
        "    create network front",
        "~ recreate container db (its network is recreated: front)",
    ]


def test_an_emptied_directory_is_refused_unless_allowed():
    o = observed(running(web(), "1"), running(db(), "2"))
    with pytest.raises(Refused, match="--allow-empty"):
        make_plan(DesiredState(), o, NS)
    assert "Plan: 3 to remove, 1 retained." in plan_text(make_plan(DesiredState(), o, NS, allow_empty=True))


def test_a_missing_image_blocks_the_replacement_and_the_old_container_keeps_running():
    o = dataclasses.replace(observed(running(web(), "1"), running(db(), "2")), images={})
    text = printed(desired(web(image="localhost/other:2"), db()), o)
    assert text.splitlines()[:2] == [
        "~ recreate container web (spec changed: image; image not available: localhost/other:2)",
        "    blocked: image localhost/other:2 is not available",
    ]
