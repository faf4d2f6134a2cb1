"""Adoption in the plan, pure: a declared name an unowned resource holds, with and without `adopt`."""

from __future__ import annotations

import dataclasses

from reconciler.adoption import records
from reconciler.converge import make_plan
from reconciler.fields import FileGrant, Mount, PortMapping
from reconciler.model import ContainerSpec, NetworkSpec, Source, VolumeSpec
from reconciler.options import PlanOptions
from reconciler.ownership import owned_labels
from runtime.base import ObservedContainer, ObservedNetwork, ObservedState, ObservedVolume, UnownedContainer
from tests.unit.test_diff_plan import IMAGE, IMAGE_ID, NS, desired, printed, running

OLD = "0123456789ab" + "c" * 52
ANON = "f" * 64
CREATED = "2024-05-01T13:02:10Z"


def app(**changes) -> ContainerSpec:
    spec = ContainerSpec(name="app", image=IMAGE, source=Source("app.toml", 1), env={"MODE": "prod"},
                         mounts=(Mount("volume", "/srv", "data"),), ports=(PortMapping(80, host_port=8080),),
                         restart="always")
    return dataclasses.replace(spec, **changes)


def unowned_app(name: str = "app", **changes) -> UnownedContainer:
    container = ObservedContainer(
        id=OLD, name=name, labels={"com.docker.compose.project": "proj", "com.docker.compose.service": "app"},
        state="running", health=None, image_id=IMAGE_ID, networks=frozenset({"bridge"}), created=50.0,
        volumes={"/srv": "data", "/cache": ANON},
    )
    details = UnownedContainer(observed=container, image="localhost/demo:0", env_keys=frozenset({"PATH"}),
                               ports=frozenset({"8080:80/tcp"}), restart="always")
    return dataclasses.replace(details, **changes)


def holding(*unowned: UnownedContainer, **extra) -> ObservedState:
    names = frozenset(u.observed.name for u in unowned)
    return ObservedState(
        volumes=(ObservedVolume("data", {"io.reconciler.managed": NS}),), images={IMAGE: IMAGE_ID},
        unowned={"container": names}, unowned_containers=unowned, **extra,
    )


def data_owned() -> tuple[ObservedVolume, ...]:
    return (ObservedVolume("data", owned_labels(VolumeSpec(name="data", source=Source("net.toml", 4)), NS)),)


def test_without_adopt_a_taken_container_name_stays_a_conflict():
    o = dataclasses.replace(holding(unowned_app()), volumes=data_owned())
    assert printed(desired(app(), networks=()), o) == "\n".join([
        "! conflict container app (name held by a resource this namespace does not own)",
        "Plan: 1 conflict(s).",
    ])


def test_an_adopted_container_is_replaced_stop_first_with_its_differences_and_anonymous_volume_kept():
    o = dataclasses.replace(holding(unowned_app()), volumes=data_owned())
    assert printed(desired(app(adopt=True), networks=()), o, steps=True) == "\n".join([
        "& adopt container app (takes over: unowned container 0123456789ab (running), replaced stop-first; "
        "differs: image localhost/demo:0 -> localhost/demo:1; differs: env keys added: MODE; "
        "differs: labels dropped: com.docker.compose.project, com.docker.compose.service; "
        "keeps the data of its anonymous volume: /cache in ffffffffffff)",
        "    stop 0123456789ab",
        "    rename 0123456789ab -> app--prev-0123456789ab",
        "      if it fails: start 0123456789ab",
        "    create container app",
        "      if it fails: rename 0123456789ab -> app, start 0123456789ab",
        "    start app",
        "      if it fails: remove container app, rename 0123456789ab -> app, start 0123456789ab",
        "    wait app running (60s)",
        "      if it fails: remove container app, rename 0123456789ab -> app, start 0123456789ab",
        "    wait app stable (1s)",
        "      if it fails: remove container app, rename 0123456789ab -> app, start 0123456789ab",
        "    remove adopted container 0123456789ab",
        "Plan: 1 to adopt.",
    ])


