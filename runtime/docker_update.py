"""The fields of `model.IN_PLACE` on the Engine API: read from an inspect answer, and the body of
`POST /containers/{id}/update` (Engine API 1.41 ContainerUpdate: the Resources fields and
RestartPolicy). Pure.

The engine reports a field it leaves unset as 0 or "" (PidsLimit as null, 0 or -1), and a restart
policy of "no" as "no" or "": those read as None and "no", as a spec declares them. The update
body holds the fields the spec declares only, since the engine reads a 0 as "unchanged".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.model import ContainerSpec, in_place_values
from runtime.docker_specs import NANOS, restart_policy

# path of model.IN_PLACE -> the HostConfig field that holds it (restart apart)
_FIELDS = {"resources.memory": "Memory", "resources.memory_reservation": "MemoryReservation",
           "resources.memswap_limit": "MemorySwap", "resources.cpus": "NanoCpus", "resources.cpu_shares": "CpuShares",
           "resources.cpuset": "CpusetCpus", "resources.pids_limit": "PidsLimit",
           "resources.blkio.weight": "BlkioWeight"}


def _restart(policy: Mapping[str, Any] | None) -> str:
    """A RestartPolicy as the file writes it: "no", "always", "unless-stopped", "on-failure[:N]"."""
    name = (policy or {}).get("Name") or "no"
    count = (policy or {}).get("MaximumRetryCount") or 0
    return f"{name}:{count}" if name == "on-failure" and count else name


def limits(inspected: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of `model.IN_PLACE` of a container inspect answer, path -> value as a spec
    declares it (`ObservedContainer.limits`)."""
    host = inspected.get("HostConfig") or {}
    found: dict[str, Any] = {path: host.get(name) or None for path, name in _FIELDS.items()}
    if (found["resources.pids_limit"] or 0) < 0:  # -1: no limit, as the file says by leaving it out
        found["resources.pids_limit"] = None
    if found["resources.cpus"] is not None:
        found["resources.cpus"] = found["resources.cpus"] / NANOS
    return {**found, "restart": _restart(host.get("RestartPolicy"))}


def update_body(spec: ContainerSpec) -> dict[str, Any]:
    """The body of `POST /containers/{id}/update` that sets what `spec` declares of `model.IN_PLACE`."""
    values = in_place_values(spec)
    body = {name: values[path] for path, name in _FIELDS.items() if values[path] is not None}
    if "NanoCpus" in body:
        body["NanoCpus"] = int(round(body["NanoCpus"] * NANOS))
    return {**body, "RestartPolicy": restart_policy(spec.restart)}


class KnownLimits:
    """The limits of the owned containers, read once per container and then kept (an observation
    costs no inspect per container): seeded from the create body of the containers this adapter
    makes, dropped after an update call, and forgotten on an `update` event (a `docker update` by
    hand) or when the event stream was lost (`forget`). Thread-safe enough: one dict, whole values."""

    def __init__(self) -> None:
        self._by_id: dict[str, dict[str, Any]] = {}

    def read(self, ids: set[str], inspected: dict[str, dict | None], inspect) -> dict[str, dict[str, Any] | None]:
        """Container id -> its limits (None when it is gone), for `ids`: from this observation's
        inspect answers (`inspected`, fresh), else as kept, else by `inspect(id)` (added to
        `inspected`); what is no longer listed is dropped."""
        for id in ids - self._by_id.keys() - inspected.keys():
            inspected[id] = inspect(id)
        fresh = {id: limits(answer) for id, answer in inspected.items() if id in ids and answer is not None}
        self._by_id = {id: value for id, value in {**self._by_id, **fresh}.items() if id in ids}
        return {id: self._by_id.get(id) for id in ids}

    def created(self, id: str, body: Mapping[str, Any]) -> None:
        """A container this adapter created from the create `body`: its limits as sent."""
        self._by_id[id] = limits(body)

    def forget(self, id: str | None = None) -> None:
        """Read the limits of container `id` (None: of every container) again on the next observation."""
        if id is None:
            self._by_id = {}
        else:
            self._by_id.pop(id, None)
