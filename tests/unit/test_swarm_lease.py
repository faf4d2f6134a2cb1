"""The Swarm lease (reconciler.swarm.lease): the pure rule, and `Leases` on a config store with
Swarm's compare-and-swap on the version index (a stale version is Conflict)."""

from __future__ import annotations

import re

import pytest

from reconciler.swarm.lease import Decision, Leases, Move, decide, holder_id, lease_name, waiting
from runtime.base import Conflict
from runtime.swarm_base import Lease

NS = "unit"


class Configs:
    """Just the lease calls of a Swarm manager: one config per name, its version bumped by each write."""

    def __init__(self) -> None:
        self.leases: dict[str, Lease] = {}
        self.writes = 0

    def read_lease(self, name: str) -> Lease | None:
        return self.leases.get(name)

    def write_lease(self, name: str, lease: Lease | None, holder: str, expires: float) -> Lease:
        current = self.leases.get(name)
        if (current and current.version) != (lease and lease.version):
            raise Conflict(f"update out of sequence: {name}")
        self.writes += 1
        self.leases[name] = Lease(name, (current.version if current else 0) + 1, holder, expires)
        return self.leases[name]


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def lease(holder: str, expires: float) -> Lease:
    return Lease("id", 3, holder, expires)


def test_nobody_holds_a_lease_that_does_not_exist_yet():
    assert decide(None, "me", 100.0) == Decision(Move.TAKE)


def test_anothers_lease_is_waited_for_until_it_expires():
    assert decide(lease("other", 130.0), "me", 129.9) == Decision(Move.WAIT, "other", 130.0)


def test_anothers_lease_is_taken_over_once_it_expired():
    assert decide(lease("other", 130.0), "me", 130.0) == Decision(Move.TAKE)


def test_our_lease_is_kept_for_ten_seconds_after_its_renewal():
    assert decide(lease("me", 130.0), "me", 109.9) == Decision(Move.KEEP)


def test_our_lease_is_renewed_ten_seconds_after_its_renewal():
    assert decide(lease("me", 130.0), "me", 110.0) == Decision(Move.RENEW)


def test_the_durations_are_parameters():
    assert decide(lease("me", 103.0), "me", 101.0, ttl=3.0, renew_every=1.0) == Decision(Move.RENEW)


def test_the_lease_of_a_namespace_is_its_config():
    assert lease_name("prod") == "reconciler-lease-prod"


def test_a_holder_is_named_by_host_pid_and_a_random_suffix():
    assert re.fullmatch(r".+-\d+-[0-9a-f]{8}", holder_id()) and holder_id() != holder_id()


def test_the_waiting_reason_names_the_holder_and_its_expiry_in_utc():
    assert waiting("host-1-abc", 1_800_000_030.0) == "lease held by host-1-abc until 2027-01-15T08:00:30Z"


@pytest.fixture
def configs() -> Configs:
    return Configs()


def test_the_first_agent_takes_the_lease_for_thirty_seconds(configs):
    clock = Clock()
    assert Leases(configs, NS, "a", clock).hold() is None
    assert configs.leases[lease_name(NS)].holder == "a"
    assert configs.leases[lease_name(NS)].expires == clock.now + 30


def test_a_second_agent_waits_and_names_the_holder(configs):
    clock = Clock()
    Leases(configs, NS, "a", clock).hold()
    assert Leases(configs, NS, "b", clock).hold() == waiting("a", clock.now + 30)


def test_the_holder_writes_nothing_between_renewals(configs):
    clock = Clock()
    leases = Leases(configs, NS, "a", clock)
    leases.hold()
    clock.now += 9
    leases.hold()
    assert configs.writes == 1


def test_the_holder_renews_after_ten_seconds_and_keeps_it(configs):
    clock = Clock()
    a, b = Leases(configs, NS, "a", clock), Leases(configs, NS, "b", clock)
    a.hold()
    clock.now += 10
    assert a.hold() is None
    clock.now += 25
    assert b.hold() == waiting("a", clock.now + 5)


def test_each_renewal_is_told_to_the_listener_and_a_hold_between_renewals_is_not(configs):
    clock = Clock()
    leases = Leases(configs, NS, "a", clock)
    told = []
    leases.on_change = lambda held: told.append(held.held().expires)
    leases.hold()
    clock.now += 9
    leases.hold()
    clock.now += 1
    leases.hold()
    assert told == [clock.now - 10 + 30, clock.now + 30]


def test_a_waiting_holder_tells_the_listener_who_holds_the_lease(configs):
    clock = Clock()
    Leases(configs, NS, "a", clock).hold()
    b = Leases(configs, NS, "b", clock)
    told = []
    b.on_change = lambda held: told.append(held.why_not())
    b.hold()
    assert told == [waiting("a", clock.now + 30)]


def test_a_lease_not_renewed_for_thirty_seconds_is_taken_over(configs):
    clock = Clock()
    a, b = Leases(configs, NS, "a", clock), Leases(configs, NS, "b", clock)
    a.hold()
    clock.now += 30
    assert b.hold() is None
    assert configs.leases[lease_name(NS)].holder == "b"


def test_the_old_holder_waits_once_taken_over(configs):
    clock = Clock()
    a, b = Leases(configs, NS, "a", clock), Leases(configs, NS, "b", clock)
    a.hold()
    clock.now += 30
    b.hold()
    assert a.hold() == waiting("b", clock.now + 30)


class Racing(Configs):
    """Another agent, "b", writes the lease between our read and our write."""

    def __init__(self, expires: float) -> None:
        super().__init__()
        self.expires = expires
        self.raced = False

    def read_lease(self, name: str) -> Lease | None:
        seen = super().read_lease(name)
        if not self.raced:
            self.raced = True
            self.write_lease(name, seen, "b", self.expires)
        return seen


def test_losing_the_race_to_write_is_waiting_for_the_winner():
    clock = Clock()
    configs = Racing(expires=clock.now + 30)
    assert Leases(configs, NS, "a", clock).hold() == waiting("b", clock.now + 30)
    assert configs.leases[lease_name(NS)].holder == "b"


def test_the_holder_wakes_for_its_next_renewal(configs):
    clock = Clock()
    a = Leases(configs, NS, "a", clock)
    a.hold()
    clock.now += 4
    assert a.next_check() == 6


def test_a_waiting_agent_wakes_when_the_hold_expires(configs):
    clock = Clock()
    Leases(configs, NS, "a", clock).hold()
    b = Leases(configs, NS, "b", clock)
    clock.now += 5
    b.hold()
    assert b.next_check() == 25