def test_adopt_asked_on_the_command_line_by_bare_name_or_kind_and_name_is_the_same_as_in_the_file():
    o = dataclasses.replace(holding(unowned_app()), volumes=data_owned())
    d = desired(app(), networks=())
    assert printed(d, o, adopt=frozenset({"app"})) == printed(d, o, adopt=frozenset({"container/app"}))
    assert printed(d, o, adopt=frozenset({"app"})).startswith("& adopt container app (takes over")


def test_the_new_container_mounts_the_anonymous_volume_at_the_same_path():
    o = dataclasses.replace(holding(unowned_app()), volumes=data_owned())
    (task,) = make_plan(desired(app(adopt=True), networks=()), o, NS).tasks
    create = next(a for a in task.steps if a.name == "app")
    assert Mount("volume", "/cache", ANON) in create.spec.mounts
    assert dict(create.labels)["io.reconciler.managed"] == NS
    assert "com.docker.compose.project" not in dict(create.labels)


def test_adopt_of_a_name_nobody_holds_is_a_plain_create():
    o = ObservedState(volumes=data_owned(), images={IMAGE: IMAGE_ID})
    assert printed(desired(app(adopt=True), networks=()), o) == "\n".join([
        "+ create container app (missing)",
        "Plan: 1 to create.",
    ])


def test_a_container_another_namespace_owns_is_never_adopted():
    other = unowned_app(observed=dataclasses.replace(unowned_app().observed, labels={"io.reconciler.managed": "x"}))
    o = dataclasses.replace(holding(other), volumes=data_owned())
    assert printed(desired(app(adopt=True), networks=()), o).startswith(
        "! conflict container app (name held by a resource this namespace does not own: owned by namespace 'x')")


def test_an_adoption_interrupted_after_parking_creates_without_renaming_again():
    parked = unowned_app("app--prev-0123456789ab")
    o = dataclasses.replace(holding(parked), volumes=data_owned(), unowned={})
    text = printed(desired(app(adopt=True), networks=()), o, steps=True)
    assert "rename 0123456789ab -> app--prev" not in text
    assert "    create container app\n      if it fails: rename 0123456789ab -> app, start 0123456789ab" in text


def test_an_adoption_interrupted_after_the_new_container_runs_removes_the_parked_one():
    spec = app(adopt=True)
    o = dataclasses.replace(holding(unowned_app("app--prev-0123456789ab")), volumes=data_owned(), unowned={},
                            containers=(running(spec, "b", networks=frozenset({"bridge"})),))
    assert printed(desired(spec, networks=()), o, steps=True) == "\n".join([
        "* cleanup container app (interrupted replacement: adoption: removes 0123456789ab, the container it took over)",
        "    remove adopted container 0123456789ab",
        "Plan: 1 to cleanup.",
    ])


DATA = VolumeSpec(name="data", source=Source("net.toml", 4))
FRONT = NetworkSpec(name="front", source=Source("net.toml", 1))


def foreign_resources(**extra) -> ObservedState:
    return ObservedState(
        images={IMAGE: IMAGE_ID}, unowned={"volume": frozenset({"data"}), "network": frozenset({"front"})},
        unowned_volumes=(ObservedVolume("data", {"com.docker.compose.volume": "data"}, created=CREATED),),
        unowned_networks=(ObservedNetwork("n" * 64, "front", {}),), **extra,
    )


def test_without_adopt_a_taken_volume_or_network_name_stays_a_conflict():
    assert printed(desired(volumes=(DATA,), networks=(FRONT,)), foreign_resources(), allow_empty=True) == "\n".join([
        "! conflict network front (name held by a resource this namespace does not own)",
        "! conflict volume data (name held by a resource this namespace does not own)",
        "Plan: 2 conflict(s).",
    ])


