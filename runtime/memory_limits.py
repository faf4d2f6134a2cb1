"""The in-memory engine's resource limits, kept as Docker keeps them (the fields of
`model.IN_PLACE`, as `ObservedContainer.limits` reports them). Pure.

At create, a memory limit without a swap limit gets twice the memory as its swap limit (moby's
daemon adaptContainerSettings); an update sets what the spec declares and, like Docker's, refuses
a memory limit above the swap limit the container has unless the swap limit is set with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.model import ContainerSpec, in_place_values
from runtime.base import InvalidSpec

_MEMORY, _SWAP = "resources.memory", "resources.memswap_limit"


def created_limits(spec: ContainerSpec) -> dict[str, Any]:
    """The limits a container created from `spec` has."""
    limits = in_place_values(spec)
    if limits[_MEMORY] is not None and limits[_SWAP] is None:
        limits[_SWAP] = 2 * limits[_MEMORY]
    return limits


def updated_limits(current: Mapping[str, Any], spec: ContainerSpec, id: str) -> dict[str, Any]:
    """The limits after an update to what `spec` declares; InvalidSpec as Docker refuses it."""
    declared = {path: value for path, value in in_place_values(spec).items() if value is not None}
    swap = declared.get(_SWAP, current.get(_SWAP))
    memory = declared.get(_MEMORY)
    if memory is not None and swap is not None and swap > 0 and memory > swap:
        raise InvalidSpec(f"update container {id[:12]}: Cannot update container {id}: Memory limit should be "
                          "smaller than already set memoryswap limit, update the memoryswap at the same time")
    return {**current, **declared}
