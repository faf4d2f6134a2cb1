"""In-place updates, planned: which differences of the updatable fields update the container, and
which replace it, with the reason printed (reconciler.inplace). Pure: (desired, observed) in,
the printed plan out."""

from __future__ import annotations

import dataclasses
import json

from reconciler.commands.render import plan_text
from reconciler.converge import make_plan
from reconciler.fields import Blkio, Resources
from reconciler.model import (
    FORM,
    LABEL_FORM,
    LABEL_SPEC_HASH,
    LABEL_SPEC_KEYS,
    ContainerSpec,
    DesiredState,
    Source,
    in_place_values,
    spec_hash,
    spec_hash_at,
    spec_keys,
)
from reconciler.ownership import owned_labels
from runtime.base import ObservedContainer, ObservedState

NS = "ns"
IMAGE = "localhost/demo:1"
IMAGE_ID = "sha256:" + "a" * 64
MB = 2**20


def web(**changes) -> ContainerSpec:
    spec = ContainerSpec(name="web", image=IMAGE, source=Source("web.toml", 1), env={"GREETING": "hello"},
                         resources=Resources(memory=64 * MB))
    return dataclasses.replace(spec, **changes)


def made_from(spec: ContainerSpec, state: str = "running", limits: dict | None = None, **labels) -> ObservedContainer:
    """The container the reconciler made from `spec`, its limits as inspect reports them."""
    return ObservedContainer(id="c" * 64, name=spec.name, labels={**owned_labels(spec, NS), **labels}, state=state,
                             health=None, image_id=IMAGE_ID, networks=frozenset({"bridge"}), created=100.0,
                             exit_code=143 if state == "exited" else None,
                             limits=in_place_values(spec) if limits is None else limits)


def plan_lines(spec: ContainerSpec, have: ObservedContainer, cannot_update: str = "", steps: bool = False):
    observed = ObservedState(containers=(have,), images={IMAGE: IMAGE_ID}, cannot_update=cannot_update)
    plan = make_plan(DesiredState(containers={spec.name: spec}), observed, NS)
    return plan_text(plan, steps=steps).splitlines()


def test_a_raised_memory_limit_is_an_update_with_its_values():
    assert plan_lines(web(resources=Resources(memory=128 * MB)), made_from(web())) == [
        "% update container web (resources changed: resources.memory)",
        '    resources.memory: "64m" -> "128m"',
        "Plan: 1 to update.",
    ]


def test_an_update_is_one_update_call_on_the_same_container_and_falls_back_to_a_replacement():
    lines = plan_lines(web(resources=Resources(memory=128 * MB)), made_from(web()), steps=True)
    assert lines[2:6] == ["    update container cccccccccccc",
                          "      if it is refused: recreate instead",
                          "        create container web--next-cccccccccccc",
                          "        stop cccccccccccc"]
    assert lines[-2:] == ["        remove container cccccccccccc", "Plan: 1 to update."]


def test_every_updatable_field_is_compared_and_named_by_the_files_key():
    wanted = web(restart="always", resources=Resources(memory=64 * MB, memory_reservation=32 * MB, cpus=0.5,
                                                       pids_limit=100, cpu_shares=512, cpuset="0",
                                                       memswap_limit=256 * MB, blkio=Blkio(weight=300)))
    assert plan_lines(wanted, made_from(web())) == [
        "% update container web (resources changed: resources.memory_reservation, memswap_limit, resources.cpus, "
        "cpu_shares, cpuset, resources.pids_limit, blkio_config.weight, restart)",
        '    + resources.memory_reservation: "32m"',
        '    + memswap_limit: "256m"',
        "    + resources.cpus: 0.5",
        "    + cpu_shares: 512",
        '    + cpuset: "0"',
        "    + resources.pids_limit: 100",
        "    + blkio_config.weight: 300",
        '    restart: "no" -> "always"',
        "Plan: 1 to update.",
    ]


def test_a_swap_limit_the_file_does_not_declare_is_the_engines_own():
    have = made_from(web(), limits={**in_place_values(web()), "resources.memswap_limit": 128 * MB})
    assert plan_lines(web(), have) == ["No changes: the engine matches the desired state."]


def test_a_limit_changed_by_hand_is_updated_back():
    have = made_from(web(), limits={**in_place_values(web()), "resources.memory": 32 * MB})
    assert plan_lines(web(), have)[:2] == ["% update container web (resources changed: resources.memory)",
                                           '    resources.memory: "32m" -> "64m"']


