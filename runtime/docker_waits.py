"""The Docker adapter's waits and healthchecks: `DockerWaits`, the part of `DockerRuntime` that
waits for a container's condition, watches a new container through its update monitor, and runs
declared healthchecks itself where the engine does not (Podman without systemd).

A mixin: the class that inherits it gives `api` (the `docker.APIClient`), `capabilities`, `_get`
(a GET on a path of the engine's API), `_inspect`, `_libpod_list` and `_check_intervals`
(container id -> healthcheck interval, filled here). Every engine call goes through
`engine_errors()`, so only runtime.base exceptions leave it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import docker

from reconciler.model import LABEL_MANAGED
from runtime import docker_observe as parse
from runtime import podman
from runtime.base import InvalidSpec, WaitTimeout
from runtime.capabilities import Capabilities
from runtime.conditions import reached
from runtime.docker_errors import engine_errors
from runtime.healthchecks import interval_of, run_forever

POLL_INTERVAL = 0.1


class DockerWaits:
    api: docker.APIClient
    capabilities: Capabilities
    _check_intervals: dict[str, float | None]
    _get: Callable[..., Any]
    _inspect: Callable[[str], dict | None]
    _libpod_list: Callable[[Mapping[str, str]], dict[str, dict]]

    def wait_container(self, id: str, condition: str, timeout: float) -> None:
        if condition == "stable":
            return self._watch(id, timeout)
        deadline = time.monotonic() + timeout
        runs_check = condition == "healthy" and not self.capabilities.runs_healthchecks
        next_check = None
        while True:
            with engine_errors():
                inspected = self.api.inspect_container(id)
            state = inspected["State"]
            if runs_check and state.get("Status") == "running":
                interval = self._check_interval(id)
                now = time.time()
                if next_check is None and interval is not None:
                    next_check = now + max(0.0, interval - (parse.up_since(inspected, now) or 0.0))
                if next_check is not None and interval is not None and now >= next_check:
                    self.run_healthcheck(id)
                    next_check = time.time() + interval
                    continue
            health = (state.get("Health") or {}).get("Status")
            if reached(condition, state.get("Status", ""), health, state.get("ExitCode")):
                return
            if time.monotonic() >= deadline:
                raise WaitTimeout(f"container {id[:12]} not {condition} after {timeout:g}s")
            time.sleep(POLL_INTERVAL)

    def _watch(self, id: str, seconds: float) -> None:
        """Return once the container has kept running for `seconds` from now; InvalidSpec as soon
        as it exits or its restart policy restarts it (Swarm's update monitor)."""
        deadline = time.monotonic() + seconds
        restarts = None
        while True:
            with engine_errors():
                inspected = self.api.inspect_container(id)
            state = inspected["State"]
            count = inspected.get("RestartCount") or 0
            restarts = count if restarts is None else restarts
            if state.get("Status") in ("exited", "dead"):
                raise InvalidSpec(f"exited with code {state.get('ExitCode')} within {seconds:g}s of its start")
            if state.get("Status") == "restarting" or count > restarts:
                raise InvalidSpec(f"exited and was restarted within {seconds:g}s of its start")
            if time.monotonic() >= deadline:
                return None
            time.sleep(POLL_INTERVAL)

    def run_healthcheck(self, id: str) -> str | None:
        """Run a container's declared healthcheck once, through the engine (Podman's libpod
        API), which records the result; returns the health it then has."""
        with engine_errors():
            return self._get(self.api, podman.healthcheck_path(id)).get("Status") or None

    def health(self, id: str) -> str | None:
        """A container's health as the engine keeps it now; None without a check, or gone."""
        inspected = self._inspect(id)
        return (((inspected or {}).get("State") or {}).get("Health") or {}).get("Status") or None

    def _check_interval(self, id: str) -> float | None:
        """A container's healthcheck interval in seconds (None: no check), inspected once."""
        try:
            return self._check_intervals[id]  # (the healthcheck thread may prune it meanwhile)
        except KeyError:
            pass
        inspected = self._inspect(id)
        interval = interval_of(((inspected or {}).get("Config") or {}).get("Healthcheck"))
        self._check_intervals[id] = interval
        return interval

    def _running_checks(self, namespace: str) -> dict[str, tuple[float, float]]:
        """Container id -> (started at, check interval) for the running containers of
        `namespace` that declare a healthcheck (from Podman's libpod list)."""
        with engine_errors():
            entries = self._libpod_list({"label": f"{LABEL_MANAGED}={namespace}", "status": "running"})
        found = {}
        self._check_intervals = {id: every for id, every in self._check_intervals.items() if id in entries}
        for id, entry in entries.items():
            interval = self._check_interval(id) if podman.health(entry) else None
            if interval is not None:
                found[id] = (float(entry.get("StartedAt") or 0), interval)
        return found

    def start_healthchecks(self, namespace: str, stop: Callable[[], bool]) -> None:
        """Where the engine runs no healthchecks, run those of `namespace`'s running containers
        at their interval in a thread, until `stop()` (see runtime.healthchecks)."""
        if self.capabilities.runs_healthchecks:
            return
        threading.Thread(
            target=run_forever, args=(lambda: self._running_checks(namespace), self.run_healthcheck, stop),
            name=f"healthchecks-{namespace}", daemon=True,
        ).start()
