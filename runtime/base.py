"""What the reconciler may ask of a container engine, and what it gets back.

Everything here is engine-neutral: the Docker adapter and the in-memory engine both implement
`Runtime`, raise only the exceptions below, and return only these observed types.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from reconciler.fields import Build, Hook
from reconciler.model import ContainerSpec, NetworkSpec, VolumeSpec
from runtime.capabilities import Capabilities


class EngineError(Exception):
    """Base of every error the runtime raises; carries the engine's own message."""


class NotFound(EngineError):
    """The resource does not exist (any more)."""


class Conflict(EngineError):
    """The name is taken, or the resource is in a state that forbids the operation."""


class EngineUnavailable(EngineError):
    """The engine cannot be reached, or answered with a server error it may recover from."""


class Forbidden(EngineError):
    """The engine refuses the operation (HTTP 403): a network that still has endpoints, an
    authorization plugin's veto. Not a name conflict: nothing is gained by re-observing."""


class InvalidSpec(EngineError):
    """The engine refused the spec (bad value, missing image, unknown driver...)."""


class BuildFailed(EngineError):
    """A build failed: the message is "build REF: " and the builder's last lines."""


class WaitTimeout(EngineError):
    """A container did not reach the awaited condition in time."""


@dataclass(frozen=True)
class ObservedConfig:
    """What a container was created with, as its inspect's `Config` says (fixed for the life of a
    container id, so read once per id), beside its image's own defaults: what `reconciler.drift`
    compares with the declared spec. Env values may be secrets: kept out of every repr."""

    env: Mapping[str, str] = field(default_factory=dict, repr=False)  # Config.Env, "K=V" split at the first "="
    image_env: Mapping[str, str] = field(default_factory=dict, repr=False)  # the image's Config.Env
    command: tuple[str, ...] | None = None  # Config.Cmd (None: the engine says none)
    entrypoint: tuple[str, ...] | None = None  # Config.Entrypoint
    user: str = ""  # Config.User
    working_dir: str = ""  # Config.WorkingDir


@dataclass(frozen=True)
class ObservedContainer:
    id: str
    name: str  # the engine's name, without a leading slash
    labels: Mapping[str, str]
    state: str  # created | running | paused | restarting | removing | exited | dead
    health: str | None  # starting | healthy | unhealthy | None when there is no healthcheck
    image_id: str
    networks: frozenset[str]
    created: float  # seconds since the epoch
    exit_code: int | None = None
    # HostConfig.NetworkMode as the engine keeps it: "default", "bridge", "host", "none", a network
    # name (the first of the spec's networks), or "container:<full id>" (a container:NAME given
    # at create names the id NAME had then); None when the engine does not say (Podman says it
    # only for containers on no network: host, none and container:<id>)
    network_mode: str | None = None
    # How often the engine's restart policy has restarted it (RestartCount) since it was last
    # started by a call (start_container, or by hand), which sets the count back to 0. Read only
    # for the containers that may be in a crash loop the engine runs: state "restarting", or
    # "running" and up for less than a minute; 0 for every other container, whatever the count.
    restart_count: int = 0
    # container path -> name of the volume the engine has mounted there (named or anonymous), as
    # the container list gives it (its `Mounts`); binds and tmpfs are not listed
    volumes: Mapping[str, str] = field(default_factory=dict)
    # the host paths of its bind mounts, as the engine has them (a git source's content copies
    # are pruned only when no container mounts them)
    binds: frozenset[str] = frozenset()
    # how long it has been running, in seconds; None when it is not running. Exact for containers
    # that share a network stack (`container:<id>`) and their targets, whose starts must be
    # ordered; else at least what the list says ("Up 3 minutes": 180)
    up_seconds: float | None = None
    # the fields of `model.IN_PLACE` as the engine's inspect reports them, path -> value (None:
    # unset; "resources.memory": bytes, "resources.cpus": CPUs, "restart": "on-failure:3"), what
    # `reconciler.inplace` compares with the declared values; None when they were not read
    limits: Mapping[str, Any] | None = None
    # what it was created with (env, command, ...), for drift (`reconciler.drift`); None: not read
    config: ObservedConfig | None = None


@dataclass(frozen=True)
class ExecResult:
    """How a command run in a container with exec ended (`Runtime.exec_hook`): `exit_code` is None
    when it was still running at the time limit; `output` is the end of its stdout and stderr,
    interleaved, decoded as UTF-8 (bad bytes replaced); `seconds` how long it ran, or was waited for."""

    exit_code: int | None
    output: str
    seconds: float


@dataclass(frozen=True)
class ObservedNetwork:
    id: str
    name: str
    labels: Mapping[str, str]
    driver: str = "bridge"


