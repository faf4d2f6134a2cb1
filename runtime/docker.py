"""The Docker Engine adapter: `Runtime` on the `docker` SDK's low-level API client.

This module holds the connection, observation, containers, networks, volumes and events; the
image operations are `runtime.docker_images.DockerImages`, the waits and healthchecks
`runtime.docker_waits.DockerWaits`, both inherited by `DockerRuntime`.

Every engine call goes through `engine_errors()`, so only runtime.base exceptions leave this
module. The client is made on first use: an engine that is down when the agent starts is an
`EngineUnavailable` on the first call, not a crash at construction.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

import docker
import docker.errors
import requests

from reconciler.fields import Hook
from reconciler.model import LABEL_MANAGED, ContainerSpec, NetworkSpec, VolumeSpec, is_owned
from runtime import docker_import_read, host_cgroups, podman
from runtime import docker_observe as parse
from runtime import unowned as adoptable
from runtime.base import (
    Conflict,
    EngineError,
    Event,
    ExecResult,
    Forbidden,
    ImportSource,
    InvalidSpec,
    NotFound,
    ObservedConfig,
    ObservedContainer,
    ObservedState,
    UnownedContainer,
)
from runtime.capabilities import DOCKER, PODMAN, Capabilities, is_podman, probe, update_refusal
from runtime.docker_config import DockerConfigs
from runtime.docker_errors import engine_errors
from runtime.docker_events import watch
from runtime.docker_exec import run_exec
from runtime.docker_images import DockerImages
from runtime.docker_specs import container_body, network_kwargs, volume_kwargs
from runtime.docker_update import KnownLimits, limits, update_body
from runtime.docker_waits import DockerWaits
from runtime.honoured import container_refusal

POLL_INTERVAL = 0.1
# A swarm-scoped (overlay) network a manager removed stays listed until the node's agent follows:
# ~0.2 s on Docker 20.10. `remove_network` waits at most this long for it to go.
NETWORK_GONE_SECONDS = 10.0


class DockerRuntime(DockerImages, DockerWaits, DockerConfigs):
    def __init__(self, url: str | None = None, timeout: float = 60.0, max_pool_size: int = 16):
        self._url = url
        self._timeout = timeout
        self._max_pool_size = max_pool_size
        self._client: docker.DockerClient | None = None
        self._capabilities: Capabilities | None = None
        self._lock = threading.Lock()
        self._declared_volumes: dict[str, tuple[str, ...]] = {}  # image id -> VOLUME paths
        self._check_intervals: dict[str, float | None] = {}  # container id -> healthcheck interval
        self._network_mode_of: dict[str, str | None] = {}  # container id -> NetworkMode (Podman)
        self.limits = KnownLimits()  # container id -> its limits (ObservedContainer.limits)
        self._configs: dict[str, ObservedConfig] = {}  # container id -> what it was created with (drift)
        self._image_envs: dict[str, dict[str, str]] = {}  # image id -> its Config.Env (drift)

    @property
    def api(self) -> docker.APIClient:
        """The SDK's low-level client (API version negotiated with the engine, and the engine
        probed for its capabilities, on first use)."""
        return self._connect().api

    def _connect(self) -> docker.DockerClient:
        with self._lock:
            if self._client is None:
                options = {"version": "auto", "timeout": self._timeout, "max_pool_size": self._max_pool_size}
                with engine_errors():
                    if self._url is None:
                        client = docker.from_env(**options)
                    else:
                        client = docker.DockerClient(base_url=self._url, **options)
                    version = client.api.version()
                    info = self._get(client.api, podman.info_path()) if is_podman(version) else None
                    kernel = client.api.info()
                kind = PODMAN if is_podman(version) else DOCKER
                on_host = host_cgroups.read(self._url or os.environ.get("DOCKER_HOST"), kind, kernel)
                self._capabilities = probe(version, info, kernel, **on_host)
                self._client = client
            return self._client

    @property
    def capabilities(self) -> Capabilities:
        """What the engine is and can do (asked once, on first contact). EngineUnavailable when
        it has never answered."""
        self._connect()
        assert self._capabilities is not None
        return self._capabilities

    @property
    def _podman(self) -> bool:
        return self.capabilities.kind == PODMAN

    @staticmethod
    def _get(api: docker.APIClient, path: str, **params) -> dict | list:
        """GET a path outside the SDK's calls (Podman's libpod API); engine errors as the SDK's."""
        response = api.get(api.base_url + path, params=params)
        try:
            response.raise_for_status()
        except requests.HTTPError as error:
            docker.errors.create_api_error_from_http_exception(error)
        return response.json()

    def ping(self) -> None:
        with engine_errors():
            self.api.ping()

    def observe(
        self, namespace: str, names: Mapping[str, Iterable[str]] = {}, images: Iterable[str] = ()
    ) -> ObservedState:
        owned = {"label": f"{LABEL_MANAGED}={namespace}"}
        wanted = {kind: frozenset(found) for kind, found in names.items()}
        refs = tuple(images)
        api = self.api
        with engine_errors():
            # the label filter also lists what carries our labels but Swarm holds: is_owned drops it
            containers = [c for c in api.containers(all=True, filters=owned) if is_owned(c.get("Labels"), namespace)]
            networks = [n for n in api.networks(filters=owned) if parse.owned(n, namespace)]
            volumes = [v for v in api.volumes(filters=owned).get("Volumes") or []
                       if is_owned(v.get("Labels"), namespace)]
            unowned = {}
            # A name an owned container holds is held by no other: the engine is asked about the
            # rest only (its name filter matches each name against every container: quadratic)
            asked = wanted.get("container", frozenset()) - {parse.container_name(c) for c in containers}
            claimed = asked | wanted.get("adopt", frozenset())
            foreign: list[dict] = []
            if claimed:
                holders = api.containers(all=True, filters={"name": sorted(claimed)})
                unowned["container"] = parse.unowned_names(holders, asked, namespace, parse.container_name)
                foreign = [c for c in holders if not is_owned(c.get("Labels"), namespace)
                           and adoptable.holds(parse.container_name(c), claimed)]
            foreign_networks = []
            if wanted.get("network"):
                holders = api.networks(filters={"name": sorted(wanted["network"])})
                unowned["network"] = parse.unowned_names(
                    holders, wanted["network"], namespace, lambda e: e["Name"]
                )
                foreign_networks = [parse.network(n) for n in holders if n["Name"] in unowned["network"]]
            asked = wanted.get("volume", frozenset()) - {v["Name"] for v in volumes}
            foreign_volumes = []
            if asked:
                holders = api.volumes(filters={"name": sorted(asked)}).get("Volumes") or []
                unowned["volume"] = parse.unowned_names(holders, asked, namespace, lambda e: e["Name"])
                foreign_volumes = [parse.volume(v) for v in holders if v["Name"] in unowned["volume"]]
            image_ids = parse.image_ids(api.images(), refs) if refs else {}
            image_volumes = self._image_volumes(image_ids)
            libpod = self._libpod_list(owned) if self._podman else {}
            inspected: dict[str, dict | None] = {}  # this observation's inspect answers, by id
            modes = self._network_modes(containers, libpod, inspected)
            restarting = {c["Id"] for c in containers if parse.may_be_restarting(c) or podman.may_be_restarting(c)}
            sharing = parse.sharing_stacks(modes)
            for id in (restarting | sharing) - set(inspected):
                inspected[id] = self._inspect(id)
            known = self.limits.read({c["Id"] for c in containers}, inspected, self._inspect)
        now = time.time()
        counts = {id: (inspected[id] or {}).get("RestartCount") or 0 for id in restarting}
        ups = {id: parse.up_since(inspected[id], now) for id in sharing}
        observed = [
            parse.container(c, counts.get(c["Id"], 0), ups.get(c["Id"]), modes.get(c["Id"]), known.get(c["Id"]))
            for c in containers
        ]
        if self._podman:
            observed = [podman.observed_container(c, libpod.get(c.id), inspected.get(c.id)) for c in observed]
        observed = self._with_configs(observed, inspected, listed=True)
        return ObservedState(
            containers=tuple(observed),
            networks=tuple(parse.network(n) for n in networks),
            volumes=tuple(parse.volume(v) for v in volumes),
            unowned={kind: found for kind, found in unowned.items() if found},
            images={ref: id for ref, id in image_ids.items() if ref in image_volumes},
            image_volumes=image_volumes,
            unowned_containers=self._unowned_containers(foreign),
            unowned_networks=tuple(foreign_networks),
            unowned_volumes=tuple(foreign_volumes),
        )

    def _unowned_containers(self, listed: list[dict]) -> tuple[UnownedContainer, ...]:
        """The listed unowned containers in full (what an adoption compares): one inspect each."""
        found = []
        for entry in listed:
            inspected = self._inspect(entry["Id"])
            if inspected is not None:
                container = parse.container_from_inspect(inspected, time.time())
                container = podman.inspected_container(container, inspected) if self._podman else container
                found.append(adoptable.from_inspect(inspected, container, self._inspect_image(inspected.get("Image"))))
        return tuple(found)

    def _inspect_image(self, id: str | None) -> dict | None:
        """One image's inspect answer; None when there is none (removed since the container was made)."""
        try:
            with engine_errors():
                return self.api.inspect_image(id) if id else None
        except NotFound:
            return None

    def inspect_containers(self, ids: Iterable[str]) -> tuple[ObservedContainer, ...]:
        found, answers = [], {}
        for id in ids:
            inspected = self._inspect(id)
            if inspected is None:
                continue
            container = dataclasses.replace(parse.container_from_inspect(inspected, time.time()),
                                            limits=limits(inspected))
            found.append(podman.inspected_container(container, inspected) if self._podman else container)
            answers[container.id] = inspected
        return tuple(self._with_configs(found, answers, listed=False))

    def _network_modes(self, containers: list[dict], libpod: Mapping[str, dict],
                       inspected: dict[str, dict | None]) -> dict[str, str | None]:
        """Container id -> HostConfig.NetworkMode. Docker lists it; Podman does not, and the
        containers its libpod list shows on no network (host, none, another's stack: the ones
        whose mode matters) are inspected for it, once per container (a mode never changes);
        those inspect answers are added to `inspected`."""
        modes = {c["Id"]: (c.get("HostConfig") or {}).get("NetworkMode") for c in containers}
        self._network_mode_of = {id: mode for id, mode in self._network_mode_of.items() if id in modes}
        for id, entry in libpod.items():
            if id in modes and podman.needs_network_mode(entry):
                if id not in self._network_mode_of:
                    inspected[id] = self._inspect(id)
                    self._network_mode_of[id] = ((inspected[id] or {}).get("HostConfig") or {}).get("NetworkMode")
                modes[id] = self._network_mode_of.get(id)
        return modes

    def _libpod_list(self, owned: Mapping[str, str]) -> dict[str, dict]:
        """Container id -> Podman's libpod list entry (health, networks), for `owned`."""
        entries = self._get(self.api, podman.list_path(), all="true",
                            filters=json.dumps({key: [value] for key, value in owned.items()}))
        return {entry["Id"]: entry for entry in entries}

    def _inspect(self, id: str) -> dict | None:
        """One container's inspect answer; None when it is gone since it was listed."""
        try:
            with engine_errors():
                return self.api.inspect_container(id)
        except NotFound:
            return None

    def create_container(self, spec: ContainerSpec, name: str, labels: Mapping[str, str]) -> str:
        refused = self.refused(spec)
        if refused:
            raise InvalidSpec(f"container {name}: {refused}")
        api = self.api
        body, later = container_body(spec, labels, api.api_version)
        if self._podman:
            body = podman.container_body(body)
        try:
            with engine_errors():
                container_id = api.create_container_from_config(body, name=name, platform=spec.platform)["Id"]
            self.limits.created(container_id, body)
            self._config_created(container_id, body)
            for attachment in later:
                try:
                    self.connect_network(attachment.name, container_id, attachment.aliases,
                                         attachment.ipv4_address)
                except EngineError:
                    self._discard(container_id)
                    raise
        except NotFound as error:  # a missing image, network or volumes_from container
            raise InvalidSpec(str(error)) from error
        return container_id

    def update_container(self, id: str, spec: ContainerSpec) -> None:
        if not self.capabilities.in_place_update:
            raise InvalidSpec(f"update container {id[:12]}: {update_refusal(self.capabilities)}")
        api = self.api
        try:
            with engine_errors():
                api._raise_for_status(api._post_json(api._url("/containers/{0}/update", id), data=update_body(spec)))
            self.limits.forget(id)
        except (Conflict, Forbidden) as error:  # the engine's words for a limit it cannot set now
            raise InvalidSpec(f"update container {id[:12]}: {error}") from error
        except InvalidSpec as error:
            raise InvalidSpec(f"update container {id[:12]}: {error}") from error

    def _discard(self, container_id: str) -> None:
        try:
            self.remove_container(container_id)
        except EngineError:
            pass  # best effort: an owned leftover is removed by the next pass

    def start_container(self, id: str) -> None:
        try:
            with engine_errors():
                self.api.start(id)
        except NotFound as error:  # the container, or a network or container it refers to
            self.container_labels(id)
            raise InvalidSpec(str(error)) from error

    def stop_container(self, id: str, timeout: float | None = None) -> None:
        with engine_errors():
            self.api.stop(id, timeout=None if timeout is None else math.ceil(timeout))

    def remove_container(self, id: str) -> None:
        with engine_errors():
            self.api.remove_container(id, v=False, force=True)

    def rename_container(self, id: str, name: str) -> None:
        with engine_errors():
            self.api.rename(id, name)

    def container_labels(self, id: str) -> Mapping[str, str]:
        with engine_errors():
            return self.api.inspect_container(id)["Config"].get("Labels") or {}

    def containers_labelled(self, label: str, value: str) -> tuple[tuple[str, Mapping[str, str]], ...]:
        with engine_errors():
            found = self.api.containers(all=True, filters={"label": f"{label}={value}"})
        return tuple(sorted((parse.container_name(c), c.get("Labels") or {}) for c in found))

    def exec_hook(self, id: str, hook: Hook, timeout: float) -> ExecResult:
        return run_exec(self.api, id, hook, timeout)

    def connect_network(self, network: str, container_id: str, aliases: tuple[str, ...] = (),
                        ipv4_address: str | None = None) -> None:
        with engine_errors():
            self.api.connect_container_to_network(
                container_id, network, aliases=list(aliases) or None, ipv4_address=ipv4_address
            )

    def disconnect_network(self, network: str, container_id: str) -> None:
        with engine_errors():
            try:
                self.api.disconnect_container_from_network(container_id, network)
            except docker.errors.APIError as error:
                if "is not connected" in str(error.explanation):
                    raise NotFound(error.explanation) from error
                raise

    def refused(self, spec: NetworkSpec | ContainerSpec) -> str | None:
        if isinstance(spec, ContainerSpec):
            return container_refusal(spec, self.capabilities)
        unsupported = podman.unsupported_network_options(spec.options) if self._podman else []
        if not unsupported:
            return None
        return (f"{self.capabilities.kind} {self.capabilities.version} does not honour the network option(s) "
                f"{', '.join(unsupported)}")

    def create_network(self, spec: NetworkSpec, labels: Mapping[str, str]) -> str:
        refused = self.refused(spec)
        if refused:
            raise InvalidSpec(f"network {spec.name}: {refused}")
        with engine_errors():
            return self.api.create_network(**network_kwargs(spec, labels))["Id"]

    def remove_network(self, id: str) -> None:
        with engine_errors():
            if self._podman:  # Podman removes a network named by its id even while in use
                id = self.api.inspect_network(id)["Name"]
            self.api.remove_network(id)
            self._wait_network_gone(id)

    def _wait_network_gone(self, id: str) -> None:
        """Return once the engine no longer knows network `id` (at once for a local network), or
        after NETWORK_GONE_SECONDS (the next observation then still sees it)."""
        deadline = time.monotonic() + NETWORK_GONE_SECONDS
        while time.monotonic() < deadline:
            try:
                self.api.inspect_network(id)
            except docker.errors.NotFound:
                return
            time.sleep(POLL_INTERVAL)

    def network_labels(self, id: str) -> Mapping[str, str]:
        with engine_errors():
            return self.api.inspect_network(id).get("Labels") or {}

    def create_volume(self, spec: VolumeSpec, labels: Mapping[str, str]) -> str:
        kwargs = volume_kwargs(spec, labels)
        with engine_errors():
            created = self.api.create_volume(**kwargs)
        # Docker answers a create of an existing name with that volume: only ours is success.
        if (created.get("Labels") or {}) != kwargs["labels"] or created.get("Driver") != spec.driver:
            raise Conflict(f"volume {spec.name} already exists with other labels or driver")
        return created["Name"]

    def remove_volume(self, name: str) -> None:
        with engine_errors():
            self.api.remove_volume(name)

    def volume_labels(self, name: str) -> Mapping[str, str]:
        with engine_errors():
            return self.api.inspect_volume(name).get("Labels") or {}

    def import_source(self, names: Sequence[str]) -> ImportSource:
        return docker_import_read.read(self.api, names, PODMAN if self._podman else DOCKER, self._get)

    def events(self, namespace: str, stop: Callable[[], bool]) -> Iterator[Event]:
        return watch(self, namespace, stop)

