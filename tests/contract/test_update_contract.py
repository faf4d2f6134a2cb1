"""In-place updates, pinned for every engine (see conftest: `engine`): the limits observe reports,
and the update call that changes them on the same running container or is refused."""

from __future__ import annotations

import pytest

from reconciler.fields import Resources
from runtime.base import InvalidSpec, NotFound

MB = 2**20


@pytest.fixture
def updatable(engine):
    """An engine with the update call (docs/engines.md); Podman 4.3 has none: see the last test."""
    if not engine.runtime.capabilities.in_place_update:
        pytest.skip(f"{engine.runtime.capabilities.kind} has no update call: its refusal is tested below")
    return engine


def limits_of(engine, id):
    [container] = [c for c in engine.runtime.observe(engine.namespace).containers if c.id == id]
    return container.limits


def test_observe_reports_the_limits_a_container_was_created_with(engine):
    spec = engine.spec("limits", restart="on-failure:3", resources=Resources(memory=64 * MB, cpus=0.5, pids_limit=50))
    id = engine.runtime.create_container(spec, engine.name("limits"), engine.labels())
    limits = limits_of(engine, id)
    assert (limits["resources.memory"], limits["resources.cpus"], limits["resources.pids_limit"]) == (64 * MB, 0.5, 50)
    assert limits["restart"] == "on-failure:3"
    assert limits["resources.memory_reservation"] is None and limits["resources.cpuset"] is None


def test_observe_reports_no_limit_for_a_container_created_without_any(engine):
    id = engine.create("plain")
    limits = limits_of(engine, id)
    assert limits["resources.memory"] is None and limits["resources.cpus"] is None and limits["restart"] == "no"


def test_an_update_changes_the_limits_of_the_same_running_container(engine, updatable):
    id = engine.runtime.create_container(engine.spec("grow", resources=Resources(memory=64 * MB)), engine.name("grow"),
                                         engine.labels())
    engine.runtime.start_container(id)
    engine.runtime.update_container(id, engine.spec("grow", restart="always",
                                                    resources=Resources(memory=100 * MB, cpus=0.5)))
    [container] = engine.runtime.inspect_containers([id])
    assert container.state == "running"
    assert (container.limits["resources.memory"], container.limits["resources.cpus"]) == (100 * MB, 0.5)
    assert container.limits["restart"] == "always"


def test_an_update_above_the_swap_limit_the_container_has_is_refused(engine, updatable):
    id = engine.runtime.create_container(engine.spec("swap", resources=Resources(memory=64 * MB)), engine.name("swap"),
                                         engine.labels())
    with pytest.raises(InvalidSpec, match="memoryswap"):
        engine.runtime.update_container(id, engine.spec("swap", resources=Resources(memory=256 * MB)))
    assert limits_of(engine, id)["resources.memory"] == 64 * MB


def test_an_update_with_the_swap_limit_raised_too_is_taken(engine, updatable):
    id = engine.runtime.create_container(engine.spec("both", resources=Resources(memory=64 * MB)), engine.name("both"),
                                         engine.labels())
    engine.runtime.update_container(id, engine.spec("both", resources=Resources(memory=256 * MB,
                                                                                memswap_limit=512 * MB)))
    limits = limits_of(engine, id)
    assert (limits["resources.memory"], limits["resources.memswap_limit"]) == (256 * MB, 512 * MB)


def test_an_update_of_a_missing_container_is_not_found(engine, updatable):
    with pytest.raises(NotFound):
        engine.runtime.update_container("0" * 64, engine.spec("gone", resources=Resources(memory=64 * MB)))


def test_an_engine_without_the_update_call_refuses_an_update_naming_itself(engine):
    if engine.runtime.capabilities.in_place_update:
        pytest.skip("this engine has the update call: tested above")
    id = engine.runtime.create_container(engine.spec("fixed", resources=Resources(memory=64 * MB)),
                                         engine.name("fixed"), engine.labels())
    with pytest.raises(InvalidSpec, match="has no update call"):
        engine.runtime.update_container(id, engine.spec("fixed", resources=Resources(memory=100 * MB)))
    assert limits_of(engine, id)["resources.memory"] == 64 * MB