@dataclass(frozen=True)
class ObservedVolume:
    name: str
    labels: Mapping[str, str]
    driver: str = "local"
    # the engine's CreatedAt (RFC 3339): a volume has no id, and this tells it from a volume of
    # the same name made later (what an adoption record is keyed by); "" when the engine does not say
    created: str = ""


@dataclass(frozen=True)
class UnownedContainer:
    """A container this namespace does not own that holds a declared name, or a parked name of
    one (`NAME--prev-ID`: an adoption interrupted), as its inspect tells: what an adoption
    compares with the declared spec. Env values are never read, only their names (they may be
    secrets)."""

    observed: ObservedContainer
    image: str = ""  # Config.Image: the reference it was created from
    command: tuple[str, ...] = ()  # Config.Cmd
    entrypoint: tuple[str, ...] = ()  # Config.Entrypoint
    env_keys: frozenset[str] = frozenset()  # the names of Config.Env
    ports: frozenset[str] = frozenset()  # HostConfig.PortBindings as "HOST_PORT:PORT/PROTO" ("8080:80/tcp")
    restart: str = "no"  # HostConfig.RestartPolicy.Name ("" is "no")
    binds: Mapping[str, str] = field(default_factory=dict)  # container path -> host path of its bind mounts
    image_labels: Mapping[str, str] = field(default_factory=dict)  # its image's Config.Labels (it inherits them)


@dataclass(frozen=True)
class ObservedState:
    """Owned resources of one namespace, plus desired names held by anything else."""

    containers: tuple[ObservedContainer, ...] = ()
    networks: tuple[ObservedNetwork, ...] = ()
    volumes: tuple[ObservedVolume, ...] = ()
    # kind -> names that were asked about and are held by a resource this namespace does not own
    unowned: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # image reference -> image id, for the references asked about that exist locally
    images: Mapping[str, str] = field(default_factory=dict)
    # image reference -> the container paths its image's config declares as VOLUME, sorted
    # (empty when it declares none); for the same references as `images`
    image_volumes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # "kind/name" -> why the engine cannot honour that desired resource as declared, naming the
    # engine and its version (see `Runtime.refused`)
    refused: Mapping[str, str] = field(default_factory=dict)
    # the unowned holders of the names asked about, in full (what adoption needs): containers
    # holding a name of kind "container", or of kind "adopt" (asked even while an owned container
    # holds it), or a parked name of one of those (`NAME--prev-ID`); networks; volumes
    unowned_containers: tuple[UnownedContainer, ...] = ()
    unowned_networks: tuple[ObservedNetwork, ...] = ()
    unowned_volumes: tuple[ObservedVolume, ...] = ()
    # why the engine cannot update a container in place (`runtime.capabilities.update_refusal`):
    # a change of the fields of `model.IN_PLACE` replaces it instead; "" when it can
    cannot_update: str = ""


@dataclass(frozen=True)
class ImportSource:
    """What `reconciler import containers` reads of an engine, as its API answers (Engine API
    1.41 inspect shapes, Podman's compat API alike): the inspect of each container asked for,
    the inspect of each one's image (by image id), of the user networks and volumes they use
    (by name), `names` (container id -> name, to name a `container:<id>` reference), and `info`
    (GET /info: the engine's default log driver, runtime and cgroup version)."""

    engine: str  # "docker" | "podman"
    containers: tuple[Mapping[str, Any], ...] = ()
    images: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    networks: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    volumes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    names: Mapping[str, str] = field(default_factory=dict)
    info: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    """An engine event, whoever owns its resource: a hint that something changed, nothing more
    (the agent's informer decides what it concerns)."""

    kind: str  # container | network | volume | image | engine (ENGINE_RECONNECTED)
    action: str  # create | start | die | stop | destroy | health_status | connect | ... (Docker's words)
    name: str  # the resource's name; a network event's names the network on Docker, the container on Podman
    id: str
    # a container event's attributes: its container's labels, and the engine's own keys (name, image...)
    attributes: Mapping[str, str] = field(default_factory=dict)
    container: str = ""  # the id of the container a network connect or disconnect is about


# kind -> the event actions a runtime yields (Docker's words)
EVENT_ACTIONS = {
    "container": ("create", "start", "die", "kill", "oom", "stop", "destroy", "rename", "update", "health_status",
                  "pause", "unpause"),
    "network": ("create", "destroy", "connect", "disconnect"),
    "volume": ("create", "destroy"),
    "image": ("pull", "tag", "untag", "delete", "import", "load"),
}

