"""Engine list answers -> observed types, without any per-resource call.

The container list carries no health or exit code fields, but its `Status` text does:
"Up 3 minutes (healthy)", "Up 2 seconds (health: starting)", "Exited (137) 5 seconds ago".
It carries no restart count either: `may_be_restarting` says which containers need an inspect.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from reconciler.model import is_owned
from runtime.base import ObservedContainer, ObservedNetwork, ObservedVolume

_HEALTH = re.compile(r"\((healthy|unhealthy|health: starting)\)")
_EXIT_CODE = re.compile(r"^Exited \((-?\d+)\)")
_UP_UNDER_A_MINUTE = re.compile(r"^Up (Less than a second|\d+ seconds?)\b")
_UP = re.compile(r"^Up (Less than a second|About an? (\w+)|(\d+) (\w+?)s?)\b")
_UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800, "month": 2592000,
                 "year": 31536000}
_DEFAULT_REGISTRY_PREFIXES = ("docker.io/library/", "docker.io/", "index.docker.io/library/")


def health_from_status(status: str) -> str | None:
    match = _HEALTH.search(status)
    if match is None:
        return None
    return "starting" if match.group(1) == "health: starting" else match.group(1)


def exit_code_from_status(status: str) -> int | None:
    match = _EXIT_CODE.match(status)
    return int(match.group(1)) if match else None


def up_seconds_from_status(status: str) -> float | None:
    """How long a container has been up, at least, from the list's Status text ("Up 3 minutes
    (healthy)" -> 180), as Docker writes it (go-units HumanDuration); None when not up."""
    match = _UP.match(status)
    if match is None:
        return None
    if match.group(1) == "Less than a second":
        return 0.0
    if match.group(2):
        return float(_UNIT_SECONDS.get(match.group(2), 0))
    return float(int(match.group(3)) * _UNIT_SECONDS.get(match.group(4), 0))


def may_be_restarting(entry: Mapping[str, Any]) -> bool:
    """Whether a listed container may be in a crash loop the engine runs: restarting now, or
    running for less than a minute ("Up Less than a second", "Up 1 second", "Up 42 seconds")."""
    state = entry.get("State")
    return state == "restarting" or (
        state == "running" and _UP_UNDER_A_MINUTE.match(entry.get("Status") or "") is not None
    )


def container_name(entry: Mapping[str, Any]) -> str:
    """The container's own name (legacy link names like /a/b are skipped)."""
    names = [n.lstrip("/") for n in entry.get("Names") or ()]
    own = [n for n in names if "/" not in n]
    return (own or names or [""])[0]


def sharing_stacks(network_modes: Mapping[str, str | None]) -> set[str]:
    """Ids of the containers that share another's network stack (`container:<id>`), and of those
    whose stack is shared, among the listed ones (`network_modes`: id -> HostConfig.NetworkMode,
    None where the engine does not say):
    their start times are read exactly (see `up_since`), since the Status text's uptime cannot
    order two starts within the same second or minute."""
    ids = set()
    for id, mode in network_modes.items():
        if mode and mode.startswith("container:"):
            ids.add(id)
            ids.update({mode.removeprefix("container:")} & set(network_modes))
    return ids


def _epoch(rfc3339: str) -> float:
    """Unix time of an engine timestamp (RFC 3339 with nanoseconds: "2026-11-30T09:41:18.123456789Z")."""
    return datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", rfc3339).replace("Z", "+00:00")).timestamp()


def up_since(inspected: Mapping[str, Any] | None, now: float) -> float | None:
    """Seconds a container has been running at `now` (unix time), from an inspect's
    State.StartedAt (RFC 3339 with nanoseconds); None when it is not running or was not inspected."""
    state = (inspected or {}).get("State") or {}
    if not state.get("Running") or not state.get("StartedAt"):
        return None
    return max(0.0, now - _epoch(state["StartedAt"]))


def container(entry: Mapping[str, Any], restart_count: int = 0, up_seconds: float | None = None,
              network_mode: str | None = None, limits: Mapping[str, Any] | None = None) -> ObservedContainer:
    """A list entry as observed; `restart_count`, an exact `up_seconds` and `limits` come from an
    inspect (the list has no restart count nor limits, and its uptime is coarse); `network_mode`,
    when given, stands for the list's (Podman lists none)."""
    status = entry.get("Status") or ""
    networks = (entry.get("NetworkSettings") or {}).get("Networks") or {}
    return ObservedContainer(
        id=entry["Id"],
        name=container_name(entry),
        labels=dict(entry.get("Labels") or {}),
        state=entry.get("State") or "unknown",
        health=health_from_status(status),
        image_id=entry.get("ImageID") or "",
        networks=frozenset(networks),
        created=float(entry.get("Created") or 0),
        exit_code=exit_code_from_status(status),
        network_mode=network_mode or (entry.get("HostConfig") or {}).get("NetworkMode"),
        restart_count=restart_count,
        volumes={m["Destination"]: m["Name"] for m in entry.get("Mounts") or ()
                 if m.get("Type") == "volume" and m.get("Name") and m.get("Destination")},
        binds=bind_sources(entry.get("Mounts")),
        up_seconds=up_seconds if up_seconds is not None else up_seconds_from_status(status),
        limits=limits,
    )


