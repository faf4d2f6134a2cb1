"""The agent's main thread waits for signals; a wait that ends with no signal of ours changes nothing."""

import signal
import threading
from types import SimpleNamespace

import pytest

from reconciler.commands import run


class Loop:
    """An agent whose loop runs until stopped, recording why."""

    def __init__(self) -> None:
        self.stopped = threading.Event()
        self.reasons: list[str] = []

    def run(self) -> int:
        self.stopped.wait(10)
        return 0

    def stop(self, reason: str) -> None:
        self.reasons.append(reason)
        self.stopped.set()

    def reload(self) -> None:
        self.reasons.append("reload")


def test_a_wait_that_answers_no_signal_is_ignored_and_sigterm_still_stops_the_agent(monkeypatch):
    answers = iter([SimpleNamespace(si_signo=0), None, SimpleNamespace(si_signo=signal.SIGTERM)])
    monkeypatch.setattr(run.signal, "sigtimedwait", lambda signals, timeout: next(answers, None))
    agent = Loop()
    assert run._run_taking_signals(agent) == 0
    assert agent.reasons == ["signal:SIGTERM"]


def test_a_failing_wait_stops_the_agent_before_the_error_goes_on(monkeypatch):
    def fail(signals, timeout):
        raise OSError("wait failed")

    monkeypatch.setattr(run.signal, "sigtimedwait", fail)
    agent = Loop()
    with pytest.raises(OSError, match="wait failed"):
        run._run_taking_signals(agent)
    assert agent.reasons == ["crash"] and agent.stopped.is_set()