# The event stream was lost and is open again: what happened meanwhile is unknown, a pass is due.
ENGINE_RECONNECTED = Event(kind="engine", action="reconnected", name="", id="")


@dataclass(frozen=True)
class Progress:
    """One update of an image transfer, from the engine's JSON progress stream (Docker's
    jsonmessage lines: `id`, `status`, `progressDetail`). `action` is pull, build or push; `ref`
    the image reference; `layer` the layer id, "" for a line about the whole image ("Pulling
    from ...", "Digest: sha256:..."); `status` the engine's words ("Downloading", "Pull
    complete"); `current` and `total` in bytes when the engine says them."""

    ref: str
    layer: str
    status: str
    current: int | None = None
    total: int | None = None
    action: str = "pull"


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class RegistryAuth:
    """Credentials for one registry, as a pull hands them to the engine (Docker's AuthConfig, sent
    as the X-Registry-Auth header, which Podman's compatible API reads too): a user name and
    password, or an identity token (a registry's OAuth refresh token, which Docker's config.json
    keeps as `identitytoken`). `server` is the registry as Docker names it (`host[:port]`, or
    `https://index.docker.io/v1/`). The secret parts never show in a repr."""

    username: str = ""
    password: str = field(default="", repr=False)
    identity_token: str = field(default="", repr=False)
    server: str = ""

    def engine_form(self) -> dict[str, str]:
        """The AuthConfig fields the engine's pull reads (API 1.41, POST /images/create)."""
        form = {"serveraddress": self.server} if self.server else {}
        if self.identity_token:
            return {**form, "identitytoken": self.identity_token}
        return {**form, "username": self.username, "password": self.password}