def bind_sources(mounts: Iterable[Mapping[str, Any]] | None) -> frozenset[str]:
    """The host paths of the bind mounts in a list's or an inspect's `Mounts`."""
    return frozenset(m["Source"] for m in mounts or () if m.get("Type") == "bind" and m.get("Source"))


def container_from_inspect(inspected: Mapping[str, Any], now: float) -> ObservedContainer:
    """An inspect answer as the container list would show it at `now` (unix time), with the
    restart count read as `may_be_restarting` says and the uptime exact (see `container`)."""
    state = inspected.get("State") or {}
    status = state.get("Status") or "unknown"
    up = up_since(inspected, now)
    restarting = status == "restarting" or (status == "running" and up is not None and up < 60)
    return ObservedContainer(
        id=inspected["Id"],
        name=(inspected.get("Name") or "").lstrip("/"),
        labels=dict((inspected.get("Config") or {}).get("Labels") or {}),
        state=status,
        health=((state.get("Health") or {}).get("Status") or None) if status == "running" else None,
        image_id=inspected.get("Image") or "",
        networks=frozenset((inspected.get("NetworkSettings") or {}).get("Networks") or {}),
        created=float(int(_epoch(inspected["Created"]))) if inspected.get("Created") else 0.0,
        exit_code=state.get("ExitCode") if status == "exited" else None,
        network_mode=(inspected.get("HostConfig") or {}).get("NetworkMode"),
        restart_count=(inspected.get("RestartCount") or 0) if restarting else 0,
        volumes={m["Destination"]: m["Name"] for m in inspected.get("Mounts") or ()
                 if m.get("Type") == "volume" and m.get("Name") and m.get("Destination")},
        binds=bind_sources(inspected.get("Mounts")),
        up_seconds=up,
    )


def network(entry: Mapping[str, Any]) -> ObservedNetwork:
    return ObservedNetwork(
        id=entry["Id"], name=entry["Name"], labels=dict(entry.get("Labels") or {}),
        driver=entry.get("Driver") or "",
    )


def volume(entry: Mapping[str, Any]) -> ObservedVolume:
    return ObservedVolume(
        name=entry["Name"], labels=dict(entry.get("Labels") or {}), driver=entry.get("Driver") or "",
        created=entry.get("CreatedAt") or "",
    )


def owned(entry: Mapping[str, Any], namespace: str) -> bool:
    """Whether a list entry of the engine (container, network, volume) is this namespace's on the
    host target: labelled for it and not held by Swarm (`model.is_owned`: an overlay network the
    Swarm target made carries its mark, one the host target made on a manager does not)."""
    return is_owned(entry.get("Labels"), namespace)


def unowned_names(
    entries: Iterable[Mapping[str, Any]], wanted: frozenset[str], namespace: str, name_of
) -> frozenset[str]:
    """The wanted names held by an entry that is not this namespace's (`owned`)."""
    return frozenset(name_of(e) for e in entries if name_of(e) in wanted and not owned(e, namespace))


def declared_volumes(image: Mapping[str, Any]) -> tuple[str, ...]:
    """The container paths an image inspect answer's config declares as VOLUME, sorted."""
    return tuple(sorted((image.get("Config") or {}).get("Volumes") or {}))


def normalise_reference(ref: str) -> str:
    """`ref` as the engine lists it in RepoTags or RepoDigests: the default registry dropped,
    `:latest` added to a name without tag or digest, and the tag dropped from `name:tag@digest`
    (the engine pulls and lists such an image by its digest alone: "name@digest")."""
    for prefix in _DEFAULT_REGISTRY_PREFIXES:
        if ref.startswith(prefix):
            ref = ref[len(prefix):]
            break
    name, at, digest = ref.partition("@")
    head, slash, last = name.rpartition("/")
    if at:
        return f"{head}{slash}{last.split(':', 1)[0]}@{digest}"
    if ":" not in last:
        ref += ":latest"
    return ref


def image_ids(entries: Iterable[Mapping[str, Any]], refs: Iterable[str]) -> dict[str, str]:
    """reference -> image id, for the references some listed image is tagged (or digested) as."""
    by_ref: dict[str, str] = {}
    for entry in entries:
        for tag in [*(entry.get("RepoTags") or ()), *(entry.get("RepoDigests") or ())]:
            by_ref[normalise_reference(tag)] = entry["Id"]
    found = {ref: by_ref.get(normalise_reference(ref)) for ref in refs}
    return {ref: image_id for ref, image_id in found.items() if image_id}
