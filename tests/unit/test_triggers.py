import os
import signal
import threading

import pytest

from reconciler.agent.triggers import Backoff, Trigger


def test_wait_returns_none_when_nothing_fired():
    assert Trigger().wait(timeout=0.01) is None


def test_wait_returns_the_reason_fired_before_it():
    trigger = Trigger()
    trigger.fire("file")
    assert trigger.wait(timeout=0) == {"file"}


def test_reasons_fired_between_waits_coalesce_into_one_wake_up():
    trigger = Trigger()
    for reason in ["file", "engine", "file", "timer"]:
        trigger.fire(reason)
    assert trigger.wait(timeout=0) == {"file", "engine", "timer"}
    assert trigger.wait(timeout=0) is None


def test_fire_from_another_thread_wakes_a_waiting_loop():
    trigger = Trigger()
    threading.Timer(0.05, trigger.fire, args=["engine"]).start()
    assert trigger.wait(timeout=10) == {"engine"}


def test_fire_from_many_threads_loses_no_reason():
    trigger = Trigger()
    threads = [threading.Thread(target=trigger.fire, args=[f"r{i}"]) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert trigger.wait(timeout=0) == {f"r{i}" for i in range(50)}


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="POSIX signals")
def test_fire_from_a_signal_handler_wakes_the_same_thread_blocked_in_wait():
    trigger = Trigger()
    previous = signal.signal(signal.SIGUSR1, lambda *_: trigger.fire("signal"))
    try:
        threading.Timer(0.05, os.kill, args=[os.getpid(), signal.SIGUSR1]).start()
        assert trigger.wait(timeout=10) == {"signal"}
    finally:
        signal.signal(signal.SIGUSR1, previous)


def test_first_failure_waits_the_initial_delay():
    assert Backoff(initial=1, cap=300).failed("web", now=100) == 101


def test_consecutive_failures_double_the_delay():
    backoff = Backoff(initial=1, cap=300)
    times = [backoff.failed("web", now=0) for _ in range(4)]
    assert times == [1, 2, 4, 8]


def test_delay_never_exceeds_the_cap():
    backoff = Backoff(initial=1, cap=300)
    for _ in range(2000):
        next_at = backoff.failed("web", now=0)
    assert next_at == 300


def test_key_is_not_due_before_its_retry_time():
    backoff = Backoff(initial=4)
    backoff.failed("web", now=10)
    assert not backoff.due("web", now=13.9)


def test_key_is_due_at_its_retry_time():
    backoff = Backoff(initial=4)
    backoff.failed("web", now=10)
    assert backoff.due("web", now=14)


def test_a_key_that_never_failed_is_due():
    assert Backoff().due("web", now=0)


def test_keys_back_off_independently():
    backoff = Backoff(initial=1)
    for _ in range(5):
        backoff.failed("db", now=0)
    backoff.failed("web", now=0)
    assert backoff.pending() == {"db": 16, "web": 1}


def test_success_resets_the_delay_to_initial():
    backoff = Backoff(initial=1)
    backoff.failed("web", now=0)
    backoff.failed("web", now=0)
    backoff.succeeded("web")
    assert backoff.failed("web", now=50) == 51


def test_success_removes_the_key_from_pending():
    backoff = Backoff()
    backoff.failed("web", now=0)
    backoff.succeeded("web")
    assert backoff.pending() == {}


def test_succeeded_for_an_unknown_key_is_harmless():
    Backoff().succeeded("never-failed")


def test_failures_counts_consecutive_failures_since_success():
    backoff = Backoff()
    for _ in range(3):
        backoff.failed("web", now=0)
    assert backoff.failures("web") == 3
    backoff.succeeded("web")
    assert backoff.failures("web") == 0


def test_next_due_is_the_earliest_retry_time():
    backoff = Backoff(initial=1)
    backoff.failed("db", now=0)
    backoff.failed("db", now=0)
    backoff.failed("web", now=5)
    assert backoff.next_due() == 2


def test_next_due_is_none_without_pending_retries():
    assert Backoff().next_due() is None
