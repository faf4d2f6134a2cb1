"""What drift compares (`reconciler.drift`), read the same way from every engine (see conftest: `engine`)."""

from __future__ import annotations

from reconciler import drift


def _created(engine, **fields):
    spec = engine.spec("app", **fields)
    id = engine.runtime.create_container(spec, engine.name("app"), engine.labels())
    return spec, id


def test_a_container_is_observed_with_what_it_was_created_with_and_has_not_drifted(engine):
    spec, id = _created(engine, env={"GREETING": "hello", "PATH": "/bin:/usr/bin"}, working_dir="/tmp")
    [container] = [c for c in engine.runtime.observe(engine.namespace).containers if c.id == id]
    assert container.config is not None
    assert container.config.env["GREETING"] == "hello"
    assert container.config.command == ("sleep", "300")
    assert drift.changed_fields(spec, container.config) == []


def test_an_inspected_container_carries_its_config_too(engine):
    spec, id = _created(engine, env={"GREETING": "hello"})
    [container] = engine.runtime.inspect_containers([id])
    assert container.config is not None and drift.changed_fields(spec, container.config) == []


def test_a_container_of_another_spec_has_drifted_from_this_one(engine):
    spec, id = _created(engine, env={"GREETING": "hello"})
    [container] = engine.runtime.inspect_containers([id])
    other = engine.spec("app", env={"GREETING": "bonjour"}, command=("sleep", "1"))
    assert drift.changed_fields(other, container.config) == ["env.GREETING", "command"]


def test_a_started_container_has_not_drifted_either(engine):
    spec, id = _created(engine, env={"GREETING": "hello"}, user="1000")
    engine.runtime.start_container(id)
    [container] = [c for c in engine.runtime.observe(engine.namespace).containers if c.id == id]
    assert container.state == "running"
    assert drift.changed_fields(spec, container.config) == []
