"""A container spec as a Swarm service: the Engine API's `ServiceSpec` body (API 1.41), rendered
field by field as docs/swarm.md lists them. Pure: no I/O, no clock.

JSON names and value forms are Docker's (moby api/types/swarm: service.go, task.go,
container.go); defaults follow docker/cli's compose conversion (cli/compose/convert/service.go).
Every path this module manages is always set, to null or an empty value when the file declares
nothing, so that `reconciler.swarm.compare.differences` sees a value the file no longer declares
(the engine reads null as unset). Durations are nanoseconds, as Swarm keeps them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from reconciler.desired.hosts import matches
from reconciler.fields import FileGrant, Healthcheck, Mount, PortMapping, UpdatePolicy
from reconciler.model import LABEL_PREFIX, LABEL_TARGET, TARGET_SWARM, ContainerSpec, SecretSpec, VolumeSpec
from reconciler.ownership import owned_labels
from runtime.swarm_base import ObservedNode

# The file's keys outside the spec hash that the service still renders (replicas, mode, ...), with
# their values or short hashes: what tells an edit of them from a change made by hand.
LABEL_SERVICE_KEYS = LABEL_PREFIX + "service-keys"
# A Swarm secret's or config's keyed hash of its value (`SecretSpec.digest`), never the value.
LABEL_SECRET_DIGEST = LABEL_PREFIX + "secret-digest"

NS = 1_000_000_000  # nanoseconds per second
NO_VOLUMES: Mapping[str, VolumeSpec] = MappingProxyType({})


def marked(labels: Mapping[str, str]) -> dict[str, str]:
    """`labels` with the Swarm target's mark (`model.LABEL_TARGET`), which every service, overlay
    network, secret and config this target creates carries: what it makes is never the host
    target's (`model.held_by_swarm`), and of overlay networks it owns only those carrying it."""
    return {**labels, LABEL_TARGET: TARGET_SWARM}


def object_name(spec: SecretSpec) -> str:
    """The Swarm secret's or config's name for a declared value: `NAME-<first 12 hex of its keyed
    digest>`, so that a new value is a new object (Swarm secrets and configs cannot change)."""
    return versioned_name(spec.name, spec.digest)


def versioned_name(name: str, digest: str) -> str:
    """`object_name` from a name and a keyed digest ("hmac-sha256:HEX"), as a grant carries them."""
    return f"{name}-{digest.rpartition(':')[2][:12]}"


def mode_name(mode: Mapping[str, Any] | None) -> str:
    """The service mode a ServiceSpec `Mode` holds: replicated | global | replicated-job | global-job
    (as `docker service ls` names them); "replicated" when the engine says nothing."""
    names = {"Replicated": "replicated", "Global": "global", "ReplicatedJob": "replicated-job",
             "GlobalJob": "global-job"}
    return next((names[key] for key in (mode or {}) if key in names), "replicated")


def constraints(hosts: tuple[str, ...], nodes: tuple[ObservedNode, ...]) -> list[str] | None:
    """Placement constraints for `hosts` patterns (globs: `reconciler.desired.hosts.matches`) over
    the swarm's nodes, each matched by its host name or by that name up to the first dot: none
    when every node matches (or no `hosts`), `node.id==ID` for exactly one, else `node.id!=ID` for
    each node that does not match (Swarm's constraints have no globs), sorted. None when no node
    matches."""
    if not hosts:
        return []
    chosen = {n.id for n in nodes if matches(hosts, n.hostname) or matches(hosts, n.hostname.split(".")[0])}
    if not chosen:
        return None
    if len(chosen) == 1 and len(nodes) > 1:
        return [f"node.id=={next(iter(chosen))}"]
    return sorted(f"node.id!={n.id}" for n in nodes if n.id not in chosen)


def service_keys(spec: ContainerSpec, volumes: Mapping[str, VolumeSpec] = NO_VOLUMES) -> dict[str, Any]:
    """The unhashed keys a service renders: `replicas`, `mode` and `state` as declared, `update`
    and `hosts` as short hashes (their values are in the spec), and `volumes`, a short hash of the
    `[volume.X]` declarations (of `volumes`) its mounts use, only when they use one."""
    def short(value: Any) -> str:
        return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:12]

    keys = {"replicas": spec.replicas, "mode": spec.mode, "state": spec.state,
            "update": short(dataclasses.asdict(spec.update)), "hosts": short(list(spec.hosts))}
    declared = mounted_volumes(spec, volumes)
    if declared:
        keys["volumes"] = short({name: {"driver": v.driver, "options": dict(v.options), "labels": dict(v.labels)}
                                 for name, v in declared.items()})
    return keys


