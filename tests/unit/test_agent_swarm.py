"""The agent on a Swarm manager (`run --target swarm`, agent.swarm_passes): the lease decides
whether a pass converges or only plans, and the status and metrics show the services' tasks and
the lease. The Swarm pipeline's converge and preview stand in as recorders of what they were
asked; the lease lives in tests.unit.test_swarm_lease's config store."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from structlog.testing import capture_logs

from reconciler.agent.accounting import STALLED
from reconciler.agent.loop import Agent
from reconciler.agent.swarm_passes import SwarmPasses
from reconciler.agent.timestamps import iso
from reconciler.changes import Cause, Change, ChangeKind, Reason
from reconciler.swarm.lease import Leases, waiting
from reconciler.tasks import Plan
from runtime.base import EngineUnavailable
from runtime.swarm_base import ObservedService, ObservedTasks, SwarmState
from tests.unit.conftest import NS, new_agent
from tests.unit.desired import write
from tests.unit.test_swarm_lease import Configs

NOTHING_LEFT = Plan((), ())
WEB = '[container.web]\nimage = "demo"\n'


@dataclass(frozen=True)
class Report:
    plan: Plan
    results: tuple = ()
    remaining: Plan = NOTHING_LEFT
    observed: SwarmState = SwarmState()

    @property
    def ran(self) -> tuple:
        return self.results

    @property
    def failures(self) -> tuple:
        return ()

    @property
    def unavailable(self) -> bool:
        return False

    @property
    def converged(self) -> bool:
        return not self.remaining.has_changes


class Pipeline:
    """Records the passes asked of the Swarm pipeline and answers with `observed`."""

    def __init__(self, observed: SwarmState, remaining: Plan = NOTHING_LEFT) -> None:
        self.observed = observed
        self.remaining = remaining
        self.asked: list[tuple[str, dict]] = []

    def converge(self, runtime, desired, namespace, options, should_stop):
        self.asked.append(("converge", options))
        return Report(self.remaining, remaining=self.remaining, observed=self.observed)

    def preview(self, runtime, desired, namespace, options):
        self.asked.append(("preview", options))
        return Report(self.remaining, remaining=self.remaining, observed=self.observed)


def service(running: int, desired: int, error: str | None = None) -> SwarmState:
    tasks = ObservedTasks(running=running, desired=desired, last_error=error)
    return SwarmState(services=(ObservedService("s1", "web", 4, {}, tasks=tasks),))


def swarm_agent(root, engine, clock, state, configs: Configs, pipeline: Pipeline, holder: str = "a") -> Agent:
    write(root, {"web.toml": WEB})
    agent = new_agent(root, engine, clock, state)
    agent.status._clock = clock  # the lease's expiry is read against the status's wall clock
    agent.swarm = SwarmPasses(configs, Leases(configs, NS, holder, clock), pipeline.converge, pipeline.preview,
                              lambda **fields: fields)
    agent.desired.target = "swarm"  # (as `Agent(swarm=...)` chooses it)
    return agent


MANAGER = {"kind": "docker", "version": "20.10.24", "api_version": "1.41",
           "swarm": {"role": "manager", "node_id": "n1", "cluster_id": "c1", "nodes": 1, "managers": 1}}


class Manager(Configs):
    """The lease calls, and what the manager says it is (`engine()`); `down`: it does not answer that."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    def engine(self) -> dict:
        if self.down:
            raise EngineUnavailable("connection refused")
        return MANAGER


@pytest.fixture
def configs() -> Manager:
    return Manager()


def test_the_lease_holder_converges_the_swarm(root, engine, clock, state, configs):
    pipeline = Pipeline(service(3, 3))
    agent = swarm_agent(root, engine, clock, state, configs, pipeline)
    agent.run_pass({"resync"})
    assert [(kind, options["not_leader"]) for kind, options in pipeline.asked] == [("converge", None)]
    assert agent.status.snapshot()["last_pass"]["result"] == "converged"


def test_an_agent_without_the_lease_only_plans_and_says_who_holds_it(root, engine, clock, state, configs):
    Leases(configs, NS, "other", clock).hold()
    pipeline = Pipeline(service(3, 3))
    agent = swarm_agent(root, engine, clock, state, configs, pipeline)
    with capture_logs() as logs:
        agent.run_pass({"resync"})
    why = waiting("other", clock.now + 30)
    assert pipeline.asked == [("preview", {"allow_empty": False, "invalid_files": frozenset(), "not_leader": why})]
    assert agent.status.snapshot()["last_pass"]["result"] == "waiting"
    assert [e["holder"] for e in logs if e["event"] == "lease.waiting"] == ["other"]


def test_the_status_shows_the_lease_a_waiting_agent_waits_for(root, engine, clock, state, configs):
    Leases(configs, NS, "other", clock).hold()
    agent = swarm_agent(root, engine, clock, state, configs, Pipeline(service(3, 3)))
    agent.run_pass({"resync"})
    assert agent.status.snapshot()["lease"] == {"holder": "a", "held": False, "until": None,
                                                "waiting": waiting("other", clock.now + 30)}


