"""The agent under test as a subprocess: started, SIGKILLed and restarted by the campaign, and
watched for the one thing it must never do: exit when nobody told it to."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

RECONCILER = str(Path(sys.executable).with_name("reconciler"))


def supports_state_dir() -> bool:
    """Whether this `reconciler run` knows --state-dir (checked once per campaign)."""
    usage = subprocess.run([RECONCILER, "run", "--help"], capture_output=True, text=True).stdout
    return "--state-dir" in usage


def run_command(directory: Path, namespace: str, state_dir: Path | None, port: int, status_file: Path) -> list[str]:
    command = [RECONCILER, "run", str(directory), "--namespace", namespace, "--interval", "2s",
               "--status-addr", f"127.0.0.1:{port}", "--status-file", str(status_file)]
    return command + (["--state-dir", str(state_dir)] if state_dir else [])


@dataclass(frozen=True)
class Exit:
    """An exit the campaign did not cause: when (unix seconds), the code, the log's last lines."""

    time: float
    code: int
    tail: str


class Agent:
    """One agent at a time; `kill()` may be called from the event thread."""

    def __init__(self, command: list[str], port: int, log: Path) -> None:
        self.command, self.port, self.log = command, port, log
        self.process: subprocess.Popen | None = None
        self.starts = 0
        self.unexpected: list[Exit] = []
        self._expected_exit = False
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start it unless it runs already."""
        with self._lock:
            if self.process is not None and self.process.poll() is None:
                return
            with open(self.log, "ab") as log:
                log.write(f"--- start {self.starts + 1} at {time.time():.3f}\n".encode())
                log.flush()
                self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT)
            self.starts += 1
            self._expected_exit = False

    def kill(self) -> float:
        """SIGKILL; returns the unix time it was sent."""
        with self._lock:
            if self.process is not None and self.process.poll() is None:
                self._expected_exit = True
                self.process.send_signal(signal.SIGKILL)
            return time.time()

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def check(self) -> Exit | None:
        """If it exited by itself since the last check: that exit (recorded); the caller restarts it."""
        with self._lock:
            if self.process is None or self.process.poll() is None or self._expected_exit:
                return None
            gone = Exit(time.time(), self.process.returncode, self.tail())
            self.unexpected.append(gone)
            self.process = None
            return gone

    def ready(self, timeout: float = 15.0) -> bool:
        """Whether /healthz answers within `timeout` s (it does once the agent holds its lock)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.running():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2):
                    return True
            except OSError:
                time.sleep(0.1)
        return False

    def terminate(self, timeout: float = 20.0) -> int | None:
        """SIGTERM and wait; the exit code, or None when it was not running or did not stop (then killed)."""
        with self._lock:
            process, self._expected_exit = self.process, True
        if process is None or process.poll() is not None:
            return None
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            return None

    def tail(self, lines: int = 5) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def second_agent(command: list[str], timeout: float = 15.0) -> tuple[int | None, str]:
    """Run another agent for the same namespace; (its exit code or None if it kept running, its output)."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = process.communicate(timeout=timeout)
        return process.returncode, output.strip()
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        return None, output.strip()