def mounted_volumes(spec: ContainerSpec, volumes: Mapping[str, VolumeSpec]) -> dict[str, VolumeSpec]:
    """The declarations among `volumes` (name -> `[volume.X]`) that `spec`'s volume mounts name."""
    return {m.source: volumes[m.source] for m in spec.mounts if m.type == "volume" and m.source in volumes}


def render(spec: ContainerSpec, namespace: str, digest: str, nodes: tuple[ObservedNode, ...],
           volumes: Mapping[str, VolumeSpec] = NO_VOLUMES) -> dict[str, Any]:
    """The ServiceSpec body of `spec` in `namespace`: its image pinned to `digest` ("sha256:..."
    the manager resolved), placed on the `nodes` its `hosts` match, a volume mount of a name
    `volumes` declares carrying that declaration. ValueError when `hosts` match no node (the diff
    blocks such a service before rendering it)."""
    placement = constraints(spec.hosts, nodes)
    if placement is None:
        raise ValueError(f"hosts {list(spec.hosts)} match no node of the swarm")
    keys = json.dumps(service_keys(spec, volumes), sort_keys=True, separators=(",", ":"))
    labels = marked({**spec.labels, **owned_labels(spec, namespace), LABEL_SERVICE_KEYS: keys})
    job = spec.state == "completed"
    return {
        "Name": spec.name,
        "Labels": labels,
        "TaskTemplate": {
            "ContainerSpec": _container(spec, digest, volumes),
            "Resources": _resources(spec),
            "RestartPolicy": _restart(spec.restart, job),
            "Placement": {"Constraints": placement},
            "Networks": sorted(({"Target": n.name, "Aliases": list(n.aliases)} for n in spec.networks),
                               key=lambda n: n["Target"]),
            "LogDriver": {"Name": spec.logging.driver, "Options": dict(spec.logging.options)} if spec.logging else None,
        },
        "Mode": _mode(spec),
        # Swarm refuses an update or rollback configuration on a job (swarmkit's validateJob)
        "UpdateConfig": None if job else _rollout(spec.update, spec.update.failure_action),
        "RollbackConfig": None if job else _rollout(spec.update, _ROLLBACK_FAILURE[spec.update.failure_action]),
        "EndpointSpec": {"Ports": sorted((_port(p) for p in spec.ports),
                                         key=lambda p: (p["TargetPort"], p["Protocol"], p["PublishedPort"] or 0))},
    }


def image_ref(image: str, digest: str) -> str:
    """`REF@DIGEST`: the reference as written (a digest it already names replaced) pinned to `digest`."""
    return f"{image.partition('@')[0]}@{digest}"


def _container(spec: ContainerSpec, digest: str, volumes: Mapping[str, VolumeSpec]) -> dict[str, Any]:
    """TaskTemplate.ContainerSpec (moby api/types/swarm/container.go)."""
    dns = {"Nameservers": list(spec.dns), "Search": list(spec.dns_search), "Options": list(spec.dns_opt)}
    return {
        "Image": image_ref(spec.image, digest),
        "Labels": dict(spec.labels),  # the user's only: task containers carry no ownership label
        "Command": list(spec.entrypoint) if spec.entrypoint is not None else None,
        "Args": list(spec.command) if spec.command is not None else None,
        "Hostname": spec.hostname,
        "Env": sorted(f"{key}={value}" for key, value in spec.env.items()),
        "Dir": spec.working_dir,
        "User": spec.user,
        "Groups": list(spec.group_add),
        "Init": spec.init,
        "TTY": spec.tty,
        "OpenStdin": spec.stdin_open,
        "ReadOnly": spec.read_only,
        "Mounts": [_mount(m, volumes.get(m.source or "") if m.type == "volume" else None) for m in spec.mounts],
        "StopSignal": spec.stop_signal,
        "StopGracePeriod": spec.stop_timeout * NS if spec.stop_timeout is not None else None,
        "Healthcheck": _healthcheck(spec.healthcheck),
        # extra_hosts is "HOST:IP"; Swarm wants the hosts(5) form "IP HOST" (as docker/cli converts it)
        "Hosts": [f"{address} {host}" for host, _, address in (h.partition(":") for h in spec.extra_hosts)],
        "DNSConfig": dns if any(dns.values()) else None,
        "Secrets": [_grant(g, "Secret") for g in spec.secrets],
        "Configs": [_grant(g, "Config") for g in spec.configs],
        "Sysctls": dict(spec.sysctls),
        "CapabilityAdd": list(spec.cap_add),
        "CapabilityDrop": list(spec.cap_drop),
        "Ulimits": [{"Name": u.name, "Soft": u.soft, "Hard": u.hard} for u in spec.ulimits],
    }


