"""The Swarm adapter: `runtime.swarm_base.SwarmRuntime` on the docker SDK's low-level client, calling
the Engine API 1.41 paths directly with the rendered ServiceSpec bodies (the SDK's service helpers
rebuild a spec from keyword arguments; the reconciler has the whole body already).

Every engine call goes through `runtime.docker_errors.engine_errors()`, so only runtime.base
exceptions (and `NotManager`) leave this module. The client is made on first use. Parsing of the
answers is `runtime.swarm_observe`."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import docker
import docker.auth
import docker.errors
import requests

from reconciler.model import LABEL_MANAGED
from runtime import swarm_observe as parse
from runtime.base import Conflict, InvalidSpec, NotFound, RegistryAuth
from runtime.docker_errors import engine_errors
from runtime.swarm_base import Lease, NotManager, ObservedService, ObservedTasks, SwarmState

LABEL_LEASE_HOLDER = "io.reconciler.lease-holder"
LABEL_LEASE_EXPIRES = "io.reconciler.lease-expires"  # seconds since the epoch, as "%.3f"
# how long `remove_network` waits for a removed overlay network to leave the engine's list, polling
NETWORK_GONE_SECONDS = 15.0
POLL_SECONDS = 0.2
LEASE_DATA = b"reconciler lease: its holder and expiry are in the labels\n"  # a config needs data


def connect_swarm(url: str | None, timeout: float = 60.0) -> DockerSwarm:
    """The Swarm adapter on the engine at `url` (a DOCKER_HOST URL; None: the docker SDK's
    environment). Nothing is asked of the engine until the first call."""
    return DockerSwarm(url, timeout)


class DockerSwarm:
    """A Docker engine in Swarm mode, reached through the docker SDK (see the module docstring)."""

    def __init__(self, url: str | None, timeout: float = 60.0) -> None:
        self._url = url
        self._timeout = timeout
        self._api: docker.APIClient | None = None
        self._lock = threading.Lock()

    def _client(self) -> docker.APIClient:
        with self._lock:
            if self._api is None:
                with engine_errors():
                    if self._url is None:
                        self._api = docker.from_env(version="auto", timeout=self._timeout).api
                    else:
                        self._api = docker.APIClient(base_url=self._url, version="auto", timeout=self._timeout)
            return self._api

    def _send(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, body: Any = None,
              auth: RegistryAuth | None = None) -> Any:
        """One Engine API request; its JSON answer (None when empty). Raises the SDK's APIError for
        an error status and requests' errors for the transport."""
        api = self._client()
        headers = {"X-Registry-Auth": docker.auth.encode_header(auth.engine_form())} if auth else None
        response = api.request(method, f"{api.base_url}/v{api.api_version}{path}", params=params, json=body,
                               headers=headers, timeout=self._timeout)
        try:
            response.raise_for_status()
        except requests.HTTPError as error:
            docker.errors.create_api_error_from_http_exception(error)
        return response.json() if response.content else None

    def _call(self, method: str, path: str, **kwargs) -> Any:
        with engine_errors():
            return self._send(method, path, **kwargs)

    def _list(self, path: str, **filters: list[str]) -> list[dict[str, Any]]:
        """`GET path` with the engine's filters (values within a key OR, keys AND)."""
        return self._call("GET", path, params={"filters": json.dumps(filters)} if filters else None) or []

    def ping(self) -> None:
        self._call("GET", "/_ping")

    def manager(self) -> str:
        """This node's id. NotManager when the engine is not in an active swarm (its
        Swarm.LocalNodeState says which state) or the node is a worker (ControlAvailable false)."""
        swarm = self._call("GET", "/info").get("Swarm") or {}
        state = swarm.get("LocalNodeState") or "inactive"
        if state != "active":
            raise NotManager(f"the node is not part of an active swarm (state: {state}; `docker swarm init` makes one)")
        if not swarm.get("ControlAvailable"):
            raise NotManager(f"node {swarm.get('NodeID')} is a worker, not a manager (run against a manager's engine)")
        return swarm["NodeID"]

    def engine(self) -> dict[str, Any]:
        """What the engine is, for the agent's status and log (`swarm_observe.engine`): 2 calls,
        `GET /version` and `GET /info`."""
        return parse.engine(self._call("GET", "/version"), self._call("GET", "/info"))

    def observe_swarm(self, namespace: str, names: Mapping[str, tuple[str, ...]],
                      images: frozenset[str], auth: Mapping[str, RegistryAuth] | None = None) -> SwarmState:
        """Owned services (with their tasks counted), overlay networks, secrets and configs of
        `namespace`, the nodes, which of `names` others hold, and the digests of `images`.
        Engine calls: 2 per kind (owned, and the names asked about that no owned one holds, when
        there are any), 1 for the tasks, 1 for the nodes, 1 for all networks, and 1 per image.
        While the namespace owns networks, the services call lists every service, so that the
        unowned ones attached to them are known (`SwarmState.network_users`)."""
        owned = {"label": [f"{LABEL_MANAGED}={namespace}"]}
        networks = self._list("/networks")
        network_names = {item["Id"]: item["Name"] for item in networks}
        ours_networks = [item for item in networks if parse.swarm_network(item, namespace)]
        listed = self._list("/services") if ours_networks else self._list("/services", **owned)
        services = [item for item in listed if parse.owned_service(item, namespace)]
        ids = [item["ID"] for item in services]
        tasks = parse.count_tasks(self._list("/tasks", service=ids), services) if ids else {}
        secrets = self._list("/secrets", **owned)
        configs = self._list("/configs", **owned)
        unowned = {
            "service": self._held("/services", names.get("service", ()), services),
            "network": parse.held_names(networks, names.get("network", ()), [n["Id"] for n in ours_networks],
                                        name_of=lambda item: item.get("Name")),
            "secret": self._held("/secrets", names.get("secret", ()), secrets),
            "config": self._held("/configs", names.get("config", ()), configs),
        }
        digests, digest_errors = self._digests(images, auth or {})
        return SwarmState(
            services=tuple(parse.service(item, network_names, tasks.get(item["ID"], ObservedTasks()))
                           for item in services),
            networks=tuple(parse.network(item) for item in ours_networks),
            secrets=tuple(parse.swarm_object(item) for item in secrets),
            configs=tuple(parse.swarm_object(item) for item in configs),
            nodes=tuple(parse.node(item) for item in self._list("/nodes")),
            unowned={kind: held for kind, held in unowned.items() if held},
            network_users=parse.network_users(listed, ours_networks, namespace),
            digests=digests,
            digest_errors=digest_errors,
        )

    def _held(self, path: str, asked: tuple[str, ...], owned: list[dict[str, Any]]) -> frozenset[str]:
        """Which of `asked` something else holds. Only the names no `owned` item holds are looked up
        (a service's, secret's or config's name is unique in a swarm): a converged namespace asks none."""
        ours = {(item.get("Spec") or {}).get("Name") for item in owned}
        rest = [name for name in asked if name not in ours]
        if not rest:
            return frozenset()
        return parse.held_names(self._list(path, name=rest), rest, [item["ID"] for item in owned])

    def _digests(self, images: frozenset[str],
                 auth: Mapping[str, RegistryAuth]) -> tuple[dict[str, str], dict[str, str]]:
        """Image reference -> the digest the manager resolved at its registry (`GET
        /distribution/{ref}/json`), and reference -> the engine's words when it could not."""
        digests: dict[str, str] = {}
        errors: dict[str, str] = {}
        for ref in sorted(images):
            with engine_errors():
                try:
                    answer = self._send("GET", f"/distribution/{quote(ref, safe='/:@')}/json", auth=auth.get(ref))
                except docker.errors.APIError as error:  # the registry's refusal, relayed by the engine
                    errors[ref] = str(error.explanation or error)
                    continue
            digests[ref] = answer["Descriptor"]["digest"]
        return digests, errors

    def service(self, service_id: str) -> ObservedService:
        """One service with its tasks counted (3 calls: the service, its tasks, its networks' names)."""
        item = self._call("GET", f"/services/{quote(service_id)}")
        tasks = parse.count_tasks(self._list("/tasks", service=[item["ID"]]), [item])
        targets = parse.network_targets(item.get("Spec") or {})
        names = {n["Id"]: n["Name"] for n in self._list("/networks", id=targets)} if targets else {}
        return parse.service(item, names, tasks.get(item["ID"], ObservedTasks()))

    def create_service(self, spec: Mapping[str, Any], auth: RegistryAuth | None = None) -> str:
        """Create a service from a rendered ServiceSpec (secret and config references by name; the
        ids are looked up here); its id. Conflict when the name is taken; NotFound for a secret or
        config that does not exist; InvalidSpec when Swarm refuses the spec."""
        return self._call("POST", "/services/create", body=self._resolved(spec), auth=auth)["ID"]

    def update_service(self, service_id: str, version: int, spec: Mapping[str, Any],
                       auth: RegistryAuth | None = None) -> None:
        """Replace a service's spec at `version` (Swarm rolls its tasks by the spec's UpdateConfig).
        Conflict when the version is stale (Swarm's "update out of sequence")."""
        self._call("POST", f"/services/{quote(service_id)}/update", params={"version": version},
                   body=self._resolved(spec), auth=auth)

    def _resolved(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """`spec` with each secret and config reference given the id of the object of its name."""
        body = json.loads(json.dumps(spec))
        container = body.get("TaskTemplate", {}).get("ContainerSpec", {})
        for kind, key in (("secret", "Secret"), ("config", "Config")):
            references = container.get(f"{key}s") or []
            wanted = [reference[f"{key}Name"] for reference in references]
            listed = self._list(f"/{kind}s", name=wanted) if wanted else []
            found = {item["Spec"]["Name"]: item["ID"] for item in listed}
            for reference in references:
                if reference[f"{key}Name"] not in found:
                    raise NotFound(f"{kind} {reference[f'{key}Name']} does not exist")
                reference[f"{key}ID"] = found[reference[f"{key}Name"]]
        return body

    def remove_service(self, service_id: str) -> None:
        self._call("DELETE", f"/services/{quote(service_id)}")

    def create_network(self, name: str, driver: str, labels: Mapping[str, str], *, attachable: bool = True,
                       internal: bool = False, subnet: str | None = None, gateway: str | None = None,
                       ip_range: str | None = None, options: Mapping[str, str] | None = None) -> str:
        """Create a swarm-scoped network (`driver` overlay); its id. Conflict when the name is taken."""
        pool = {key: value for key, value in (("Subnet", subnet), ("Gateway", gateway), ("IPRange", ip_range)) if value}
        body = {"Name": name, "Driver": driver, "Labels": dict(labels), "Attachable": attachable,
                "Internal": internal, "Options": dict(options or {}), "CheckDuplicate": True,
                "IPAM": {"Driver": "default", "Config": [pool] if pool else []}}
        return self._call("POST", "/networks/create", body=body)["Id"]

    def remove_network(self, network_id: str) -> None:
        """Remove overlay network `network_id` and return once the engine no longer lists it (the
        manager removes it at once, the node's list follows within seconds: ~4 s on Docker 20.10),
        or after NETWORK_GONE_SECONDS. NotFound when it was gone already, or its removal was under
        way (Swarm then answers 500 "network ID not found" while the list still shows it)."""
        try:
            self._call("DELETE", f"/networks/{quote(network_id)}")
        except InvalidSpec as error:
            if "not found" not in str(error).lower():
                raise
            self._wait_network_unlisted(network_id)
            raise NotFound(str(error)) from error
        self._wait_network_unlisted(network_id)

    def _wait_network_unlisted(self, network_id: str) -> None:
        deadline = time.monotonic() + NETWORK_GONE_SECONDS
        while any(item["Id"] == network_id for item in self._list("/networks", id=[network_id])):
            if time.monotonic() >= deadline:
                return
            time.sleep(POLL_SECONDS)

    def create_secret(self, name: str, data: bytes, labels: Mapping[str, str]) -> str:
        """Create a Swarm secret (its value only in the request body, base64); its id."""
        return self._create_object("secrets", name, data, labels)

    def remove_secret(self, secret_id: str) -> None:
        self._call("DELETE", f"/secrets/{quote(secret_id)}")

    def create_config(self, name: str, data: bytes, labels: Mapping[str, str]) -> str:
        return self._create_object("configs", name, data, labels)

    def remove_config(self, config_id: str) -> None:
        self._call("DELETE", f"/configs/{quote(config_id)}")

    def _create_object(self, kind: str, name: str, data: bytes, labels: Mapping[str, str]) -> str:
        body = {"Name": name, "Labels": dict(labels), "Data": base64.b64encode(data).decode("ascii")}
        return self._call("POST", f"/{kind}/create", body=body)["ID"]

    def read_lease(self, name: str) -> Lease | None:
        """The lease config `name`, or None. Labels that do not parse read as expired long ago."""
        found = [item for item in self._list("/configs", name=[name]) if item["Spec"]["Name"] == name]
        return _lease(found[0]) if found else None

    def write_lease(self, name: str, lease: Lease | None, holder: str, expires: float) -> Lease:
        """Create the lease config (lease None) or update its labels at `lease.version` (a config's
        data cannot change, its labels can); the lease as written. Conflict when another agent
        created it first or wrote it since `lease.version`; NotFound when it was removed."""
        labels = {LABEL_LEASE_HOLDER: holder, LABEL_LEASE_EXPIRES: f"{expires:.3f}"}
        if lease is None:
            config_id = self._create_object("configs", name, LEASE_DATA, labels)
        else:
            config_id = lease.id
            self._call("POST", f"/configs/{quote(config_id)}/update", params={"version": lease.version},
                       body={"Name": name, "Labels": labels})
        return _lease(self._call("GET", f"/configs/{quote(config_id)}"))

    def cluster_key(self, name: str) -> bytes | None:
        """The data of the config `name`, or None when there is none (2 calls: the list by name, as
        the engine's name filter matches prefixes, then the config, whose inspect carries its data)."""
        found = [item["ID"] for item in self._list("/configs", name=[name]) if item["Spec"]["Name"] == name]
        if not found:
            return None
        return base64.b64decode(self._call("GET", f"/configs/{quote(found[0])}")["Spec"].get("Data") or "")

    def create_cluster_key(self, name: str, data: bytes) -> bytes:
        """Create the config `name` holding `data` (no labels: nothing lists it as owned, so no
        diff removes it); `data`, or the winner's data when another created it first. NotFound
        when the winner's was removed again before it could be read."""
        try:
            self._create_object("configs", name, data, {})
        except Conflict:
            theirs = self.cluster_key(name)
            if theirs is None:
                raise NotFound(f"config {name} was created by another and removed again") from None
            return theirs
        return data


def _lease(item: Mapping[str, Any]) -> Lease:
    labels = item["Spec"].get("Labels") or {}
    try:
        expires = float(labels.get(LABEL_LEASE_EXPIRES, "0"))
    except ValueError:
        expires = 0.0
    return Lease(id=item["ID"], version=int(item["Version"]["Index"]), holder=labels.get(LABEL_LEASE_HOLDER, ""),
                 expires=expires)