def test_a_suspended_holder_only_plans(root, engine, clock, state, configs):
    pipeline = Pipeline(service(3, 3))
    agent = swarm_agent(root, engine, clock, state, configs, pipeline)
    agent.set_suspended(True)
    agent.run_pass({"api:suspend"})
    assert [kind for kind, _ in pipeline.asked] == ["preview"]


def test_a_service_reports_its_running_and_desired_tasks_and_last_task_error(root, engine, clock, state, configs):
    agent = swarm_agent(root, engine, clock, state, configs, Pipeline(service(2, 3, "task: non-zero exit (1)")))
    agent.run_pass({"resync"})
    [web] = agent.status.snapshot()["resources"]
    assert (web["kind"], web["name"], web["state"], web["replicas"], web["task_error"]) == (
        "service", "web", "stalled", {"running": 2, "desired": 3}, "task: non-zero exit (1)")


def test_a_service_still_to_change_is_pending_with_its_plan_line(root, engine, clock, state, configs):
    remaining = Plan((Change(ChangeKind.CREATE, "service", "web", (Cause(Reason.MISSING),)),), ())
    agent = swarm_agent(root, engine, clock, state, configs, Pipeline(SwarmState(), remaining))
    agent.run_pass({"resync"})
    [web] = agent.status.snapshot()["resources"]
    assert (web["state"], web["message"], "replicas" in web) == ("pending", "+ create service web (missing)", False)


def test_metrics_count_each_services_running_and_desired_tasks(root, engine, clock, state, configs):
    agent = swarm_agent(root, engine, clock, state, configs, Pipeline(service(2, 3)))
    agent.run_pass({"resync"})
    sample = agent.status.metrics.registry.get_sample_value
    assert (sample("reconciler_service_replicas", {"name": "web", "state": "running"}),
            sample("reconciler_service_replicas", {"name": "web", "state": "desired"})) == (2.0, 3.0)


def test_between_passes_the_holder_renews_the_lease_without_a_pass(root, engine, clock, state, configs):
    pipeline = Pipeline(service(3, 3))
    agent = swarm_agent(root, engine, clock, state, configs, pipeline)
    agent.run_pass({"resync"})
    clock.now += 10
    assert agent._keep_lease() is False
    assert configs.leases["reconciler-lease-" + NS].expires == clock.now + 30
    assert len(pipeline.asked) == 1


def test_an_agent_that_takes_the_lease_over_between_passes_asks_for_a_pass(root, engine, clock, state, configs):
    Leases(configs, NS, "other", clock).hold()
    agent = swarm_agent(root, engine, clock, state, configs, Pipeline(service(3, 3)))
    agent.run_pass({"resync"})
    clock.now += 30
    assert agent._keep_lease() is True


def test_what_swarm_cannot_run_is_an_error_of_its_file_which_is_frozen(root, engine, clock, state, configs):
    pipeline = Pipeline(SwarmState())
    agent = swarm_agent(root, engine, clock, state, configs, pipeline)
    write(root, {"web.toml": WEB + "privileged = true\n"})
    agent.run_pass({"edit"})
    [(_, options)] = pipeline.asked
    assert options["invalid_files"] == frozenset({"web.toml"})
    assert [e["text"].partition(": ")[0] for e in agent.status.snapshot()["errors"]] == ["web.toml:3"]


def held_at_last_valid(root, engine, clock, state, configs):
    """An agent whose web.toml, valid for one pass, then asks what Swarm cannot run."""
    agent = swarm_agent(root, engine, clock, state, configs, Pipeline(service(1, 1)))
    agent.run_pass({"resync"})
    write(root, {"web.toml": WEB + "privileged = true\n"})
    agent.run_pass({"edit"})
    return agent


def test_a_file_swarm_cannot_run_keeps_its_last_valid_content_unsaved_and_its_service_stalled(
        root, engine, clock, state, configs):
    agent = held_at_last_valid(root, engine, clock, state, configs)
    [web] = agent.status.snapshot()["resources"]
    assert (web["name"], web["state"], web["message"]) == ("web", "stalled", STALLED)
    assert state.lastgood() == {"web.toml": WEB.encode()}


def test_a_pass_holding_a_file_at_its_last_valid_content_is_invalid_as_on_one_host(
        root, engine, clock, state, configs):
    agent = held_at_last_valid(root, engine, clock, state, configs)
    assert agent.status.snapshot()["last_pass"]["result"] == "invalid"


def test_a_holder_that_lost_the_lease_during_a_pass_starts_no_further_task(root, engine, clock, state, configs):
    asked_to_stop = []

    def converge(runtime, desired, namespace, options, should_stop):
        clock.now += 31  # the pass outlived its lease: another agent took it meanwhile
        Leases(configs, NS, "other", clock).hold()
        asked_to_stop.append(should_stop())
        return Report(NOTHING_LEFT, observed=SwarmState())

    agent = swarm_agent(root, engine, clock, state, configs, Pipeline(SwarmState()))
    agent.swarm.converge = converge
    agent.run_pass({"resync"})
    assert asked_to_stop == [True]


