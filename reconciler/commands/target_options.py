"""Options the Swarm target has no use for are refused, never silently dropped (docs/swarm.md).

`validate`, `plan`, `apply` and `run` share options with the host target; with `--target swarm` some of
them would change nothing (the Swarm pipeline and the agent's Swarm passes skip them), so giving
one is an error naming it and why, before anything is read or locked.
"""

from __future__ import annotations

from argparse import Namespace

_HOST_ID = ("--host-id", "host_id", "on Swarm, hosts are placement constraints on the nodes, not the view of one host")
_SECRETS_DIR = ("--secrets-dir", "secrets_dir", "Swarm mounts secrets and configs into each task itself; no file is "
                                                "written on this host")
_PRUNE_VOLUMES = ("--prune-volumes", "prune_volumes", "each node makes a named volume when a task mounts it; the "
                                                      "Swarm target never creates nor removes one")
_ADOPT = ("--adopt", "adopt", "a service is not taken over: remove or rename the unowned one")
_INVENTORY = ("--inventory", "inventory", "on Swarm, hosts are placement constraints on the nodes, not views of hosts")

# command -> (option, argparse destination, why Swarm has no use for it)
SWARM_IGNORED: dict[str, tuple[tuple[str, str, str], ...]] = {
    "validate": (_HOST_ID, _INVENTORY),
    "plan": (_HOST_ID, _PRUNE_VOLUMES, _ADOPT, _SECRETS_DIR),
    "apply": (_HOST_ID, _PRUNE_VOLUMES, _ADOPT, _SECRETS_DIR),
    "run": (
        ("--approve", "approve", "the agent on Swarm has no approval gate: each pass applies the files at once"),
        _HOST_ID,
        ("--image-retention", "image_retention", "each node keeps the images its tasks pulled; the agent on Swarm "
                                                 "removes none"),
        _SECRETS_DIR,
    ),
}


def refused(args: Namespace) -> str | None:
    """'--X does not apply to --target swarm: WHY' for the first option of SWARM_IGNORED[command]
    that `args` gives a value (not None, False nor an empty list) while `args.target` is swarm;
    None when there is none, or for the host target."""
    if getattr(args, "target", "host") != "swarm":
        return None
    for option, dest, why in SWARM_IGNORED.get(args.command, ()):
        value = getattr(args, dest, None)
        if not (value is None or value is False or value == []):  # (0 is a value: `--image-retention 0`)
            return f"{option} does not apply to --target swarm: {why}"
    return None
