"""The rules of one Swarm pass beyond the desired and observed state, as one value (the Swarm
target's counterpart of `reconciler.options.PlanOptions`). Built by the CLI and the agent; read
only by `reconciler.swarm.diff` and `reconciler.swarm.plan`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SwarmOptions:
    """What a Swarm pass may do and what it must hold back.

    - `allow_empty`: allow removing every owned service when the files declare none (`--allow-empty`).
    - `invalid_files`: desired files (relative paths) that exist but do not validate: what they
      declare is frozen, and no removal runs while any is invalid (as on one host).
    - `held`: "kind/name" -> why the agent holds it back this pass (backoff, a failed update):
      the task and whatever comes after it are blocked with that reason.
    - `not_leader`: why this process may not change the swarm ("lease held by HOLDER until T"):
      every task is blocked with it; None when it holds the lease (or needs none: `plan`).
    """

    allow_empty: bool = False
    invalid_files: frozenset[str] = frozenset()
    held: Mapping[str, str] = field(default_factory=dict)
    not_leader: str | None = None


DEFAULT = SwarmOptions()
