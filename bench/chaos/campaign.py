"""One campaign: set up a desired state and an unowned pair beside it, start the agent, make
random faults (seeded) for `duration` seconds, let it converge, judge, and clean up."""

from __future__ import annotations

import json
import random
import secrets
import shutil
import socket
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import docker

from bench.chaos import oracle
from bench.chaos.agent import Agent, run_command, supports_state_dir
from bench.chaos.desired import IMAGE, DesiredDir
from bench.chaos.events import LABEL_MANAGED, Recorder
from bench.chaos.faults import FAULTS, Done

LOCKS = (Path("/run/reconciler"), Path("/tmp/reconciler-locks"))  # the agent's lock files, docs/agent.md
GAP = (0.2, 1.0)  # s between two faults
HURRIED_GAP = (0.0, 0.1)  # s between two faults while behind the pace that makes a valid run
SETUP_SECONDS = 60.0
RESTART_AFTER_EXIT = 1.0  # s, as a supervisor would


@dataclass(frozen=True)
class Options:
    seed: int
    duration: float  # s of faults
    min_per_kind: int = 5
    grace: float = oracle.GRACE  # s, see oracle.py
    keep: bool = False  # keep the work directory (files, agent log)


class SetupFailed(Exception):
    pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Campaign:
    """A campaign's parts and record; the faults work on it (see faults.py). Times are unix seconds."""

    def __init__(self, options: Options, client: docker.DockerClient) -> None:
        self.options, self.client = options, client
        self.rng = random.Random(options.seed)
        self.namespace = f"chaos-{options.seed}-{secrets.token_hex(2)}"
        self.work = Path(tempfile.mkdtemp(prefix=f"{self.namespace}-"))
        self.desired = DesiredDir(self.work / "desired", self.namespace)
        self.state_dir = self.work / "state" if supports_state_dir() else None
        port = free_port()
        self.agent = Agent(self._command(port, "status.json"), port, self.work / "agent.log")
        self.second_command = self._command(free_port(), "second.status.json")
        self.recorder = Recorder(client, self.namespace, f"{self.namespace}-")
        self.unowned = (f"{self.namespace}-stray", f"{self.namespace}-stray-data")
        self.done: list[tuple[float, str, Done]] = []  # (unix time, kind, what)
        self.missed: Counter[str] = Counter()
        self.violations: list[oracle.Violation] = []
        self.removed: set[str] = set()
        self.started = time.time()
        self.converge_seconds: float | None = None
        self.marker: str | None = None
        self._pending: list[tuple[float, Callable[[], object]]] = []

    def _command(self, port: int, status: str) -> list[str]:
        return run_command(self.desired.root, self.namespace, self.state_dir, port, self.work / status)

    def run(self) -> None:
        self.setup()
        self.make_faults()
        self.settle()
        self.judge()

    def setup(self) -> None:
        """The unowned pair (before the recording starts), then the agent; waits for the first
        convergence and reads the marker."""
        container, volume = self.unowned
        self.client.volumes.create(name=volume)
        self.client.containers.run(IMAGE, ["sleep", "3600"], name=container, init=True, detach=True,
                                   volumes={volume: {"bind": "/data", "mode": "rw"}})
        self.recorder.start()
        self.agent.start()
        deadline = time.monotonic() + SETUP_SECONDS
        while time.monotonic() < deadline:
            self.marker = oracle.read_marker(self.client, self.desired.files["c.toml"].container)
            if self.marker and oracle.plan_exit(self.desired.root, self.namespace)[0] == 0:
                self.started = time.time()
                return
            self.wait(0.5)
        raise SetupFailed(f"not converged within {SETUP_SECONDS:g}s of the agent's start; its log ends: "
                          f"{self.agent.tail()}")

    def make_faults(self) -> None:
        """Every kind once per round, in a shuffled order; a kind that could not be made is
        tried once more at the end of its round. Short runs hurry: while fewer rounds are done
        than `min_per_kind` spread over the duration asks, the gaps between faults shrink."""
        end = self.started + self.options.duration
        deck: list[str] = []
        retried: set[str] = set()
        rounds = 0
        while time.time() < end:
            if not deck:
                deck, retried, rounds = self.rng.sample(sorted(FAULTS), len(FAULTS)), set(), rounds + 1
            kind = deck.pop()
            outcome = FAULTS[kind](self)
            if outcome is not None:
                self.done.append((time.time(), kind, outcome))
            else:
                self.missed[kind] += 1
                if kind not in retried:
                    retried.add(kind)
                    deck.insert(0, kind)
            pace = self.options.min_per_kind * (time.time() - self.started) / self.options.duration
            behind = rounds - len(deck) / len(FAULTS) < pace
            self.wait(self.rng.uniform(*(HURRIED_GAP if behind else GAP)))

    def settle(self) -> None:
        """Fix every file, make sure the agent runs, and time the convergence (check 6)."""
        for file in self.desired.files:
            self.desired.fix(file)
        self._pending.clear()
        self.agent.start()
        stopped = time.time()
        output = ""
        while time.time() - stopped < oracle.CONVERGE_SECONDS:
            code, output = oracle.plan_exit(self.desired.root, self.namespace)
            if code == 0:
                self.converge_seconds = time.time() - stopped
                return
            self.wait(0.5)
        self.violate("no-convergence", f"plan still not empty {oracle.CONVERGE_SECONDS:g}s after the faults: "
                                       f"{' | '.join(output.splitlines()[-6:])}")

    def judge(self) -> None:
        now = time.time()
        self.violations += oracle.end_state(self.client, self.namespace, self.desired, now)
        holder = self.desired.files["c.toml"].container
        marker = oracle.read_marker(self.client, holder)
        if marker is None:
            self.violate("volume-data", f"the marker cannot be read through {holder}")
        elif marker != self.marker:
            self.violate("volume-data", f"the marker was {self.marker!r}, now {marker!r}")
        self.violations += oracle.unowned_present(self.client, *self.unowned, now)
        self.wait(0)
        code = self.agent.terminate()
        if code != 0:
            self.violate("agent-exit", f"SIGTERM: exit {code} (0 expected)")
        self.recorder.stop()
        if self.recorder.lost:
            self.violate("recording-lost", f"the engine's event stream ended early: {self.recorder.lost}")
        events = self.recorder.snapshot()
        if self.options.keep:
            (self.work / "events.jsonl").write_text("".join(json.dumps(asdict(e)) + "\n" for e in events))
        self.violations += oracle.touched_while_invalid(events, self.desired, self.removed, self.options.grace)
        self.violations += oracle.unowned_touched(events, self.unowned)
        self.violations += oracle.volume_destroyed(events, self.desired.volume)
        self.violations.sort(key=lambda v: v.time)

    def wait(self, seconds: float) -> None:
        """Sleep, meanwhile running what is due and noticing an agent that exited by itself
        (check 5: a violation; it is restarted)."""
        until = time.time() + seconds
        while True:
            now = time.time()
            due = [action for at, action in self._pending if at <= now]
            self._pending = [(at, action) for at, action in self._pending if at > now]
            for action in due:
                action()
            gone = self.agent.check()
            if gone is not None:
                self.violate("agent-exit", f"exit {gone.code} by itself; log: {' | '.join(gone.tail.splitlines())}")
                self.later(RESTART_AFTER_EXIT, self.agent.start)
            if now >= until:
                return
            time.sleep(min(0.05, until - now))

    def later(self, seconds: float, action: Callable[[], object]) -> None:
        self._pending.append((time.time() + seconds, action))

    def violate(self, kind: str, detail: str) -> None:
        self.violations.append(oracle.Violation(time.time(), kind, detail))

    def close(self) -> None:
        """Stop everything this campaign started and remove what it created; safe at any point."""
        self.agent.kill()
        self.recorder.stop()
        remove_everything(self.client, self.namespace, f"{self.namespace}-")
        for folder in LOCKS:
            for lock in folder.glob(f"{self.namespace}@*.lock"):
                lock.unlink(missing_ok=True)
        if not self.options.keep:
            shutil.rmtree(self.work, ignore_errors=True)


def remove_everything(client: docker.DockerClient, namespace: str, prefix: str) -> None:
    """Containers, networks and volumes labelled with `namespace` or named with `prefix`."""
    selectors = ({"label": f"{LABEL_MANAGED}={namespace}"}, {"name": prefix})
    for selector in selectors:
        for container in client.containers.list(all=True, sparse=True, filters=selector):
            _quietly(lambda c=container: c.remove(force=True))
    for selector in selectors:
        for network in client.networks.list(filters=selector):
            _quietly(network.remove)
        for volume in client.volumes.list(filters=selector):
            _quietly(lambda v=volume: v.remove(force=True))


def _quietly(action: Callable[[], object]) -> None:
    try:
        action()
    except docker.errors.NotFound:
        pass
