"""In-place updates, carried out on the in-memory engine: one update call on the same container,
a refusal that falls back to the replacement the plan holds, and the last-applied record after."""

from __future__ import annotations

import dataclasses

from reconciler.agent.rollbacks import Rollbacks
from reconciler.changes import ChangeKind, Reason
from reconciler.commands.render import report_text
from reconciler.converge import converge
from reconciler.fields import Resources
from reconciler.model import ContainerSpec, DesiredState, Source
from runtime.memory import MemoryRuntime

NS = "ns"
IMAGE = "localhost/demo:1"
MB = 2**20


def engine() -> MemoryRuntime:
    return MemoryRuntime(images={IMAGE: "sha256:" + "a" * 64})


def web(memory: int, **changes) -> DesiredState:
    spec = ContainerSpec(name="web", image=IMAGE, source=Source("web.toml", 1), resources=Resources(memory=memory * MB),
                         **changes)
    return DesiredState(containers={"web": spec})


def only(runtime: MemoryRuntime):
    [container] = runtime.containers.values()
    return container


def test_an_update_keeps_the_container_and_its_run_and_the_next_plan_is_empty():
    runtime = engine()
    converge(runtime, web(64), NS)
    before = only(runtime)
    report = converge(runtime, web(96), NS)
    assert [r.task.change.kind for r in report.results] == [ChangeKind.UPDATE]
    assert only(runtime).id == before.id and only(runtime).state == "running"
    assert only(runtime).limits["resources.memory"] == 96 * MB
    assert [name for name, _ in runtime.calls if name in ("update_container", "stop_container")] == ["update_container"]
    assert report.converged and not report.remaining.has_changes


def test_an_update_the_engine_refuses_falls_back_to_a_replacement_that_says_why():
    runtime = engine()
    converge(runtime, web(64), NS)  # its swap limit is twice its memory: 128m
    before = only(runtime).id
    report = converge(runtime, web(256), NS)
    [result] = report.results
    assert result.ok and result.task.change.kind is ChangeKind.RECREATE
    [refused] = [c for c in result.task.change.causes if c.reason is Reason.UPDATE_REFUSED]
    assert "Memory limit should be smaller than already set memoryswap limit" in refused.detail
    assert only(runtime).id != before and only(runtime).limits["resources.memory"] == 256 * MB
    assert report.converged


def test_a_restart_policy_is_updated_in_place():
    runtime = engine()
    converge(runtime, web(64), NS)
    converge(runtime, web(64, restart="unless-stopped"), NS)
    assert only(runtime).limits["restart"] == "unless-stopped"
    assert len(runtime.calls_to("create_container")) == 1


def test_the_last_applied_record_follows_an_update():
    runtime, rollbacks = engine(), Rollbacks(None)
    rollbacks.record_applied(converge(runtime, web(64), NS), web(64), (), now=1.0)
    rollbacks.record_applied(converge(runtime, web(96), NS), web(96), (), now=2.0)
    [(container_id, applied)] = rollbacks.applied.items()
    assert container_id == only(runtime).id
    assert applied["spec"]["resources"]["memory"] == 96 * MB and applied["at"] == 2.0


def test_an_unchanged_container_keeps_its_last_applied_record():
    runtime, rollbacks = engine(), Rollbacks(None)
    rollbacks.record_applied(converge(runtime, web(64), NS), web(64), (), now=1.0)
    rollbacks.record_applied(converge(runtime, web(64), NS), web(64), (), now=2.0)
    assert [r["at"] for r in rollbacks.applied.values()] == [1.0]


def test_a_container_the_engine_runs_with_other_limits_is_not_recorded_as_applied():
    runtime, rollbacks = engine(), Rollbacks(None)
    report = converge(runtime, web(64), NS)
    drifted = dataclasses.replace(report.observed.containers[0],
                                  limits={**report.observed.containers[0].limits, "resources.memory": 32 * MB})
    report = dataclasses.replace(report, observed=dataclasses.replace(report.observed, containers=(drifted,)))
    rollbacks.record_applied(report, web(64), (), now=1.0)
    assert rollbacks.applied == {}


def test_apply_says_what_ran_instead_of_a_refused_update():
    runtime = engine()
    converge(runtime, web(64), NS)
    text = report_text(converge(runtime, web(256), NS))
    [instead] = [line for line in text.splitlines() if line.startswith("instead: ")]
    assert instead.startswith("instead: ~ recreate container web (resources changed: resources.memory; "
                              "update refused: update container ")
    assert text.splitlines()[-1] == "Converged: the engine matches the desired state."