def _mount(mount: Mount, volume: VolumeSpec | None) -> dict[str, Any]:
    """A mount (moby api/types/mount): a named volume is local to the node the task runs on, which
    makes it when a task first mounts it, from the mount's VolumeOptions: the `[volume.X]`
    declaration `volume` (None: none) gives its DriverConfig {Name: driver, Options} and its
    labels, as `docker stack deploy` does (docker/cli cli/compose/convert/volume.go); the mount's
    own labels are added over them."""
    body: dict[str, Any] = {"Type": mount.type, "Source": mount.source, "Target": mount.target,
                            "ReadOnly": mount.read_only}
    if mount.type == "volume":
        driver = {"Name": volume.driver, "Options": dict(volume.options)} if volume is not None else None
        labels = {**(volume.labels if volume is not None else {}), **mount.labels}
        body["VolumeOptions"] = {"NoCopy": mount.nocopy, "Labels": labels, "DriverConfig": driver}
    elif mount.type == "bind":
        body["BindOptions"] = {"Propagation": mount.propagation} if mount.propagation else None
    elif mount.type == "tmpfs":
        body["TmpfsOptions"] = {"SizeBytes": mount.tmpfs_size, "Mode": mount.tmpfs_mode}
    return body


def _grant(grant: FileGrant, kind: str) -> dict[str, Any]:
    """A SecretReference or ConfigReference by name (the adapter adds the id): the file at the
    grant's target, with its owner and mode (Swarm's UID and GID are strings)."""
    return {"File": {"Name": grant.target, "UID": str(grant.uid), "GID": str(grant.gid), "Mode": grant.mode},
            f"{kind}Name": versioned_name(grant.source, grant.digest)}


def _healthcheck(check: Healthcheck | None) -> dict[str, Any] | None:
    if check is None:
        return None
    return {"Test": list(check.test), "Interval": _ns(check.interval), "Timeout": _ns(check.timeout),
            "Retries": check.retries, "StartPeriod": _ns(check.start_period)}


def _resources(spec: ContainerSpec) -> dict[str, Any]:
    """Resources.Limits (MemoryBytes, NanoCPUs, Pids: API 1.41) and Reservations.MemoryBytes."""
    limits = spec.resources
    return {
        "Limits": {"MemoryBytes": limits.memory, "NanoCPUs": round(limits.cpus * NS) if limits.cpus else None,
                   "Pids": limits.pids_limit},
        "Reservations": {"MemoryBytes": limits.memory_reservation},
    }


def _restart(restart: str, job: bool) -> dict[str, Any]:
    """Compose's restart as Swarm's RestartPolicy (docker/cli convertRestartPolicy): always and
    unless-stopped -> any, on-failure[:N] -> on-failure with MaxAttempts N. `no` (the file's
    default, Docker's for a container) -> any for a service, Swarm's default that `docker stack
    deploy` leaves: a service keeps its declared tasks running, a task that dies is replaced; for a
    job (`job`: state = "completed", which runs once) `no` -> none, a failed task is not run again
    (Swarm reads any on a job as on-failure: a completed task is never run again, a failed one is)."""
    policy, _, attempts = restart.partition(":")
    condition = {"no": "none" if job else "any", "always": "any", "unless-stopped": "any",
                 "on-failure": "on-failure"}[policy]
    return {"Condition": condition, "MaxAttempts": int(attempts) if attempts else None}


def _mode(spec: ContainerSpec) -> dict[str, Any]:
    """Replicated (`replicas`; a stopped service runs none), Global, or for `state = "completed"`
    a job: ReplicatedJob with `replicas` completions, or GlobalJob."""
    if spec.state == "completed":
        if spec.mode == "global":
            return {"GlobalJob": {}}
        return {"ReplicatedJob": {"MaxConcurrent": spec.replicas, "TotalCompletions": spec.replicas}}
    if spec.mode == "global":
        return {"Global": {}}
    return {"Replicated": {"Replicas": 0 if spec.state == "stopped" else spec.replicas}}


# A rollback that fails cannot itself be rolled back: Swarm's RollbackConfig takes pause or continue.
_ROLLBACK_FAILURE = {"rollback": "pause", "pause": "pause", "continue": "continue"}


def _rollout(update: UpdatePolicy, failure_action: str) -> dict[str, Any]:
    """UpdateConfig or RollbackConfig from the file's `update` table (Compose's update_config)."""
    return {"Parallelism": update.parallelism, "Delay": _ns(update.delay), "FailureAction": failure_action,
            "Monitor": _ns(update.monitor), "MaxFailureRatio": 0, "Order": update.order}


def _port(port: PortMapping) -> dict[str, Any]:
    """An EndpointSpec port: published on every node through the routing mesh (ingress) or on
    the task's node (host); no published port: Swarm picks one (30000-32767) for ingress."""
    return {"Protocol": port.protocol, "TargetPort": port.container_port, "PublishedPort": port.host_port,
            "PublishMode": port.mode}


def _ns(seconds: float) -> int:
    return round(seconds * NS)
