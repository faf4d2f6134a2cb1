"""The fault kinds. Each is `fault(campaign) -> Done | None`: None when it could not be made now
(no valid file, no running container, a replacement that did not come); the campaign counts only
the faults that happened.

The campaign object gives: `rng`, `desired`, `agent`, `recorder`, `client`, `namespace`,
`removed` (ids of containers the campaign removed itself), `second_command`, `wait(seconds)`,
`later(seconds, action)` and `violate(kind, detail)`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import docker

from bench.chaos.agent import second_agent
from bench.chaos.desired import INVALID_KINDS
from bench.chaos.events import LABEL_MANAGED, NEXT_SUFFIX, Event

REPLACEMENT_TIMEOUT = 10.0  # s to wait for an aimed replacement to reach its step
BROKEN_SECONDS = (2.0, 6.0)  # how long a file stays invalid
RESTART_AFTER_KILL = (0.5, 4.0)  # s before the agent is restarted after a random SIGKILL
RESTART_AFTER_AIM = (0.0, 1.0)


@dataclass(frozen=True)
class Done:
    """A fault made: what it did; `landed` is False for an aimed kill that came after a later step."""

    detail: str
    landed: bool = True


def sigkill_agent(c) -> Done | None:
    if not c.agent.running():
        return None
    c.agent.kill()
    delay = c.rng.uniform(*RESTART_AFTER_KILL)
    c.later(delay, c.agent.start)
    return Done(f"SIGKILL, restart in {delay:.1f}s")


class Aim:
    """A trigger for the recorder: kills the agent at the event that shows `step` of a replacement
    of container `name`. create: the create of NAME--next-OLDID; stop: the death of OLDID (stopped,
    not yet renamed); rename: OLDID renamed out of the way (the new one not yet named NAME);
    remove: the destroy of OLDID."""

    ACTIONS = {"stop": "die", "rename": "rename", "remove": "destroy"}

    def __init__(self, name: str, step: str, kill) -> None:
        self.name, self.step, self.kill = name, step, kill
        self.old: str | None = None
        self.hit: Event | None = None
        self.killed_at = 0.0
        self.fired = threading.Event()

    def __call__(self, event: Event) -> bool:
        if event.type != "container":
            return False
        if self.old is None:
            if event.action != "create" or not event.name.startswith(self.name + NEXT_SUFFIX):
                return False
            self.old = event.name.removeprefix(self.name + NEXT_SUFFIX)
            if self.step != "create":
                return False
        elif not (event.id.startswith(self.old) and event.action == self.ACTIONS[self.step]):
            return False
        self.killed_at = self.kill()
        self.hit = event
        self.fired.set()
        return True

    def overshoot(self, events: list[Event]) -> list[str]:
        """Steps of this replacement the engine made between the aimed event and the kill."""
        return [e.action for e in events
                if e.type == "container" and self.hit.time < e.time <= self.killed_at
                and (e.id.startswith(self.old) or e.name.startswith(self.name))]


def aimed_kill(step: str):
    def fault(c) -> Done | None:
        file = _valid_file(c)
        if file is None:
            return None
        c.agent.start()
        aim = Aim(c.desired.files[file].container, step, c.agent.kill)
        c.recorder.arm(aim)
        generation = c.desired.edit(file)
        deadline = time.monotonic() + REPLACEMENT_TIMEOUT
        while not aim.fired.is_set() and time.monotonic() < deadline:
            c.wait(0.05)
        c.recorder.arm(None)
        if not aim.fired.is_set():
            return None
        c.later(c.rng.uniform(*RESTART_AFTER_AIM), c.agent.start)
        c.wait(0.3)
        late = aim.overshoot(c.recorder.snapshot())
        where = f"{file} GEN={generation}: SIGKILL at {aim.hit.describe()}"
        return Done(where + (f", late by {', '.join(late)}" if late else ""), landed=not late)

    return fault


def break_file(kind: str):
    def fault(c) -> Done | None:
        file = _valid_file(c)
        if file is None:
            return None
        what = c.desired.break_file(file, kind, c.rng)
        seconds = c.rng.uniform(*BROKEN_SECONDS)
        c.later(seconds, lambda: c.desired.fix(file))
        return Done(f"{file} {what}, fixed after {seconds:.1f}s")

    return fault


def valid_edit(c) -> Done | None:
    file = _valid_file(c)
    return None if file is None else Done(f"{file} GEN={c.desired.edit(file)}")


def _valid_file(c) -> str | None:
    files = c.desired.valid_files()
    return c.rng.choice(files) if files else None


def _owned(c, running: bool) -> list:
    """The owned containers that carry a declared name (running ones only, if asked), by name."""
    declared = set(c.desired.containers())
    # the list alone: inspecting each (docker-py's `list`) fails on Podman for one being removed
    listed = c.client.api.containers(all=True, filters={"label": f"{LABEL_MANAGED}={c.namespace}"})
    found = [c.client.containers.prepare_model({**entry, "Name": entry["Names"][0]}) for entry in listed]
    return sorted((x for x in found if x.name in declared and (x.attrs["State"] == "running" or not running)),
                  key=lambda x: x.name)


def engine_action(action: str):
    """docker kill (SIGKILL), docker stop, docker rm -f of an owned container with its declared name."""

    def fault(c) -> Done | None:
        candidates = _owned(c, running=action != "rm")
        if not candidates:
            return None
        container = c.rng.choice(candidates)
        try:
            if action == "kill":
                container.kill()
            elif action == "stop":
                container.stop(timeout=1)
            else:
                c.removed.add(container.id)
                container.remove(force=True)
        except docker.errors.APIError:
            return None
        return Done(f"docker {action} {container.name}")

    return fault


def disconnect(c) -> Done | None:
    network = c.desired.network
    attached = [x for x in _owned(c, running=True)
                if network in ((x.attrs.get("NetworkSettings") or {}).get("Networks") or {})]
    if not attached:
        return None
    container = c.rng.choice(attached)
    try:
        c.client.api.disconnect_container_from_network(container.id, network)
    except docker.errors.APIError:
        return None
    return Done(f"disconnect {container.name} from {network}")


def second(c) -> Done | None:
    c.agent.start()
    if not c.agent.ready():
        return None
    code, output = second_agent(c.second_command)
    said = output.splitlines()[-1] if output else ""
    if code is None or code == 0:
        c.violate("second-agent", f"a second agent {'kept running' if code is None else 'exited 0'}: {said}")
    return Done(f"second agent: exit {code}: {said}")


FAULTS = {
    "agent-sigkill": sigkill_agent,
    **{f"aim-{step}": aimed_kill(step) for step in ("create", "stop", "rename", "remove")},
    **{f"invalid-{kind}": break_file(kind) for kind in INVALID_KINDS},
    "valid-edit": valid_edit,
    "docker-kill": engine_action("kill"),
    "docker-stop": engine_action("stop"),
    "docker-rm": engine_action("rm"),
    "disconnect": disconnect,
    "second-agent": second,
}
