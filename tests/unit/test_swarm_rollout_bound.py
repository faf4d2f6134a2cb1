"""How long a Swarm pass follows a rolling update (reconciler.swarm.rollout.bound), as the plan
prints it: per batch of `parallelism` tasks the old task's stop (stop-first), the new one's start
(`update.timeout`, at least 5 s) and `delay`; one more `delay`, the `monitor` period and a 10 s
margin. The two cases of review-swarm finding 2, which Swarm took 142 s and 35 s to complete."""

from __future__ import annotations

from reconciler.fields import Healthcheck, UpdatePolicy
from tests.unit.test_swarm_plan import desired, running, swarm, text, web


def update_line(**spec) -> str:
    """The printed step of an update of `web` (its env changed) declared with `spec`."""
    before = web(**spec)
    after = web(**spec, env={"V": "2"})
    return text(desired(after), swarm(running(before))).splitlines()[1]


def test_one_replica_with_a_70s_delay_is_followed_past_the_142s_swarm_takes():
    line = update_line(replicas=1, update=UpdatePolicy(delay=70.0))
    assert line.endswith("(rolling: stop-first, 1 at a time, 70s apart; Swarm rolls back on failure), "
                         "wait until it completes (at most 221s)")


def test_two_replicas_with_a_1s_timeout_and_a_10s_delay_are_followed_past_the_35s_swarm_takes():
    line = update_line(replicas=2, update=UpdatePolicy(timeout=1.0, delay=10.0, monitor=1.0))
    assert line.endswith("wait until it completes (at most 71s)")


def test_a_stop_first_update_counts_the_declared_stop_timeout_per_batch():
    line = update_line(replicas=2, stop_timeout=1, update=UpdatePolicy(timeout=1.0, delay=10.0, monitor=1.0))
    assert line.endswith("wait until it completes (at most 53s)")


def test_all_tasks_at_once_are_one_batch():
    line = update_line(replicas=4, update=UpdatePolicy(order="start-first", parallelism=0, delay=3.0))
    assert line.endswith("wait until it completes (at most 77s)")


def test_a_declared_healthcheck_is_waited_for_as_long_as_docker_may_take_to_call_it_healthy_or_not():
    check = Healthcheck(test=("CMD", "true"), interval=25.0, timeout=30.0, retries=3)
    line = update_line(replicas=2, healthcheck=check, update=UpdatePolicy(timeout=1.0, monitor=1.0))
    assert line.endswith("wait until it completes (at most 371s)")


def test_a_disabled_healthcheck_adds_no_wait():
    line = update_line(replicas=2, healthcheck=Healthcheck(test=("NONE",)),
                       update=UpdatePolicy(timeout=1.0, delay=10.0, monitor=1.0))
    assert line.endswith("wait until it completes (at most 71s)")
