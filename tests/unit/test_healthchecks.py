"""The schedule of healthchecks the reconciler runs for an engine that runs none (Docker's)."""

from __future__ import annotations

import threading
import time

from runtime.healthchecks import DEFAULT_INTERVAL, Schedule, interval_of, run_forever


def test_a_check_is_first_due_one_interval_after_the_start():
    schedule = Schedule()
    schedule.follow({"a": (100.0, 5.0)})
    assert schedule.take(104.9) == []
    assert schedule.take(105.0) == ["a"]


def test_a_check_in_flight_is_not_due_again_until_it_ends_then_one_interval_later():
    schedule = Schedule()
    schedule.follow({"a": (100.0, 5.0)})
    assert schedule.take(105.0) == ["a"]
    assert schedule.take(200.0) == []
    schedule.done("a", 107.0, 5.0)
    assert schedule.take(111.9) == [] and schedule.take(112.0) == ["a"]


def test_a_container_no_longer_running_is_forgotten_and_a_new_start_counts_again():
    schedule = Schedule()
    schedule.follow({"a": (100.0, 5.0)})
    schedule.follow({})
    schedule.done("a", 103.0, 5.0)
    assert schedule.due == {}
    schedule.follow({"a": (300.0, 5.0)})
    assert schedule.take(304.0) == [] and schedule.take(305.0) == ["a"]


def test_the_interval_comes_from_the_inspected_healthcheck_in_nanoseconds():
    assert interval_of({"Test": ["CMD", "true"], "Interval": 500_000_000}) == 0.5
    assert interval_of({"Test": ["CMD-SHELL", "true"]}) == DEFAULT_INTERVAL
    assert interval_of({"Test": ["NONE"]}) is None
    assert interval_of(None) is None


def test_due_checks_run_until_stopped():
    ran: list[str] = []
    stop = threading.Event()
    started = time.time() - 10

    def check(id: str) -> None:
        ran.append(id)
        if len(ran) == 3:
            stop.set()

    thread = threading.Thread(target=run_forever, args=(lambda: {"a": (started, 0.05)}, check, stop.is_set),
                              daemon=True)
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive() and ran == ["a", "a", "a"]