def test_a_volume_and_a_network_to_adopt_are_adopted_by_a_record_with_no_engine_call():
    d = desired(volumes=(dataclasses.replace(DATA, adopt=True),), networks=(dataclasses.replace(FRONT, adopt=True),))
    plan = make_plan(d, foreign_resources(), NS, PlanOptions(allow_empty=True))
    assert plan.text(steps=True) == "\n".join([
        "& adopt network front (takes over: unowned network nnnnnnnnnnnnnnnnnnnnnnnn, recorded in the state directory)",
        "& adopt volume data (takes over: unowned volume local:data, recorded in the state directory)",
        "Plan: 2 to adopt.",
    ])
    assert records(plan.changes) == {"network/front": "n" * 64, "volume/data": "local:data"}


def test_an_adopted_volume_and_network_count_as_ours_and_a_difference_is_a_warning():
    d = desired(volumes=(dataclasses.replace(DATA, driver="nfs"),), networks=(FRONT,))
    adopted = {"network/front": "n" * 64, "volume/data": "local:data"}
    assert printed(d, foreign_resources(), allow_empty=True, adopted=adopted) == "\n".join([
        "= retain network front (adopted; never recreated, emptied or removed)",
        "? warn volume data (adopted; never recreated, emptied or removed; differs: driver local -> nfs)",
        "No changes: the engine matches the desired state.",
    ])


def test_a_record_whose_id_no_longer_matches_is_void_and_a_conflict_even_with_adopt_in_the_file():
    d = desired(volumes=(dataclasses.replace(DATA, adopt=True),), networks=())
    assert printed(d, foreign_resources(), allow_empty=True, adopted={"volume/data": "nfs:data"}) == (
        "! conflict volume data (adoption record void: recorded nfs:data, the name is now held by "
        "local:data)\nPlan: 1 conflict(s).")


def test_an_adopted_volume_stays_adopted_when_the_engine_reports_another_creation_time():
    later = dataclasses.replace(foreign_resources(),
                                unowned_volumes=(ObservedVolume("data", {}, created="2024-05-01T13:09:00Z"),))
    assert printed(desired(volumes=(DATA,), networks=()), later, allow_empty=True,
                   adopted={"volume/data": "local:data"}).splitlines()[0] == (
        "= retain volume data (adopted; never recreated, emptied or removed)")


def test_adopted_resources_no_longer_declared_the_volume_is_kept_the_network_released():
    adopted = {"network/front": "n" * 64, "volume/data": "local:data"}
    plan = make_plan(desired(volumes=(), networks=()), foreign_resources(), NS,
                     PlanOptions(allow_empty=True, prune_volumes=True, adopted=adopted))
    assert plan.text() == "\n".join([
        "= retain network front (no longer declared; adoption record dropped, network left in place)",
        "= retain volume data (no longer declared; adopted, kept)",
        "No changes: the engine matches the desired state.",
    ])
    assert records(plan.changes) == {"volume/data": "local:data"}


def test_labels_the_container_inherits_from_its_image_are_not_listed_as_dropped():
    labelled = unowned_app()
    labels = {**labelled.observed.labels, "org.opencontainers.image.vendor": "acme"}
    old = dataclasses.replace(labelled, observed=dataclasses.replace(labelled.observed, labels=labels),
                              image_labels={"org.opencontainers.image.vendor": "acme"})
    o = dataclasses.replace(holding(old), volumes=data_owned())

    first_line = printed(desired(app(adopt=True), networks=()), o).splitlines()[0]

    assert "labels dropped: com.docker.compose.project, com.docker.compose.service;" in first_line
    assert "vendor" not in first_line


def test_a_bind_at_a_declared_secrets_target_is_not_a_difference_of_the_adoption():
    compose_secret = unowned_app(binds={"/run/secrets/db_pass": "/srv/proj/db_pass.txt", "/etc/x": "/srv/x"})
    o = dataclasses.replace(holding(compose_secret), volumes=data_owned())
    spec = app(adopt=True, secrets=(FileGrant("db_pass", "/run/secrets/db_pass"),),
               configs=(FileGrant("conf", "/etc/app.conf", mode=0o444),))
    text = printed(desired(spec, networks=()), o)
    assert "differs: mount /etc/x: bind /srv/x not declared" in text
    assert "/run/secrets/db_pass" not in text
