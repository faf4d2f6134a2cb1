"""The agent following a git repository (`reconciler run --git`) on the real engine: how fast a
pushed commit has its replacement running, with the webhook and with `--poll 1s`, beside the
engine's own floor, in one run.

Each round commits a new env value of one container (stop-first, the default order) in a work
tree, pushes it to a bare repository over `file://`, and starts the clock when the push returns;
with the webhook, a `POST /hook` follows at once. The round ends when the engine reports the
container of that name running with the new value (one inspect every 10 ms). Each round starts
from an idle agent whose status says the previous revision is applied, after a wait that grows by
a tenth of a second each round, so that the pushes spread over the poll interval (random waits
leave ten rounds' figure to the luck of the draw). The agent's log says when it had the
revision checked out, which splits each figure into fetching and converging.

The floor is the engine creating and starting a container of the same spec by itself, polled
the same way, with the stop of the previous one beside it (a stop-first replacement waits for it).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import docker.errors

from bench import agent_bench
from bench.fixtures import IMAGE, client, engine_url, median, remove_all
from reconciler.model import LABEL_MANAGED

NAMESPACE = "bench-git"
NAME = f"{NAMESPACE}-app"
ROUNDS = 10
POLL = "1s"
HOOK_POLL = "10m"  # with the webhook: no poll falls in the rounds, the hook alone fetches
GIT_IDENTITY = ("-c", "user.name=Reconciler Bench", "-c", "user.email=bench@reconciler.invalid",
                "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main")


def git(*args: str, cwd: Path | None = None) -> str:
    """Run the real git without an inherited GIT_* variable or a prompt; its stdout, stripped.
    Raises CalledProcessError."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    environment["GIT_TERMINAL_PROMPT"] = "0"
    done = subprocess.run(["git", *GIT_IDENTITY, *args], cwd=cwd, env=environment, capture_output=True, text=True,
                          timeout=60, check=True)
    return done.stdout.strip()


class Repository:
    """A bare repository at WORK/remote.git (the remote the agent follows, over file://) and a
    work tree at WORK/tree that commits the desired state and pushes it to branch main."""

    def __init__(self, work: Path) -> None:
        self.bare, self.tree = work / "remote.git", work / "tree"
        git("init", "--quiet", "--bare", str(self.bare))
        git("init", "--quiet", str(self.tree))
        git("remote", "add", "origin", str(self.bare), cwd=self.tree)
        self.url = f"file://{self.bare}"

    def commit(self, greeting: str) -> str:
        """Commit app.toml with the container's env value `greeting`; the new commit's full sha."""
        (self.tree / "app.toml").write_text(agent_bench.service(NAME, greeting))
        git("add", "app.toml", cwd=self.tree)
        git("commit", "--quiet", "-m", f"greeting {greeting}", cwd=self.tree)
        return git("rev-parse", "HEAD", cwd=self.tree)

    def push(self) -> None:
        git("push", "--quiet", "origin", "HEAD:refs/heads/main", cwd=self.tree)


class GitAgent(agent_bench.Agent):
    """`reconciler run --git URL` in namespace NAMESPACE, its state, status file and log in `work`,
    with a webhook listener on a port of 127.0.0.1 when `hook`; until `stop()`."""

    def __init__(self, work: Path, url: str, poll: str, hook: bool) -> None:
        self.status_file = work / "status.json"
        self.log_path = work / "agent.log"
        self.log = open(self.log_path, "wb")  # noqa: SIM115 (closed by stop)
        argv = [sys.executable, "-m", "reconciler", "--namespace", NAMESPACE, "run", "--git", url, "--poll", poll,
                "--interval", "30s", "--state-dir", str(work / "state"), "--api-socket", str(work / "api.sock"),
                "--status-addr", "127.0.0.1:0", "--status-file", str(self.status_file)]
        if hook:
            argv += ["--hook-addr", "127.0.0.1:0"]
        self.process = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        self.hook_url = f"http://127.0.0.1:{self.logged('hook.serving')['port']}/hook" if hook else None

    def logged(self, event: str, revision: str = "") -> dict:
        """The agent's first JSON log line of that event (and of that revision, a full sha, when
        given); waits for it 30 s at most."""
        def first() -> dict | None:
            complete = self.log_path.read_text().splitlines(keepends=True)
            records = (json.loads(line) for line in complete if line.startswith("{") and line.endswith("\n"))
            return next((r for r in records if r["event"] == event and revision.startswith(r.get("revision", ""))),
                        None)

        return agent_bench.until(first, 30, f"the agent logged {event} {revision[:12]}")

    def hook(self) -> None:
        """POST /hook, as a forge would after a push (loopback: no secret)."""
        with urllib.request.urlopen(urllib.request.Request(self.hook_url, data=b"{}", method="POST"), timeout=10):
            pass

    def applied(self, sha: str) -> None:
        """Wait until the status says `sha` is applied and the pass that applied it converged."""
        def done() -> bool:
            try:
                status = json.loads(self.status_file.read_text())
            except (OSError, ValueError):
                return False
            return (status.get("source") or {}).get("applied") == sha

        agent_bench.until(done, 60, f"revision {sha[:12]} applied")
        self.converged(1)

    def checked_out_at(self, sha: str) -> float:
        """When the agent logged `sha` checked out (wall clock, seconds since the epoch)."""
        return datetime.fromisoformat(self.logged("git.checked_out", sha)["timestamp"]).timestamp()


