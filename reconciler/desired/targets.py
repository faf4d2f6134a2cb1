"""What the host target (the default `--target host`) cannot run of the file format's Swarm keys
(docs/swarm.md): one host runs one container per `[container.NAME]`, so `replicas` other than 1
and `mode = "global"` are errors there. A port's `mode` and `update`'s Swarm keys are accepted and
ignored on one host: they change nothing one host does.

`validate`, `plan`, `apply` (through `commands.context.host_view`) and the agent (`agent.loop`)
call `host_target` on the host target only; `--target swarm` runs `reconciler.swarm.checks`
instead.
"""

from __future__ import annotations

from reconciler.desired.hosts import Place
from reconciler.desired.problems import Problem
from reconciler.model import DesiredState


def host_target(state: DesiredState, place: Place) -> list[Problem]:
    """The errors of the Swarm-only values one host cannot run, each placed at its key
    (`place(spec, key path, message)`, as `desired.hosts.placer` gives it)."""
    problems = []
    for spec in state.containers.values():
        if spec.replicas != 1:
            problems.append(place(spec, ("container", spec.name, "replicas"),
                                  f"replicas = {spec.replicas}: only --target swarm runs several tasks (or none); "
                                  "on one host a container is one"))
        if spec.mode != "replicated":
            problems.append(place(spec, ("container", spec.name, "mode"),
                                  f'mode = "{spec.mode}": only --target swarm runs a task on each node; '
                                  "on one host a container is one"))
    return problems
