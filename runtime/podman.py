"""Where Podman's Docker-compatible API (Podman 4.3) answers differently from Docker's.

The Docker adapter asks these functions whenever the probe (`runtime.capabilities`) found
Podman; each difference lives here once, named, with a test that shows it on a real Podman:

- The default network is named `podman`, not `bridge` (the observed state says `bridge`).
- The container list has no `HostConfig.NetworkMode` and no health in its `Status` text; the
  network mode of a container that joined no network is read with an inspect, the health from
  the libpod list (`GET /libpod/containers/json`, one call per observation).
- Event filters take Podman's own names (`died`, `remove`), while the events themselves say
  `die` and `remove` (an image's `remove` is Docker's `delete`); a network event names the
  container in `Actor.ID` and not the network.
- A network removed by its id goes even while containers use it: it is removed by its name,
  which Podman refuses while in use, as Docker does.
- Network options it does not know are dropped without a word (only the MTU and the bridge's
  name of Docker's bridge options are honoured): the adapter refuses them before the create.
- A tmpfs mount made without a mode gets mode 0 (Docker's default is 1777): the create body
  says 1777 unless the spec gives one.
- Some refusals come as a 500 with Podman's words, not as a 409 or 403 (`docker_errors`).
- Healthchecks run only from systemd timers: `GET /libpod/containers/{id}/healthcheck` runs the
  declared check once (an exec in the container) and records its result as the engine would.
- A push's stream has no `aux` line with the digest: only the status text "TAG: digest:
  sha256:... size: N" says it (Docker's stream has both).
- An image of several tags is not removed by its id (a 500 "by ID with more than one tag",
  where Docker answers a 409 "referenced in multiple repositories", even for two tags of one
  repository): the adapter untags it first, on both engines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from runtime.base import ObservedContainer
from runtime.capabilities import PODMAN_DEFAULT_NETWORK

LIBPOD_PREFIX = "/v4.0.0/libpod"
# Docker's event names -> what Podman's `event` filter matches (its own status names)
_FILTER_NAMES = {"die": "died", "destroy": "remove", "delete": "remove"}
# Podman's event actions -> Docker's, so the rest of the reconciler reads one vocabulary
_ACTIONS = {"remove": "destroy", "died": "die"}
_IMAGE_ACTIONS = {"remove": "delete"}
_HEALTH = frozenset({"healthy", "unhealthy", "starting"})
_PUSHED = re.compile(r"\bdigest: (sha256:[0-9a-f]{64}) size: \d+")


def event_filter(actions: Iterable[str]) -> list[str]:
    """The `event` filter values that select Docker's `actions` on Podman."""
    return sorted({_FILTER_NAMES.get(action, action) for action in actions})


def event_action(kind: str, action: str) -> str:
    """A Podman event's action in Docker's words: "remove" is "destroy", or for an image "delete"."""
    return (_IMAGE_ACTIONS if kind == "image" else _ACTIONS).get(action, action)


def network_event_container(raw: Mapping[str, Any]) -> str | None:
    """The container a Podman network event is about: its `Actor.ID` (Docker puts the network
    there and the container in `Actor.Attributes.container`)."""
    return (raw.get("Actor") or {}).get("ID") or None


def observed_network(name: str) -> str:
    """A network name as the rest of the reconciler speaks of it: Podman's default is `bridge`."""
    return "bridge" if name == PODMAN_DEFAULT_NETWORK else name


def health(entry: Mapping[str, Any]) -> str | None:
    """A libpod list entry's health: its `Status` is "healthy", "unhealthy", "starting", or ""
    for a container without a healthcheck."""
    status = entry.get("Status") or ""
    return status if status in _HEALTH else None


def needs_network_mode(entry: Mapping[str, Any]) -> bool:
    """Whether a container must be inspected for its network mode, from its libpod list entry:
    one on no network (host, none, another's stack) is the one whose mode matters. (The compat
    list has no `HostConfig`, and shows a container on another's stack with that one's networks.)"""
    return not entry.get("Networks")


def may_be_restarting(entry: Mapping[str, Any]) -> bool:
    """Whether a compat list entry is in Podman's `stopped` state: exited, and not yet cleaned
    up or started again by its restart policy (Podman has no `restarting` state)."""
    return entry.get("State") == "stopped"


