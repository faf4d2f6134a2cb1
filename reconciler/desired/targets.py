"""What the host target (the default `--target host`) cannot run of the file format's Swarm keys
(docs/swarm.md): one host runs one container per `[container.NAME]`, so `replicas` other than 1
and `mode = "global"` are errors there. A port's `mode` and `update`'s Swarm keys are accepted and
ignored on one host: they change nothing one host does.

On the host target the loader refuses them as it does any other invalid value (`load(...,
target="host")`: `normalize.container` reports `host_errors` of each container), so that
`validate`, `plan`, `apply` and the agent report them with the file's other errors, sorted by file
and line, and the agent never keeps such a file as last-known-good. `host_target` checks a state
already loaded (the import's check of the files it writes); `--target swarm` runs
`reconciler.swarm.checks` instead.
"""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.desired.hosts import Place
from reconciler.desired.problems import Problem
from reconciler.model import TARGET_SWARM, ContainerSpec, DesiredState

HOST = "host"
SWARM = TARGET_SWARM  # also the value of the Swarm target's mark, model.LABEL_TARGET


def host_errors(spec: ContainerSpec) -> Iterator[tuple[str, str]]:
    """(key, message) of each Swarm-only value of the container `spec` one host cannot run."""
    if spec.replicas != 1:
        yield "replicas", (f"replicas = {spec.replicas}: only --target swarm runs several tasks (or none); "
                           "on one host a container is one")
    if spec.mode != "replicated":
        yield "mode", (f'mode = "{spec.mode}": only --target swarm runs a task on each node; '
                       "on one host a container is one")


def host_target(state: DesiredState, place: Place) -> list[Problem]:
    """The errors of the Swarm-only values one host cannot run, each placed at its key
    (`place(spec, key path, message)`, as `desired.hosts.placer` gives it)."""
    return [place(spec, ("container", spec.name, key), message)
            for spec in state.containers.values() for key, message in host_errors(spec)]