def runs(engine, greeting: str, before: str) -> Callable[[], bool]:
    """True once the container named NAME runs with env GREETING=`greeting` and is not `before`."""
    def check() -> bool:
        try:
            container = engine.api.inspect_container(NAME)
        except docker.errors.NotFound:  # between the old one's rename and the new one's
            return False
        return (container["Id"] != before and container["State"]["Running"]
                and f"GREETING={greeting}" in container["Config"]["Env"])

    return check


def pushed_to_running(engine, hook: bool) -> tuple[list[float], list[float]]:
    """(seconds from push to replacement running, of which push to checked out) per round, from
    a fresh repository and agent, with the webhook or else a 1 s poll."""
    work = Path(tempfile.mkdtemp(prefix="bench-git-"))
    repository = Repository(work)
    sha = repository.commit("start")
    repository.push()
    agent = GitAgent(work, repository.url, HOOK_POLL if hook else POLL, hook)
    try:
        agent.applied(sha)
        seconds, fetching = [], []
        for i in range(ROUNDS):
            time.sleep(agent_bench.SETTLE + i / ROUNDS)
            before = engine.api.inspect_container(NAME)["Id"]
            sha = repository.commit(f"round-{i}")
            repository.push()
            pushed, started = time.time(), time.perf_counter()
            if hook:
                agent.hook()
            agent_bench.until(runs(engine, f"round-{i}", before), 30, "the replacement running")
            seconds.append(time.perf_counter() - started)
            agent.applied(sha)
            fetching.append(agent.checked_out_at(sha) - pushed)
        return seconds, fetching
    finally:
        agent.stop()
        remove_all(engine, f"{LABEL_MANAGED}={NAMESPACE}")
        shutil.rmtree(work)


def floor(engine) -> tuple[list[float], list[float]]:
    """(create+start seconds, stop seconds) per round: the engine replacing a container of the
    same spec by itself, polled as the agent's rounds are; each round stops the previous one."""
    created, stopped, previous = [], [], None
    try:
        for i in range(ROUNDS):
            started = time.perf_counter()
            container = engine.api.create_container(
                IMAGE, command=["sleep", "3600"], name=f"{NAMESPACE}-floor-{i}", stop_timeout=1,
                environment={"GREETING": f"round-{i}"}, labels={LABEL_MANAGED: NAMESPACE},
                host_config=engine.api.create_host_config(init=True))
            engine.api.start(container["Id"])
            agent_bench.until(lambda ident=container["Id"]: engine.api.inspect_container(ident)["State"]["Running"],
                              30, "the floor's container running")
            created.append(time.perf_counter() - started)
            if previous is not None:
                started = time.perf_counter()
                engine.api.stop(previous, timeout=1)
                stopped.append(time.perf_counter() - started)
            previous = container["Id"]
        return created, stopped
    finally:
        remove_all(engine, f"{LABEL_MANAGED}={NAMESPACE}")


def main() -> list[str]:
    engine = client()
    name = agent_bench.engine_name()
    created, stopped = floor(engine)
    hooked, hook_fetch = pushed_to_running(engine, hook=True)
    polled, poll_fetch = pushed_to_running(engine, hook=False)
    spread = "median {:.2f} s (mean {:.2f}, min {:.2f}, max {:.2f}, {} rounds)".format

    def figure(values: list[float]) -> str:
        return spread(median(values), statistics.mean(values), min(values), max(values), len(values))

    return [
        f"engine: {name} at {engine_url()}",
        f"floor: create+start of the same spec: {figure(created)}; stop of the previous one: {figure(stopped)}",
        f"commit pushed -> replacement running, webhook: {figure(hooked)}; "
        f"overhead over create+start {median(hooked) - median(created):.2f} s",
        f"  of which pushed -> checked out: {figure(hook_fetch)}",
        f"commit pushed -> replacement running, --poll {POLL}: {figure(polled)}; "
        f"overhead over create+start {median(polled) - median(created):.2f} s",
        f"  of which pushed -> checked out: {figure(poll_fetch)}",
    ]