def _will_restart(inspected: Mapping[str, Any]) -> bool:
    """Whether the restart policy of a `stopped` container (its inspect answer) starts it again."""
    policy = (inspected.get("HostConfig") or {}).get("RestartPolicy") or {}
    name = policy.get("Name") or ""
    if name in ("always", "unless-stopped"):
        return True
    limit = policy.get("MaximumRetryCount") or 0
    exit_code = (inspected.get("State") or {}).get("ExitCode") or 0
    return name == "on-failure" and exit_code != 0 and (limit == 0 or (inspected.get("RestartCount") or 0) < limit)


def observed_container(container: ObservedContainer, libpod: Mapping[str, Any] | None,
                       inspected: Mapping[str, Any] | None) -> ObservedContainer:
    """A container observed through the compat list, corrected with its libpod list entry (the
    networks it really joined, with the default one called `bridge`, and its health) and, for a
    `stopped` one, its inspect answer (`restarting` when its restart policy starts it again,
    else `exited`)."""
    state = container.state
    if state == "stopped":
        state = "restarting" if inspected is not None and _will_restart(inspected) else "exited"
    if libpod is None:
        return replace(container, state=state)
    networks = frozenset(observed_network(n) for n in libpod.get("Networks") or ())
    return replace(container, state=state, networks=networks, health=health(libpod))


def inspected_container(container: ObservedContainer, inspected: Mapping[str, Any]) -> ObservedContainer:
    """A container read from its compat inspect answer, as `observed_container` shows a listed
    one: the default network called `bridge`, the `stopped` state resolved, and the network
    mode only for a container on no network (as the list shows it)."""
    state = container.state
    if state == "stopped":
        state = "restarting" if _will_restart(inspected) else "exited"
    networks = frozenset(observed_network(n) for n in container.networks)
    return replace(container, state=state, networks=networks,
                   network_mode=None if networks else container.network_mode)


# Docker's bridge options Podman 4.3 maps onto its own, and Podman's own options
NETWORK_OPTIONS = frozenset({
    "com.docker.network.driver.mtu", "com.docker.network.bridge.name",
    "mtu", "vlan", "isolate", "metric", "mode", "parent",
})


def unsupported_network_options(options: Mapping[str, str]) -> list[str]:
    """The network options Podman 4.3 would drop silently, sorted."""
    return sorted(set(options) - NETWORK_OPTIONS)


TMPFS_MODE = 0o1777  # Docker's default mode of a tmpfs mount
UNLIMITED_PIDS = -1  # the Engine API's PidsLimit for "no limit" (0 means "the engine's default")


def container_body(body: dict[str, Any]) -> dict[str, Any]:
    """A create body with Docker's defaults that Podman does not apply spelled out: a tmpfs mount's
    mode, and no pids limit where none is declared (Podman would apply containers.conf's
    `pids_limit`, 2048 by default; -1 is "no limit" to both engines)."""
    mounts = [
        {**m, "TmpfsOptions": {"Mode": TMPFS_MODE, **(m.get("TmpfsOptions") or {})}} if m.get("Type") == "tmpfs" else m
        for m in body["HostConfig"].get("Mounts") or ()
    ]
    pids = body["HostConfig"].get("PidsLimit") or UNLIMITED_PIDS
    return {**body, "HostConfig": {**body["HostConfig"], "Mounts": mounts, "PidsLimit": pids}}


def healthcheck_path(container_id: str) -> str:
    """The libpod path that runs a container's healthcheck once and answers its status."""
    return f"{LIBPOD_PREFIX}/containers/{container_id}/healthcheck"


def list_path() -> str:
    return f"{LIBPOD_PREFIX}/containers/json"


def info_path() -> str:
    return f"{LIBPOD_PREFIX}/info"


def image_path(image_id: str) -> str:
    return f"{LIBPOD_PREFIX}/images/{image_id}/json"


def image_with_healthcheck(compat: Mapping[str, Any], libpod: Mapping[str, Any]) -> dict[str, Any]:
    """The compat API's image inspect with the image's healthcheck in Config.Healthcheck, where
    Podman 4.3 says it only in its libpod answer (top-level `Healthcheck`)."""
    config = dict(compat.get("Config") or {})
    if not config.get("Healthcheck") and libpod.get("Healthcheck"):
        config["Healthcheck"] = libpod["Healthcheck"]
    return {**compat, "Config": config}


def pushed_digest(line: Mapping[str, Any]) -> str | None:
    """The digest a push's status line says it pushed ("1: digest: sha256:... size: 427", as
    Podman 4.3 and Docker's CLI word it), or None for any other line."""
    found = _PUSHED.search(str(line.get("status") or ""))
    return found.group(1) if found else None
