"""Host mode never touches what Swarm holds: a container or volume with a `com.docker.swarm.`
label, or what the Swarm target made (its `io.reconciler.target` mark), is never owned (even with
our labels copied onto it), adopted, imported or acted on; a declared name it holds is a conflict.
Each target owns exactly the overlay networks it made. On the in-memory engine, through the host
pipeline."""

from __future__ import annotations

import dataclasses

from reconciler.commands.render import plan_text
from reconciler.converge import converge, make_plan, observe
from reconciler.importing.containers import import_host
from reconciler.model import (
    LABEL_MANAGED,
    LABEL_TARGET,
    TARGET_SWARM,
    ContainerSpec,
    DesiredState,
    Source,
    VolumeSpec,
    held_by_swarm,
    is_owned,
)
from reconciler.options import PlanOptions
from reconciler.ownership import owned_labels
from runtime import docker_observe, swarm_observe
from runtime.memory import MemoryRuntime

NS = "ns"
IMAGE = "localhost/demo:1"
TASK = "web.1.k2x7q0c5v3n4"
TASK_LABELS = {"com.docker.swarm.service.id": "s1", "com.docker.swarm.service.name": "web",
               "com.docker.swarm.task.id": "k2x7q0c5v3n4", "com.docker.swarm.task.name": TASK}
SWARM_TARGET = {LABEL_TARGET: TARGET_SWARM}


def spec(name: str, **changes) -> ContainerSpec:
    return dataclasses.replace(ContainerSpec(name=name, image=IMAGE, source=Source("x.toml", 1)), **changes)


def engine_with_task(copied: bool = False) -> tuple[MemoryRuntime, str]:
    """An engine running a Swarm task container (with our ownership labels when `copied`)."""
    runtime = MemoryRuntime(images={IMAGE: "sha256:" + "a" * 64})
    labels = {**TASK_LABELS, **(owned_labels(spec(TASK), NS) if copied else {})}
    id = runtime.create_container(spec(TASK), TASK, labels)
    runtime.start_container(id)
    return runtime, id


def test_a_task_container_is_held_by_its_service():
    assert held_by_swarm(TASK_LABELS) == "a Swarm task of service web"


def test_anything_with_a_swarm_label_is_held_by_swarm():
    assert held_by_swarm({"com.docker.swarm.node.id": "n1"}) == "made by Swarm"


def test_our_labels_alone_are_not_held_by_swarm():
    assert held_by_swarm({LABEL_MANAGED: NS}) is None


def test_what_the_swarm_target_made_is_held_by_swarm_even_with_our_labels():
    assert held_by_swarm({LABEL_MANAGED: NS, LABEL_TARGET: TARGET_SWARM}) == "made by the Swarm target"


def test_the_docker_adapter_owns_its_own_overlay_network_but_not_the_swarm_targets():
    host = {"Name": "front", "Scope": "swarm", "Driver": "overlay", "Labels": {LABEL_MANAGED: NS}}
    swarm = {"Name": "back", "Scope": "swarm", "Driver": "overlay", "Labels": {LABEL_MANAGED: NS, **SWARM_TARGET}}
    assert (docker_observe.owned(host, NS), docker_observe.owned(swarm, NS)) == (True, False)


def test_a_declared_network_name_an_overlay_network_of_the_swarm_target_holds_is_unowned_on_the_host_target():
    overlay = {"Name": "front", "Scope": "swarm", "Labels": {LABEL_MANAGED: NS, **SWARM_TARGET}}
    assert docker_observe.unowned_names([overlay], frozenset({"front"}), NS, lambda e: e["Name"]) == {"front"}


def test_the_swarm_target_owns_only_the_overlay_networks_carrying_its_mark():
    host = {"Name": "front", "Scope": "swarm", "Driver": "overlay", "Labels": {LABEL_MANAGED: NS}}
    swarm = {"Name": "back", "Scope": "swarm", "Driver": "overlay", "Labels": {LABEL_MANAGED: NS, **SWARM_TARGET}}
    assert (swarm_observe.swarm_network(host, NS), swarm_observe.swarm_network(swarm, NS)) == (False, True)


def test_the_swarm_targets_mark_does_not_make_another_namespaces_network_ours():
    other = {"Name": "back", "Scope": "swarm", "Driver": "overlay", "Labels": {LABEL_MANAGED: "other", **SWARM_TARGET}}
    assert not swarm_observe.swarm_network(other, NS)


def test_our_labels_copied_onto_a_task_do_not_make_it_ours():
    assert not is_owned({**TASK_LABELS, LABEL_MANAGED: NS}, NS)


def test_a_task_carrying_our_labels_is_not_removed_as_undeclared():
    runtime, id = engine_with_task(copied=True)
    converge(runtime, DesiredState(containers={"other": spec("other")}), NS)
    assert runtime.containers[id].state == "running"


def test_a_declared_name_a_task_holds_is_a_conflict_left_alone():
    runtime, id = engine_with_task()
    report = converge(runtime, DesiredState(containers={TASK: spec(TASK)}), NS)
    assert plan_text(report.plan).splitlines()[0] == (
        f"! conflict container {TASK} (name held by a resource this namespace does not own)")
    assert [c.id for c in runtime.containers.values()] == [id]


def test_adopting_a_task_container_is_a_conflict_saying_it_is_a_swarm_task():
    runtime, id = engine_with_task(copied=True)
    report = converge(runtime, DesiredState(containers={TASK: spec(TASK, adopt=True)}), NS)
    assert plan_text(report.plan).splitlines()[0] == (
        f"! conflict container {TASK} (name held by a resource this namespace does not own: "
        "a Swarm task of service web: Swarm owns it)")
    assert runtime.containers[id].state == "running"


def test_adopt_on_the_command_line_names_the_task_in_vain():
    runtime, _ = engine_with_task()
    desired = DesiredState(containers={TASK: spec(TASK)})
    options = PlanOptions(adopt=frozenset({TASK}))
    observed = observe(runtime, NS, desired, options)
    assert "Swarm owns it" in plan_text(make_plan(desired, observed, NS, options))


def test_import_containers_leaves_a_task_out_with_a_note():
    runtime, _ = engine_with_task()
    found = import_host(runtime, [], NS)
    assert found.files == {}
    assert found.notes == [f"container {TASK}: a Swarm task of service web: left out (Swarm owns it)"]


def test_a_volume_swarm_made_with_our_labels_is_neither_owned_nor_taken_over():
    runtime = MemoryRuntime(images={IMAGE: "sha256:" + "a" * 64})
    data = VolumeSpec(name="data", source=Source("x.toml", 2))
    runtime.create_volume(data, {**owned_labels(data, NS), "com.docker.swarm.service.name": "web"})
    report = converge(runtime, DesiredState(containers={"other": spec("other")}, volumes={"data": data}), NS)
    assert plan_text(report.plan).splitlines()[0] == (
        "! conflict volume data (name held by a resource this namespace does not own: made by Swarm: Swarm owns it)")
    assert "data" in runtime.volumes