def test_a_removed_limit_replaces_the_container_since_the_update_call_cannot_lift_it():
    assert plan_lines(web(resources=Resources()), made_from(web()))[:2] == [
        "~ recreate container web (resources changed: resources.memory; cannot update in place: "
        "resources.memory removed (the engine's update cannot lift a limit))",
        '    - resources.memory: "64m"']


def test_an_engine_without_an_update_call_replaces_and_says_so():
    why = "podman 4.3.1 has no update call (POST /containers/{id}/update)"
    assert plan_lines(web(resources=Resources(memory=128 * MB)), made_from(web()), cannot_update=why)[0] == (
        f"~ recreate container web (resources changed: resources.memory; cannot update in place: {why})")


def test_a_mixed_change_replaces_and_names_both():
    assert plan_lines(web(env={"GREETING": "bonjour"}, resources=Resources(memory=128 * MB)), made_from(web()))[0] == (
        "~ recreate container web (spec changed: env; resources changed: resources.memory)")


def test_a_stopped_container_is_updated_then_started():
    lines = plan_lines(web(restart="always"), made_from(web(), state="exited"), steps=True)
    assert lines[0] == "% update container web (resources changed: restart; stopped by hand)"
    steps = [line for line in lines[2:] if line.startswith("    ") and not line.startswith("      ")]
    assert steps == ["    update container cccccccccccc", "    start web"]


def test_a_container_declared_stopped_is_updated_then_stopped():
    lines = plan_lines(web(state="stopped", resources=Resources(memory=96 * MB)), made_from(web()), steps=True)
    assert lines[0] == "% update container web (resources changed: resources.memory; declared stopped)"
    steps = [line for line in lines[2:] if line.startswith("    ") and not line.startswith("      ")]
    assert steps == ["    update container cccccccccccc", "    stop cccccccccccc"]


def test_a_container_whose_limits_were_not_read_is_not_compared():
    unread = dataclasses.replace(made_from(web()), limits=None)
    assert plan_lines(web(resources=Resources(memory=128 * MB)), unread) == [
        "No changes: the engine matches the desired state."]


def test_form_3_leaves_the_updatable_fields_out_of_the_hash():
    assert spec_hash(web(restart="always", resources=Resources(memory=1 * MB, cpus=2.0))) == spec_hash(web())
    assert spec_hash(web(resources=Resources(memory=64 * MB, shm_size=MB))) != spec_hash(web())


def form2_labels(spec: ContainerSpec) -> dict[str, str]:
    """The labels the release before form 3 gave a container made from `spec`."""
    return {**owned_labels(spec, NS), LABEL_FORM: "2", LABEL_SPEC_HASH: spec_hash_at(spec, 2),
            LABEL_SPEC_KEYS: json.dumps(spec_keys(spec, 2), sort_keys=True, separators=(",", ":"))}


def test_a_container_made_at_form_2_whose_spec_did_not_change_is_left_alone():
    assert FORM == 3
    have = dataclasses.replace(made_from(web()), labels=form2_labels(web()))
    assert plan_lines(web(), have) == ["No changes: the engine matches the desired state."]


def test_a_container_made_at_form_2_whose_memory_changed_is_replaced_as_a_spec_change():
    have = dataclasses.replace(made_from(web()), labels=form2_labels(web()))
    assert plan_lines(web(resources=Resources(memory=128 * MB)), have)[0] == (
        "~ recreate container web (spec changed: resources; resources changed: resources.memory)")


def test_on_an_engine_without_an_update_call_containers_are_made_at_form_2_with_their_limits_hashed():
    observed = ObservedState(images={IMAGE: IMAGE_ID}, cannot_update="podman 4.3.1 has no update call")
    plan = make_plan(DesiredState(containers={"web": web()}), observed, NS)
    [create] = [a for a in plan.tasks[0].steps if a.labels]
    labels = dict(create.labels)
    assert (labels[LABEL_FORM], labels[LABEL_SPEC_HASH]) == ("2", spec_hash_at(web(), 2))


def test_on_an_engine_without_an_update_call_a_default_the_engine_gives_is_not_a_difference():
    have = dataclasses.replace(made_from(web()), labels=form2_labels(web()),
                               limits={**in_place_values(web()), "resources.pids_limit": 2048})
    assert plan_lines(web(), have, cannot_update="podman 4.3.1 has no update call") == [
        "No changes: the engine matches the desired state."]