class Runtime(Protocol):
    def ping(self) -> None:
        """Raise EngineUnavailable unless the engine answers."""

    @property
    def capabilities(self) -> Capabilities:
        """What the engine is and can do (docs/engines.md); EngineUnavailable before it answers."""

    def observe(
        self,
        namespace: str,
        names: Mapping[str, Iterable[str]] = {},
        images: Iterable[str] = (),
    ) -> ObservedState:
        """Owned resources of `namespace`; `names` maps kind -> desired names to check for
        unowned holders (kind "adopt": container names to adopt, whose unowned holders and parked
        `NAME--prev-ID` unowned containers are returned even while an owned container holds the
        name); `images` are references to resolve, with the volumes they declare. Unowned holders
        are returned in full (`ObservedState.unowned_*`), containers read by one inspect each.
        A constant number of engine calls, plus one per image id never seen before and one per
        container that may be in a crash loop (see `ObservedContainer.restart_count`), that
        shares a network stack (see `ObservedContainer.up_seconds`), or whose limits are not known
        yet (see `ObservedContainer.limits`: read once, then kept until an update)."""

    def refused(self, spec: NetworkSpec | ContainerSpec) -> str | None:
        """Why the engine cannot honour `spec` as declared ("podman 4.3.1 does not honour the
        network option(s) ...", `runtime.honoured` for containers), or None; asked before
        anything is created (docs/engines.md)."""

    def create_container(self, spec: ContainerSpec, name: str, labels: Mapping[str, str]) -> str:
        """Create (not start) a container named `name` from `spec`, with `labels` added to the
        spec's own labels. Networks named in the spec are resolved by name. Returns its id."""

    def update_container(self, id: str, spec: ContainerSpec) -> None:
        """Set the fields of `model.IN_PLACE` that `spec` declares on the container `id`, which
        keeps its id and keeps running (Docker's POST /containers/{id}/update, `docker update`).
        InvalidSpec "update container ID: ..." when the engine refuses (a memory limit under current
        use, or above the swap limit the container has) or cannot update at all (Podman 4.3);
        NotFound when it is gone."""

    def start_container(self, id: str) -> None: ...

    def stop_container(self, id: str, timeout: float | None = None) -> None: ...

    def remove_container(self, id: str) -> None:
        """Force-remove, keeping its volumes. NotFound if already gone."""

    def rename_container(self, id: str, name: str) -> None: ...

    def container_labels(self, id: str) -> Mapping[str, str]:
        """The labels of one container, read fresh (for the ownership check before a remove)."""

    def containers_labelled(self, label: str, value: str) -> tuple[tuple[str, Mapping[str, str]], ...]:
        """(name, labels) of every container, running or not and whoever owns it, whose label
        `label` is `value` (the containers of a Compose project: `com.docker.compose.project`),
        sorted by name; one engine call."""

    def exec_hook(self, id: str, hook: Hook, timeout: float) -> ExecResult:
        """Run `hook.command` in the running container `id` with exec (Compose's post_start and
        pre_stop), as `hook.user` (default: the container's user), in `hook.working_dir` (default:
        the container's), with `hook.env` added to the container's environment, privileged when
        `hook.privileged`; wait for it at most `timeout` seconds (a command still running then is
        left running: the engine cannot stop an exec). NotFound when the container is gone,
        Conflict when it is not running; a command that cannot be started (not in the image) is
        an ExecResult with the engine's exit code (126 or 127), as `docker exec` reports it."""

    def connect_network(self, network: str, container_id: str, aliases: tuple[str, ...] = (),
                        ipv4_address: str | None = None) -> None: ...

    def disconnect_network(self, network: str, container_id: str) -> None: ...

    def create_network(self, spec: NetworkSpec, labels: Mapping[str, str]) -> str: ...

    def remove_network(self, id: str) -> None: ...

    def network_labels(self, id: str) -> Mapping[str, str]: ...

    def create_volume(self, spec: VolumeSpec, labels: Mapping[str, str]) -> str: ...

    def remove_volume(self, name: str) -> None: ...

    def volume_labels(self, name: str) -> Mapping[str, str]: ...

    def resolve_image(self, ref: str) -> str | None:
        """The id of the local image `ref` names, or None when it is not present."""

    def image_digests(self, ref: str) -> tuple[str, ...]:
        """The `RepoDigests` of the local image `ref` names ("reg/app@sha256:...", one per
        repository it was pulled from or pushed to); () when it has none (built, imported, only
        tagged) or is not present, and always on Podman 4.3, whose RepoDigests pair every name of
        an image with the digests of its local manifests, so they never tell a pull from a tag."""

    def pull_image(self, ref: str, progress: ProgressCallback | None = None, auth: RegistryAuth | None = None) -> str:
        """Pull `ref` from its registry, with `auth` when given (else the engine's client default:
        anonymous, or what the SDK finds in the process's own Docker config); returns the image id.
        InvalidSpec "pull REF: ..." when the registry refuses (unauthorized, unknown manifest) or
        cannot be reached; the message never holds the credentials."""

    def build_image(self, build: Build, tags: tuple[str, ...], progress: ProgressCallback | None = None) -> str:
        """Build `build` with the engine's classic builder (no BuildKit) from the files the docker SDK
        sends (see runtime.docker_context), tag the image with each of `tags` ("repo:tag"), and return
        its id. BuildFailed "build TAG: " with the builder's last lines when the build fails."""

    def push_image(self, ref: str, progress: ProgressCallback | None = None, auth: RegistryAuth | None = None) -> str:
        """Push the local image `ref` to its registry (with `auth` when given); returns the digest
        pushed ("sha256:..."). InvalidSpec "push REF: ..." when the registry refuses or cannot be
        reached; the message never holds the credentials."""

    def remove_image(self, id: str, repository: str | None = None) -> int:
        """Remove the local image `id` without forcing, as `docker rmi` without `-f` does; returns
        its size in bytes as the engine lists it (layers it shares with other images stay). An
        image whose tags all lie in `repository` ("localhost/app": a built image tagged `image`
        and its build tag) is untagged first, as `docker rmi TAG` does, since both engines refuse
        to remove by id an image of several tags. Conflict when the engine refuses: a container
        (running or not) uses it, it is tagged in another repository, or another image is built
        on it; NotFound when it is gone."""

    def images_in_use(self) -> frozenset[str]:
        """The image ids of every container on the engine, whoever owns it and whatever its state."""

    def wait_container(self, id: str, condition: str, timeout: float) -> None:
        """Block until the container is `running`, `healthy` or `exited` (exit code 0 for
        `completed`). Raise WaitTimeout, or InvalidSpec when it can never get there (it exited
        while we waited for running/healthy, or became unhealthy)."""

    def inspect_containers(self, ids: Iterable[str]) -> tuple[ObservedContainer, ...]:
        """The containers `ids` name, whoever owns them, read now, one call each, as `observe`
        would see them (`up_seconds` exact); those that are gone are left out."""

    def import_source(self, names: Sequence[str]) -> ImportSource:
        """What `import containers` needs of the containers `names` (every running one when empty).
        Raises NotFound naming the first of `names` the engine has no container of."""

    def events(self, namespace: str, stop: Callable[[], bool]) -> Iterator[Event]:
        """Every container, network, volume and image event, whoever owns its resource (an
        unowned container may take a desired name), from the moment of this call until `stop()`
        is true; the actions of `EVENT_ACTIONS`. Survives an engine restart by reconnecting
        (then yields ENGINE_RECONNECTED); yields nothing while the engine is away. Where the
        engine runs no healthchecks, it runs those of `namespace`'s containers meanwhile."""
