"""Networks that would get more containers than a Linux bridge takes: a check across files.

A Linux bridge holds at most 1023 interfaces (the kernel's BR_MAX_PORTS is 1024, port 0 is not
used); the start of the 1024th container on one bridge network fails with "exchange full". Each
container on a bridge network (the default `bridge` included) takes one interface of it, so a
desired state that puts more than 1000 containers on one such network gets a warning (not an
error: some may be stopped or run to completion), placed at the first container past 1000.
"""

from __future__ import annotations

from reconciler.desired.problems import Problem
from reconciler.model import ContainerSpec, DesiredState

LIMIT = 1000


def _members(state: DesiredState) -> dict[str, list[ContainerSpec]]:
    """Network name -> the containers that join it, for the bridge networks (declared with the
    bridge driver, the default one, or not declared here: an external network is taken as one)."""
    members: dict[str, list[ContainerSpec]] = {}
    for spec in state.containers.values():
        joined = [a.name for a in spec.networks]
        if not joined and spec.network_mode in (None, "bridge"):
            joined = ["bridge"]
        for name in joined:
            declared = state.networks.get(name)
            if declared is None or declared.driver == "bridge":
                members.setdefault(name, []).append(spec)
    return members


def crowded(state: DesiredState) -> list[Problem]:
    """A warning for each bridge network that more than LIMIT containers would join."""
    warnings = []
    for name, specs in sorted(_members(state).items()):
        if len(specs) > LIMIT:
            past = specs[LIMIT]
            warnings.append(Problem(
                past.source.file, past.source.line, f"container.{past.name}",
                f"network '{name}' would get {len(specs)} containers: a Linux bridge holds at most 1023 "
                "interfaces (\"exchange full\" from then on); spread them over several networks"))
    return warnings
