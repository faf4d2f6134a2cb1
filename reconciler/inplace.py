"""In-place updates: the container fields the engine changes without a replacement. Pure.

The fields of `model.IN_PLACE` (memory, memory reservation, swap, cpus, cpu shares, cpuset, pids
limit, blkio weight, restart policy) are what Docker's `POST /containers/{id}/update` (`docker
update`) changes on a running container, keeping its id and its processes. Labels cannot change
on a container, so from canonical form 3 on the spec hash leaves them out, and these fields are
compared with what the engine's inspect reports (`ObservedContainer.limits`) instead.

A difference is an update (`% update container web (resources changed: resources.memory)`, with
`resources.memory: "64m" -> "128m"` under it) unless the engine has no update call (Podman 4.3:
`Capabilities.in_place_update`) or a declared value is removed: the update call reads a 0 as
"unchanged" (moby's container.UpdateContainer, as `runc update`), so a limit cannot be lifted in
place. Then the container is replaced, and the plan says why. An update the engine refuses at apply (a memory limit
under current use, a memory limit above the swap limit that the container got at create) falls
back to a replacement, planned beside it (`Task.fallback`).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from reconciler.changes import Cause, Reason
from reconciler.fielddiff import ADDED, CHANGED, REMOVED, FieldDiff
from reconciler.model import TOP_LEVEL_LIMITS, ContainerSpec, in_place_values
from runtime.base import ObservedContainer

# Fields whose values are byte counts, shown as the file writes them ("64m").
_SIZES = frozenset({"resources.memory", "resources.memory_reservation", "resources.memswap_limit"})
# Fields left out of the comparison while not declared: the engine gives them a value of its own
# (a container with a memory limit and no swap limit gets twice the memory as its swap limit).
_ENGINE_DEFAULTS = frozenset({"resources.memswap_limit"})
UNSET = "(unset)"
_UNITS = (("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10))


def differences(spec: ContainerSpec, have: ObservedContainer,
                declared_only: bool = False) -> tuple[tuple[str, Any, Any], ...]:
    """(path, the engine's value, the declared value) for each field of `model.IN_PLACE` that
    differs, in that order; () when the engine's values were not read (`limits` None). With
    `declared_only` (an engine without an update call, whose defaults differ: Podman gives a pids
    limit of 2048), only the fields `spec` declares are compared."""
    if have.limits is None:
        return ()
    found = []
    for path, want in in_place_values(spec).items():
        if want is None and (declared_only or path in _ENGINE_DEFAULTS):
            continue
        old = have.limits.get(path)
        if old != want:
            found.append((path, old, want))
    return tuple(found)


def show(path: str, value: Any) -> str:
    """A value as the file writes it: sizes in units ("64m"), `(unset)` for none."""
    if value is None:
        return UNSET
    if path in _SIZES and isinstance(value, int) and value > 0:
        unit = next(((suffix, size) for suffix, size in _UNITS if value % size == 0), None)
        return f"{value // unit[1]}{unit[0]}" if unit else str(value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def file_key(path: str) -> str:
    """A path of `model.IN_PLACE` as the file writes it: the limits Compose writes at the top
    level are keys of their own (`cpu_shares`, `memswap_limit`, `blkio_config.weight`)."""
    if path == "resources.blkio.weight":
        return "blkio_config.weight"
    field = path.removeprefix("resources.")
    return TOP_LEVEL_LIMITS.get(field, path) if path.startswith("resources.") else path


def resources_changed(found: tuple[tuple[str, Any, Any], ...]) -> Cause:
    """The cause that names the keys of `differences`: "resources changed: resources.memory"."""
    return Cause(Reason.RESOURCES_CHANGED, ", ".join(file_key(path) for path, _old, _new in found))


def field_diffs(found: tuple[tuple[str, Any, Any], ...]) -> tuple[FieldDiff, ...]:
    """`differences` as the lines printed under the change (`resources.memory: "64m" -> "128m"`):
    from what the engine runs to what the file declares; sizes in the file's units."""
    diffs = []
    for path, old, new in found:
        old_value, new_value = (value if value is None or path not in _SIZES else show(path, value)
                                for value in (old, new))
        op = ADDED if old is None else REMOVED if new is None else CHANGED
        diffs.append(FieldDiff(file_key(path), old_value, new_value, op))
    return tuple(diffs)


def not_updatable(found: tuple[tuple[str, Any, Any], ...], cannot_update: str,
                  hand: Collection[str] = ()) -> Cause | None:
    """Why `differences` cannot be made in place, or None: the engine has no update call
    (`cannot_update`, see `runtime.capabilities.update_refusal`), or a limit the file does not
    declare is to be lifted: one removed from the file, or one of `hand` (set by hand, `docker
    update --cpus`: "resources.cpus set by hand")."""
    if cannot_update:
        return Cause(Reason.NOT_UPDATABLE, cannot_update)
    removed = [f"{file_key(path)} set by hand" if path in hand else f"{file_key(path)} removed"
               for path, _old, new in found if new is None]
    if removed:
        return Cause(Reason.NOT_UPDATABLE, f"{', '.join(removed)} (the engine's update cannot lift a limit)")
    return None