def test_the_status_shows_the_swarm_manager_once_a_pass_reached_it(root, engine, clock, state, configs):
    agent = swarm_agent(root, engine, clock, state, configs, Pipeline(service(3, 3)))
    agent.run_pass({"resync"})
    assert agent.status.snapshot()["engine"] == MANAGER


def test_a_manager_that_does_not_say_what_it_is_leaves_the_engine_unknown_and_the_pass_goes_on(
        root, engine, clock, state, configs):
    configs.down = True
    agent = swarm_agent(root, engine, clock, state, configs, Pipeline(service(3, 3)))
    agent.run_pass({"resync"})
    snapshot = agent.status.snapshot()
    assert (snapshot["engine"], snapshot["last_pass"]["result"]) == (None, "converged")
    configs.down = False
    agent.run_pass({"resync"})
    assert agent.status.snapshot()["engine"] == MANAGER


def test_a_holder_that_lost_the_lease_during_a_pass_says_who_holds_it_now(root, engine, clock, state, configs):
    def converge(runtime, desired, namespace, options, should_stop):
        clock.now += 31  # a long rolling update: another agent took the lease meanwhile
        Leases(configs, NS, "other", clock).hold()
        should_stop()
        return Report(NOTHING_LEFT, observed=SwarmState())

    agent = swarm_agent(root, engine, clock, state, configs, Pipeline(SwarmState()))
    agent.swarm.converge = converge
    agent.run_pass({"resync"})
    assert agent.status.snapshot()["lease"] == {"holder": "a", "held": False, "until": None,
                                                "waiting": waiting("other", clock.now + 30)}


def test_a_hold_not_renewed_before_its_expiry_is_no_longer_claimed_by_the_status(root, engine, clock, state, configs):
    agent = swarm_agent(root, engine, clock, state, configs, Pipeline(service(3, 3)))
    agent.run_pass({"resync"})
    assert agent.status.snapshot()["lease"]["held"] is True
    clock.now += 31  # the agent busy: no renewal since
    lease = agent.status.snapshot()["lease"]
    assert (lease["held"], lease["waiting"]) == (False, f"lease expired at {lease['until']}: not renewed since")


def test_a_renewal_between_passes_keeps_the_status_holding_the_lease(root, engine, clock, state, configs):
    agent = swarm_agent(root, engine, clock, state, configs, Pipeline(service(3, 3)))
    agent.run_pass({"resync"})
    for _ in range(4):
        clock.now += 10
        agent._keep_lease()
    assert agent.status.snapshot()["lease"]["held"] is True


def test_a_renewal_during_a_long_rolling_update_keeps_the_status_holding_the_lease(
        root, engine, clock, state, configs):
    seen = []

    def converge(runtime, desired, namespace, options, should_stop):
        for _ in range(5):  # 50 s of polls of a rolling update, each asking whether to go on
            clock.now += 10
            should_stop()
        seen.append(agent.status.snapshot())
        return Report(NOTHING_LEFT, observed=SwarmState())

    agent = swarm_agent(root, engine, clock, state, configs, Pipeline(SwarmState()))
    agent.swarm.converge = converge
    agent.run_pass({"resync"})
    [during] = seen
    assert (during["lease"]["held"], during["lease"]["until"]) == (True, iso(clock.now + 30))


def test_the_status_saved_during_a_pass_says_a_pass_is_under_way(root, engine, clock, state, configs, tmp_path):
    saved = []

    def converge(runtime, desired, namespace, options, should_stop):
        clock.now += 10
        should_stop()
        saved.append(json.loads((tmp_path / "status.json").read_text()))
        return Report(NOTHING_LEFT, observed=SwarmState())

    agent = swarm_agent(root, engine, clock, state, configs, Pipeline(SwarmState()))
    agent.status.path = str(tmp_path / "status.json")
    agent.swarm.converge = converge
    started = iso(clock.now)
    agent.run_pass({"resync"})
    assert (saved[0]["running"], saved[0]["lease"]["held"]) == ({"since": started}, True)
    assert agent.status.snapshot()["running"] is None


def test_a_service_whose_rolling_update_swarm_carries_on_is_updating_not_converged(
        root, engine, clock, state, configs):
    tasks = ObservedTasks(running=2, desired=2)
    observed = SwarmState(services=(ObservedService("s1", "web", 4, {}, update_state="updating", tasks=tasks),))
    agent = swarm_agent(root, engine, clock, state, configs, Pipeline(observed))
    agent.run_pass({"resync"})
    [web] = agent.status.snapshot()["resources"]
    assert (web["state"], web["message"]) == ("updating", "Swarm's rolling update is updating")
