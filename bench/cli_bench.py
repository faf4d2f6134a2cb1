"""The CLI as a user starts it: a no-op `reconciler plan` as a whole process, with N managed
containers converged, beside two floors measured in the same rounds: `python -c pass` (the
interpreter alone) and `docker ps` (the engine's own CLI listing them).

The plan runs with a state directory, as where an agent runs, so that its validation cache is
in use, and once more without one (a host where only the CLI ever ran). A third figure is the
import of the two modules every plan needs whatever it does (the pass and the Docker adapter,
with structlog and the docker SDK), the part of the start that the CLI's own imports do not
decide. Bytecode is compiled as in an installed wheel: PYTHONDONTWRITEBYTECODE is dropped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.fixtures import client, median, remove_all, timed, write_services
from reconciler.agent.statedir import StateDir

NAMESPACE = "bench-cli"
N = int(os.environ.get("BENCH_CONTAINERS", "100"))
ROUNDS = 20
SETTLED = 61.0  # seconds: an observation may inspect each container up for less than a minute
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def reconciler_command() -> list[str]:
    """The console script beside this interpreter, as a user runs it; else `python -m reconciler`."""
    script = Path(sys.executable).parent / "reconciler"
    return [str(script)] if script.exists() else [sys.executable, "-m", "reconciler"]


def run(command: list[str]) -> int:
    return subprocess.run(command, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode


def medians(commands: dict[str, list[str]], rounds: int = ROUNDS) -> dict[str, float]:
    """Median wall time of each command over `rounds` rounds, each of which runs every command
    once (so that a change in the machine's load weighs on all alike), after one run of each
    that warms the caches."""
    for command in commands.values():
        run(command)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(rounds):
        for name, command in commands.items():
            times[name].append(timed(lambda command=command: run(command)))
    return {name: median(found) for name, found in times.items()}


def plan_command(root: Path, state: Path) -> list[str]:
    return [*reconciler_command(), "--namespace", NAMESPACE, "--state-dir", str(state), "plan", str(root)]


def converge(root: Path, state: Path) -> None:
    """Apply the files once, then wait until every container is up for over a minute."""
    apply = [*reconciler_command(), "--namespace", NAMESPACE, "--state-dir", str(state), "apply", str(root)]
    if run(apply) != 0:
        raise SystemExit("cli bench: apply did not converge")
    time.sleep(SETTLED)
    if run([*plan_command(root, state), "--detailed-exitcode"]) != 0:
        raise SystemExit("cli bench: the plan after apply is not a no-op")


def figures(root: Path, work: Path) -> dict[str, float]:
    with_state, without_state = work / "state", work / "no-state"
    StateDir(with_state).create()
    converge(root, with_state)
    commands = {
        "plan": plan_command(root, with_state),
        "plan without a state directory": plan_command(root, without_state),
        "python -c pass": [sys.executable, "-c", "pass"],
        "imports": [sys.executable, "-c", "import reconciler.converge, runtime.docker"],
    }
    if shutil.which("docker"):
        commands["docker ps"] = ["docker", "ps"]
    return medians(commands)


def main() -> list[str]:
    work = Path(tempfile.mkdtemp(prefix="bench-cli-"))
    root = work / "desired"
    root.mkdir()
    write_services(N, root, prefix="cli")
    try:
        found = figures(root, work)
    finally:
        remove_all(client(), f"io.reconciler.managed={NAMESPACE}")
        shutil.rmtree(work)
    docker_ps = f"{found['docker ps']:.3f} s" if "docker ps" in found else "no docker CLI"
    return [
        f"no-op plan with {N} managed containers, whole process, median of {ROUNDS} rounds: {found['plan']:.3f} s "
        f"(validation cache in the state directory); {found['plan without a state directory']:.3f} s without "
        "a state directory",
        f"same run: python -c pass {found['python -c pass']:.3f} s; docker ps {docker_ps}; importing "
        f"reconciler.converge and runtime.docker alone {found['imports']:.3f} s",
    ]
