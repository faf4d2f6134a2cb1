"""A SIGTERM sent while `reconciler run` is still starting (loading its modules takes about half
a second) waits for the agent, which then stops cleanly with exit 0, as a supervisor expects: the
fault campaign's final SIGTERM to an agent it had just restarted found it killed (exit -15)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import types
import uuid
from pathlib import Path

from reconciler.agent.lock import lock_path
from reconciler.commands import cli

ROOT = Path(__file__).resolve().parents[2]


def test_the_agent_signals_are_blocked_before_the_run_command_loads(monkeypatch, tmp_path):
    seen: list[set[int]] = []

    def load(name: str) -> types.ModuleType:
        seen.append(set(signal.pthread_sigmask(signal.SIG_BLOCK, [])))
        return types.SimpleNamespace(run=lambda args: 0)

    before = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    monkeypatch.setattr(cli.importlib, "import_module", load)
    try:
        assert cli.main(["run", str(tmp_path)]) == 0
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)
    assert seen and seen[0] >= cli.AGENT_SIGNALS


def test_other_commands_leave_the_signals_alone(monkeypatch, tmp_path):
    seen: list[set[int]] = []

    def load(name: str) -> types.ModuleType:
        seen.append(set(signal.pthread_sigmask(signal.SIG_BLOCK, [])))
        return types.SimpleNamespace(run=lambda args: 0)

    monkeypatch.setattr(cli.importlib, "import_module", load)
    assert cli.main(["validate", str(tmp_path)]) == 0
    assert not seen[0] & cli.AGENT_SIGNALS


def test_a_sigterm_while_the_agent_starts_stops_it_with_exit_0(tmp_path):
    (tmp_path / "desired").mkdir()
    namespace, engine = f"startup-{uuid.uuid4().hex[:8]}", f"unix://{tmp_path}/no-engine.sock"
    command = [sys.executable, "-m", "reconciler", "run", str(tmp_path / "desired"),
               "--namespace", namespace, "--engine", engine,
               "--interval", "2s", "--status-addr", "127.0.0.1:0", "--status-file", str(tmp_path / "status.json"),
               "--state-dir", str(tmp_path / "state")]
    agent = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _wait_blocked(agent.pid, signal.SIGTERM)  # cli.main has blocked it; the agent's modules are still loading
    agent.send_signal(signal.SIGTERM)
    _, errors = agent.communicate(timeout=30)
    lock_path(namespace, engine).unlink(missing_ok=True)
    assert agent.returncode == 0, errors


def _wait_blocked(pid: int, signum: int, limit: float = 30.0) -> None:
    """Wait until process `pid` blocks `signum` (its /proc status's SigBlk mask): before that, a
    signal finds the interpreter itself starting, which no program can handle."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        status = Path(f"/proc/{pid}/status").read_text()
        mask = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigBlk:")), 16)
        if mask & (1 << (signum - 1)):
            return
        time.sleep(0.005)
    raise AssertionError(f"process {pid} did not block signal {signum} within {limit:g} s")
