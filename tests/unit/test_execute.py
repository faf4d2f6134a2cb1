"""execute and converge on the in-memory engine: guards, rollbacks, retries, parallel failures."""

from __future__ import annotations

import dataclasses

import pytest

from reconciler.converge import converge, make_plan, observe
from reconciler.execute import execute
from reconciler.fields import Dependency
from reconciler.model import LABEL_MANAGED, ContainerSpec, DesiredState, Source, spec_hash
from reconciler.options import PlanOptions
from runtime.base import Conflict, EngineUnavailable, InvalidSpec, NotFound
from runtime.memory import MemoryRuntime

NS = "ns"
IMAGE = "localhost/demo:1"


def engine() -> MemoryRuntime:
    return MemoryRuntime(images={IMAGE: "sha256:" + "a" * 64})


def spec(name: str, **changes) -> ContainerSpec:
    return dataclasses.replace(ContainerSpec(name=name, image=IMAGE, source=Source("x.toml", 1)), **changes)


def state(*specs: ContainerSpec) -> DesiredState:
    return DesiredState(containers={s.name: s for s in specs})


def names(runtime: MemoryRuntime) -> list[tuple[str, str]]:
    return sorted((c.name, c.state) for c in runtime.containers.values() if c.labels.get(LABEL_MANAGED) == NS)


def test_a_cold_pass_creates_and_starts_every_container():
    runtime = engine()
    report = converge(runtime, state(spec("web"), spec("db")), NS)
    assert report.converged
    assert names(runtime) == [("db", "running"), ("web", "running")]


def test_a_failed_start_of_a_replacement_restores_the_old_container_under_its_name():
    runtime = engine()
    converge(runtime, state(spec("web")), NS)
    old = runtime.observe(NS).containers[0].id
    runtime.fail_next("start_container", InvalidSpec("exec: no such file"))
    report = converge(runtime, state(spec("web", env={"V": "2"})), NS)
    (failure,) = report.failures
    assert failure.rolled_back and str(failure.failed_step) == "start web"
    (container,) = runtime.observe(NS).containers
    assert (container.id, container.name, container.state) == (old, "web", "running")


def test_a_remove_that_finds_the_container_gone_counts_as_done():
    runtime = engine()
    converge(runtime, state(spec("web"), spec("old")), NS)
    runtime.fail_next("remove_container", NotFound("no such container"))
    report = converge(runtime, state(spec("web")), NS)
    assert not report.failures


def test_a_container_that_lost_its_label_before_the_remove_is_left_alone():
    runtime = engine()
    converge(runtime, state(spec("web"), spec("old")), NS)
    old = next(c for c in runtime.containers.values() if c.name == "old")
    original = runtime.container_labels

    def relabelled(id):
        return {} if id == old.id else original(id)

    runtime.container_labels = relabelled
    report = converge(runtime, state(spec("web")), NS)
    (failure,) = report.failures
    assert "left alone" in failure.error
    assert old.id in runtime.containers


def test_a_409_on_create_re_observes_and_converges_in_the_same_pass():
    runtime = engine()
    runtime.fail_next("create_container", Conflict("name in use"))
    report = converge(runtime, state(spec("web")), NS)
    assert report.converged
    assert len(runtime.calls_to("create_container")) == 2


def test_a_failing_container_does_not_stop_the_others_and_skips_its_dependents():
    runtime = engine()
    create = runtime.create_container

    def refuse_db(spec, name, labels):
        if name == "db":
            raise InvalidSpec("bad device")
        return create(spec, name, labels)

    runtime.create_container = refuse_db
    desired = state(spec("db"), spec("web", depends_on=(Dependency("db"),)), spec("cache"))
    report = converge(runtime, desired, NS)
    assert sorted(str(r) for r in report.failures) == [
        "create container db: failed at 'create container db': bad device",
        "create container web: skipped: container/db failed",
    ]
    assert names(runtime) == [("cache", "running")]


def test_an_unreachable_engine_fails_the_pass_as_unavailable():
    runtime = engine()
    runtime.available = False
    with pytest.raises(EngineUnavailable):
        converge(runtime, state(spec("web")), NS)


def test_a_stopping_agent_starts_no_new_task():
    runtime = engine()
    report = converge(runtime, state(spec("web")), NS, should_stop=lambda: True)
    assert [r.error for r in report.results] == ["agent stopping"]
    assert runtime.calls_to("create_container") == []


def test_held_tasks_wait_for_a_later_pass():
    runtime = engine()
    report = converge(runtime, state(spec("web"), spec("db")), NS, PlanOptions(held={"container/web": "backoff"}))
    assert names(runtime) == [("db", "running")]
    assert not report.converged


def test_a_held_dependency_holds_its_dependents():
    runtime = engine()
    desired = state(spec("db"), spec("web", depends_on=(Dependency("db"),)))
    report = converge(runtime, desired, NS, PlanOptions(held={"container/db": "backoff until 12:00:00Z"}))
    assert names(runtime) == []
    assert sorted(str(r) for r in report.results) == [
        "create container db: skipped: backoff until 12:00:00Z",
        "create container web: skipped: container/db is blocked",
    ]


def test_a_changed_job_that_completes_replaces_the_old_one_and_is_recorded_without_a_rollback():
    runtime = engine()
    runtime.on_start("job", exit_code=0)
    job = spec("job", state="completed", env={"RUN": "1"})
    assert converge(runtime, state(job), NS).converged
    changed = dataclasses.replace(job, env={"RUN": "2"})
    report = converge(runtime, state(changed), NS)
    assert report.converged, [str(r) for r in report.results]
    assert report.completed == {"job": spec_hash(changed)}
    assert names(runtime) == [("job", "exited")]


def test_a_failed_run_of_a_changed_job_is_reported_and_kept_and_the_old_job_is_never_run_again():
    runtime = engine()
    runtime.on_start("job", exit_code=0)
    job = spec("job", state="completed", env={"RUN": "1"})
    converge(runtime, state(job), NS)
    runtime.on_start("job", exit_code=3)
    changed = dataclasses.replace(job, env={"RUN": "2"})
    report = converge(runtime, state(changed), NS)
    (failure,) = report.failures
    assert "exited with code 3, expected 0" in failure.error and not failure.rolled_back
    (kept,) = runtime.containers.values()
    assert (kept.name, kept.state, kept.exit_code, kept.labels["io.reconciler.spec-hash"]) == (
        "job", "exited", 3, spec_hash(changed))
    assert len(runtime.calls_to("start_container")) == 2  # the first run, the new run: never the old one again
    assert str(report.remaining.changes[0]) == "> start container job (run failed: code 3)"


def test_a_job_that_fails_is_reported_by_the_pass_that_started_it():
    runtime = engine()
    runtime.on_start("job", exit_code=3)
    report = converge(runtime, state(spec("job", state="completed")), NS)
    (failure,) = report.failures
    assert "exited with code 3, expected 0" in failure.error
    assert not report.converged


def test_a_replacement_goes_on_when_someone_removed_the_old_container_meanwhile():
    runtime = engine()
    converge(runtime, state(spec("web")), NS)
    changed = state(spec("web", env={"A": "b"}))
    plan = make_plan(changed, observe(runtime, NS, changed), NS)
    runtime.remove_container("web")
    results = execute(plan, runtime, NS)
    assert [r.ok for r in results] == [True]
    assert names(runtime) == [("web", "running")]
