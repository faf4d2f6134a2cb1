"""A container that holds a declared name is removed by hand while a pass is about to remove
another container of that name (a leftover, the container a replacement retires): the other one
stays, so the name never ends without a container (DESIGN.md §6a; the fault campaign's
`declared-removed`)."""

from __future__ import annotations

import dataclasses

from reconciler.converge import converge, make_plan, observe
from reconciler.execute import execute
from reconciler.model import LABEL_MANAGED, ContainerSpec, DesiredState, Source
from reconciler.ownership import owned_labels
from reconciler.tasks import Plan
from runtime.memory import MemoryRuntime

NS = "ns"
IMAGE = "localhost/demo:1"


def engine() -> MemoryRuntime:
    return MemoryRuntime(images={IMAGE: "sha256:" + "a" * 64})


def web(**changes) -> ContainerSpec:
    return dataclasses.replace(ContainerSpec(name="web", image=IMAGE, source=Source("web.toml", 1)), **changes)


def state(spec: ContainerSpec) -> DesiredState:
    return DesiredState(containers={spec.name: spec})


def owned(runtime: MemoryRuntime) -> list[str]:
    return sorted(c.name for c in runtime.containers.values() if c.labels.get(LABEL_MANAGED) == NS)


def leftover_planned_for_removal_then_keeper_removed(runtime: MemoryRuntime) -> Plan:
    """An interrupted replacement's state: `web` (the keeper, as declared) and the old container
    parked beside it; the pass plans the leftover's removal, then `web` is removed by hand."""
    converge(runtime, state(web()), NS)
    old = web(env={"GEN": "1"})
    runtime.create_container(old, "web--prev-111111111111", owned_labels(old, NS))
    desired = state(web())
    plan = make_plan(desired, observe(runtime, NS, desired), NS)
    runtime.remove_container("web")
    return plan


def test_the_leftover_of_an_interrupted_replacement_stays_when_its_keeper_is_removed_before_the_cleanup():
    runtime = engine()
    (result,) = execute(leftover_planned_for_removal_then_keeper_removed(runtime), runtime, NS)
    assert (result.ok, result.retry) == (False, True)
    assert result.error.startswith("container ") and result.error.endswith("is gone: this one stays until a new "
                                                                          "one holds the name")
    assert owned(runtime) == ["web--prev-111111111111"]


def test_a_replacement_keeps_the_old_container_when_the_new_one_is_removed_before_the_old_one_goes():
    runtime = engine()
    converge(runtime, state(web(env={"GEN": "1"})), NS)
    waited = runtime.wait_container

    def removed_by_hand_once_stable(id: str, condition: str, timeout: float) -> None:
        waited(id, condition, timeout)
        if condition == "stable":
            runtime.remove_container(id)

    runtime.wait_container = removed_by_hand_once_stable
    (failure,) = converge(runtime, state(web(env={"GEN": "2"})), NS).failures
    assert str(failure.failed_step).startswith("remove container ")
    (parked,) = owned(runtime)
    assert parked.startswith("web--prev-")


def test_the_next_pass_gives_the_name_a_container_again_after_a_kept_leftover():
    runtime = engine()
    execute(leftover_planned_for_removal_then_keeper_removed(runtime), runtime, NS)
    assert converge(runtime, state(web()), NS).converged
    assert owned(runtime) == ["web"]


def test_a_parked_old_container_alone_takes_its_name_back_before_it_is_replaced():
    runtime = engine()
    converge(runtime, state(web(env={"GEN": "1"})), NS)
    (old,) = runtime.observe(NS).containers
    runtime.rename_container(old.id, f"web--prev-{old.id[:12]}")
    desired = state(web(env={"GEN": "2"}))
    steps = [str(a) for a in make_plan(desired, observe(runtime, NS, desired), NS).tasks[0].steps]
    assert steps[:2] == [f"rename {old.id[:12]} -> web", f"create container web--next-{old.id[:12]}"]
    assert f"rename {old.id[:12]} -> web--prev-{old.id[:12]}" in steps
