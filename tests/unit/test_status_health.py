"""/healthz turns unhealthy when passes keep failing, and healthy again after a good pass."""

import pytest

from reconciler.agent.status import Status, StatusServer
from tests.unit.test_status import Clock, get


@pytest.fixture
def clock() -> Clock:
    return Clock()


def agent_status(clock: Clock, interval: float = 30) -> Status:
    return Status("prod", "desired", interval=interval, clock=clock, monotonic=clock)


def failing_for(status: Status, clock: Clock, seconds: float, result: str = "crashed") -> None:
    """Passes ending `result` every 10 s for `seconds`, the loop beating all along."""
    for _ in range(int(seconds // 10)):
        clock.now += 10
        status.heartbeat()
        status.record_pass(result, duration=0.1)
    clock.now += seconds % 10
    status.heartbeat()


@pytest.mark.parametrize(("interval", "bound"), [(1, 300), (30, 300), (60, 300), (120, 600)])
def test_the_bound_is_five_intervals_and_at_least_five_minutes(clock, interval, bound):
    assert agent_status(clock, interval).failing_bound() == bound


@pytest.mark.parametrize("result", ["crashed", "unavailable"])
def test_passes_failing_for_longer_than_the_bound_make_the_agent_unhealthy(clock, result):
    status = agent_status(clock)
    status.record_pass("converged", duration=0.1)
    failing_for(status, clock, 290, result)
    assert status.health() == (True, "ok")
    failing_for(status, clock, 20, result)
    assert status.health() == (False, f"no successful pass for 310s (last pass: {result})")


def test_the_bound_counts_from_the_start_when_no_pass_ever_succeeded(clock):
    status = agent_status(clock)
    failing_for(status, clock, 301)
    assert not status.health()[0]


def test_a_good_pass_makes_the_agent_healthy_again(clock):
    status = agent_status(clock)
    failing_for(status, clock, 400)
    status.record_pass("converged", duration=0.1)
    assert status.health() == (True, "ok")


def test_a_pass_held_back_by_an_invalid_file_is_not_a_failing_one(clock):
    status = agent_status(clock)
    failing_for(status, clock, 400, "invalid")
    assert status.health() == (True, "ok")


def test_a_resource_that_keeps_failing_does_not_make_the_agent_unhealthy(clock):
    status = agent_status(clock)
    failing_for(status, clock, 400, "failed")
    assert status.health() == (True, "ok")


def test_healthz_answers_503_with_the_reason_then_200_after_a_good_pass(clock):
    status = agent_status(clock)
    server = StatusServer(status, "127.0.0.1:0")
    server.start()
    try:
        failing_for(status, clock, 400, "unavailable")
        code, _, body = get(server, "/healthz")
        assert (code, body) == (503, "no successful pass for 400s (last pass: unavailable)\n")
        status.record_pass("converged", duration=0.1)
        assert get(server, "/healthz")[::2] == (200, "ok\n")
    finally:
        server.stop()
