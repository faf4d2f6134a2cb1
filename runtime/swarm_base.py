"""What the reconciler may ask of a Docker engine in Swarm mode (`--target swarm`), and what it
gets back: services instead of containers, overlay networks, Swarm secrets and configs, nodes.

Engine-neutral in the same way as `runtime.base`: the Swarm adapter (`runtime.swarm`) implements
`SwarmRuntime`, raises only the exceptions of `runtime.base` (and `NotManager`), and returns only
these observed types. Service specs travel as the Engine API's own `ServiceSpec` body (a plain
mapping, rendered by `reconciler.swarm.service_spec`), so nothing here restates Swarm's schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from runtime.base import EngineError, ObservedNetwork, RegistryAuth


class NotManager(EngineError):
    """The engine is not a Swarm manager (not in a swarm, or a worker): the message says which."""


@dataclass(frozen=True)
class ObservedNode:
    """One node of the swarm, as `GET /nodes` (`docker node ls`) gives it."""

    id: str
    hostname: str  # Description.Hostname: what `hosts` patterns match
    role: str = "manager"  # manager | worker
    availability: str = "active"  # active | pause | drain
    state: str = "ready"  # ready | down | unknown | disconnected


@dataclass(frozen=True)
class ObservedTasks:
    """The tasks of one service, counted as `docker service ls` does."""

    running: int = 0  # tasks whose state is running
    # the spec's replicas (a job's completions); a global service's tasks whose desired state is running
    desired: int = 0
    completed: int = 0  # tasks of a job that exited 0
    # the most recent failed or rejected task's Status.Err ("task: non-zero exit (1)"), else None
    last_error: str | None = None


@dataclass(frozen=True)
class ObservedService:
    """A service this namespace owns. `spec` is its inspect's `Spec`, normalised by the adapter so
    a rendered spec compares with it: network targets and secret and config references are by
    name (the engine keeps ids)."""

    id: str
    name: str
    version: int  # Version.Index: an update must name it (a stale one is refused: Conflict)
    labels: Mapping[str, str]  # Spec.Labels: ownership, spec hash and keys live here, not on tasks
    spec: Mapping[str, Any] = field(default_factory=dict, repr=False)
    # PreviousSpec normalised as `spec` is (None when there is none): what `docker service rollback`
    # and Swarm's own rollback go back to, so the secrets and configs it names must stay
    previous_spec: Mapping[str, Any] | None = field(default=None, repr=False)
    # UpdateStatus.State: updating | paused | completed | rollback_started | rollback_paused |
    # rollback_completed; None when the service was never updated
    update_state: str | None = None
    update_message: str = ""  # UpdateStatus.Message: Swarm's reason, e.g. for a rollback
    tasks: ObservedTasks = ObservedTasks()


@dataclass(frozen=True)
class ObservedObject:
    """A Swarm secret or config this namespace owns (their data is never read back)."""

    id: str
    name: str
    labels: Mapping[str, str]
    version: int = 0


@dataclass(frozen=True)
class SwarmState:
    """Owned services, overlay networks, secrets and configs of one namespace, the nodes, and the
    names asked about that something else holds."""

    services: tuple[ObservedService, ...] = ()
    networks: tuple[ObservedNetwork, ...] = ()
    secrets: tuple[ObservedObject, ...] = ()
    configs: tuple[ObservedObject, ...] = ()
    nodes: tuple[ObservedNode, ...] = ()
    # kind ("service", "network", "secret", "config") -> names asked about held by a resource this
    # namespace does not own
    unowned: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # owned overlay network name -> the services this namespace does not own attached to it (by
    # name): Swarm refuses to remove the network while they are
    network_users: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # image reference -> "sha256:..." of its manifest (list) as the manager resolved it at the
    # registry (`GET /distribution/{name}/json`); a reference absent here has none
    digests: Mapping[str, str] = field(default_factory=dict)
    # image reference -> why the manager could not resolve it (no registry has it, auth refused)
    digest_errors: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Lease:
    """The config object `reconciler-lease-<namespace>` that one agent per cluster holds: who, and
    until when (seconds since the epoch), in its labels; `version` for a compare-and-swap."""

    id: str
    version: int
    holder: str
    expires: float


class SwarmRuntime(Protocol):
    """A Docker engine that is a Swarm manager. Every method raises EngineUnavailable when the
    engine cannot be reached, NotFound for a resource gone, Conflict for a taken name or a stale
    version, InvalidSpec when Swarm refuses a spec."""

    def ping(self) -> None: ...

    def manager(self) -> str:
        """The node id of this manager; NotManager when the engine is not one."""

    def engine(self) -> Mapping[str, Any]:
        """What the engine is, as the agent's status shows it under `engine`: the fields of
        `runtime.capabilities.Capabilities.describe()` and `swarm` (role, node_id, cluster_id,
        nodes, managers)."""

    def observe_swarm(self, namespace: str, names: Mapping[str, tuple[str, ...]],
                      images: frozenset[str], auth: Mapping[str, RegistryAuth] | None = None) -> SwarmState:
        """Owned resources of `namespace`, the nodes, which of `names` (kind -> names) others hold,
        and the registry digest of each of `images` (credentials per reference in `auth`)."""

    def service(self, service_id: str) -> ObservedService:
        """One service, fresh (to follow an update, or re-check its labels before a remove)."""

    def create_service(self, spec: Mapping[str, Any], auth: RegistryAuth | None = None) -> str:
        """Create a service from a rendered ServiceSpec; returns its id."""

    def update_service(self, service_id: str, version: int, spec: Mapping[str, Any],
                       auth: RegistryAuth | None = None) -> None:
        """Replace the spec of a service at `version` (Swarm rolls its tasks by its update config)."""

    def remove_service(self, service_id: str) -> None: ...

    def create_network(self, name: str, driver: str, labels: Mapping[str, str], *, attachable: bool = True,
                       internal: bool = False, subnet: str | None = None, gateway: str | None = None,
                       ip_range: str | None = None, options: Mapping[str, str] | None = None) -> str:
        """Create a swarm-scoped network (overlay); returns its id."""

    def remove_network(self, network_id: str) -> None: ...

    def create_secret(self, name: str, data: bytes, labels: Mapping[str, str]) -> str: ...

    def remove_secret(self, secret_id: str) -> None: ...

    def create_config(self, name: str, data: bytes, labels: Mapping[str, str]) -> str: ...

    def remove_config(self, config_id: str) -> None: ...

    def read_lease(self, name: str) -> Lease | None:
        """The lease config `name`, or None when there is none."""

    def write_lease(self, name: str, lease: Lease | None, holder: str, expires: float) -> Lease:
        """Take or renew the lease: create it when `lease` is None, else update its labels at
        `lease.version`. Conflict when another agent wrote it meanwhile (or created it first)."""

    def cluster_key(self, name: str) -> bytes | None:
        """The data of the config `name` (the cluster's key of secrets' keyed hashes), or None when
        there is none."""

    def create_cluster_key(self, name: str, data: bytes) -> bytes:
        """Create the config `name` holding `data`; the key in force: `data`, or, when another
        created it first (Conflict on create), the data of theirs."""
