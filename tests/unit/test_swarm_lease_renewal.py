"""A Swarm pass keeps its lease through a rolling update longer than the lease: the executor asks
`should_stop` at every poll of the update it follows, which renews the lease when due
(`Leases.keep`), and stops following once another holder took it. A fake clock and a stub of the
manager's lease and service calls; the real engine's lease is covered by the integration tests."""

from __future__ import annotations

import pytest

from reconciler.changes import Cause, Change, ChangeKind, Reason
from reconciler.commands.swarm_target import apply_holder
from reconciler.model import DesiredState
from reconciler.swarm import rollout
from reconciler.swarm.execute import execute
from reconciler.swarm.lease import RENEW_EVERY, TTL, Leases, lease_name
from reconciler.tasks import Action, Plan, Step, Task
from runtime.swarm_base import Lease, ObservedService, ObservedTasks
from tests.unit.test_swarm_lease import Clock, Configs

NS = "unit"
ME = "apply@here"
POLL = 5.0  # seconds of the fake clock between two polls of the rolling update
ROLLOUT = 120.0  # seconds the rolling update takes: four times the lease


class Manager(Configs):
    """The lease calls, and one service whose rolling update runs ROLLOUT seconds of `clock`; each
    poll moves the clock POLL seconds on and records whether our lease was still unexpired."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock
        self.updated_at: float | None = None
        self.held_at_each_poll: list[bool] = []

    def service(self, id: str) -> ObservedService:
        if self.updated_at is None:
            return ObservedService(id, "web", 3, {}, {"Mode": {"Replicated": {"Replicas": 2}}})
        self.clock.now += POLL
        lease = self.leases.get(lease_name(NS))
        self.held_at_each_poll.append(lease is not None and lease.holder == ME and lease.expires > self.clock.now)
        done = self.clock.now - self.updated_at >= ROLLOUT
        return ObservedService(id, "web", 4, {}, {"TaskTemplate": {"ContainerSpec": {"Env": ["A=2"]}}},
                               update_state="completed" if done else "updating", tasks=ObservedTasks(2, 2))

    def update_service(self, id: str, version: int, body) -> None:
        self.updated_at = self.clock.now


def rolling_update() -> Plan:
    change = Change(ChangeKind.UPDATE, "service", "web", (Cause(Reason.SPEC_CHANGED, "env"),), current=("s1",))
    body = {"TaskTemplate": {"ContainerSpec": {"Env": ["A=2"]}}}
    task = Task(change, (Action(Step.UPDATE_SERVICE, "s1", name="web", body=body, version=3, timeout=600.0),))
    return Plan((change,), (task,))


@pytest.fixture(autouse=True)
def no_real_sleep(monkeypatch):
    monkeypatch.setattr(rollout, "POLL_SECONDS", 0.0)


def test_following_a_rolling_update_longer_than_the_lease_keeps_renewing_it():
    clock = Clock()
    manager = Manager(clock)
    leases = Leases(manager, NS, ME, clock)
    assert leases.hold() is None
    [result] = execute(rolling_update(), manager, DesiredState(), NS, should_stop=lambda: not leases.keep())
    assert result.ok, result.error
    assert manager.held_at_each_poll and all(manager.held_at_each_poll)
    assert manager.writes >= ROLLOUT // RENEW_EVERY  # taken, then renewed every RENEW_EVERY seconds
    assert manager.leases[lease_name(NS)].expires >= clock.now + TTL - RENEW_EVERY


def test_the_update_is_no_longer_followed_once_another_holder_took_the_lease():
    clock = Clock()
    manager = Manager(clock)
    leases = Leases(manager, NS, ME, clock)
    assert leases.hold() is None
    stolen = Lease("l1", 99, "agent-elsewhere", clock.now + 1000)

    def should_stop() -> bool:
        if manager.updated_at is not None and clock.now - manager.updated_at >= 2 * TTL:
            manager.leases[lease_name(NS)] = stolen  # (as if we could not renew for a while)
        return not leases.keep()

    [result] = execute(rolling_update(), manager, DesiredState(), NS, should_stop=should_stop)
    assert not result.ok
    assert "stopped following the rolling update (still updating; Swarm carries it on)" in result.error
    assert clock.now - manager.updated_at < ROLLOUT


def test_the_next_apply_from_the_same_host_goes_on_at_once_with_the_lease_the_last_one_left():
    clock = Clock()
    manager = Manager(clock)
    assert Leases(manager, NS, apply_holder(), clock).hold() is None  # an apply ended, releasing nothing
    clock.now += 1
    assert Leases(manager, NS, apply_holder(), clock).hold() is None
    assert Leases(manager, NS, "agent-elsewhere", clock).hold().startswith(f"lease held by {apply_holder()} until ")
