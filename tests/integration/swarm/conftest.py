"""Fixtures of the Swarm tests: a real single-node swarm manager at $SWARM_HOST (`make test` starts
one with scripts/swarm.sh; `make swarm` alone prints its address). Without it the tests are skipped
locally and fail in CI (`RECONCILER_REQUIRE_ENGINE=1`), as the other engine fixtures do.

Every test gets its own namespace; the services, networks, secrets and configs labelled with it
(and its lease and key configs, `reconciler-lease-<namespace>`, `reconciler-key-<namespace>`) are removed
afterwards."""

from __future__ import annotations

import os
import time
import uuid

import docker
import pytest

from runtime.swarm import DockerSwarm, connect_swarm
from tests.conftest import DEMO_IMAGE
from tests.integration.registry import Registry, push

REPOSITORY = "swarm-demo"
TAG = "1"
# how long a removed service's tasks may keep its networks busy
NETWORK_RELEASE_SECONDS = 30.0


@pytest.fixture(scope="session")
def swarm_host() -> str:
    """$SWARM_HOST, a Swarm manager that answers (`scripts/swarm.sh ensure`)."""
    url = os.environ.get("SWARM_HOST")
    problem = "SWARM_HOST is not set: run `make swarm` and export what it prints" if not url else _not_manager(url)
    if problem:
        if os.environ.get("RECONCILER_REQUIRE_ENGINE"):
            pytest.fail(problem, pytrace=False)
        pytest.skip(problem)
    return url


@pytest.fixture(scope="session")
def swarm_client(swarm_host: str) -> docker.DockerClient:
    """The docker SDK on the Swarm manager (for the tests' own set-up and checks)."""
    client = docker.DockerClient(base_url=swarm_host, version="auto", timeout=60)
    try:
        client.images.get(DEMO_IMAGE)
    except docker.errors.ImageNotFound:
        pytest.fail(f"{DEMO_IMAGE} is missing on {swarm_host}: run `scripts/swarm.sh image`", pytrace=False)
    return client


@pytest.fixture
def swarm(swarm_host: str) -> DockerSwarm:
    """The Swarm adapter on $SWARM_HOST."""
    return connect_swarm(swarm_host)


@pytest.fixture(scope="session")
def swarm_registry(swarm_client: docker.DockerClient, registry: Registry) -> str:
    """DEMO_IMAGE pushed through the Swarm engine to the session's open registry: the reference
    (`127.0.0.1:PORT/swarm-demo:1`) a service can name, since the manager resolves its digest there."""
    push(swarm_client, registry, REPOSITORY, TAG)
    return f"{registry.host}/{REPOSITORY}:{TAG}"


@pytest.fixture
def namespace(swarm_client: docker.DockerClient):
    """A fresh namespace per test; its services, networks, secrets and configs are removed afterwards,
    and so are those whose names start with it (what a test makes as someone else's)."""
    name = f"test-{uuid.uuid4().hex[:10]}"
    yield name
    for kind in (swarm_client.services, swarm_client.secrets, swarm_client.configs):
        for item in _of_namespace(kind, name, f"reconciler-lease-{name}", f"reconciler-key-{name}"):
            item.remove()
    _remove_networks(swarm_client, _of_namespace(swarm_client.networks, name))


def _of_namespace(collection, namespace: str, *names: str) -> list:
    """The items of a docker SDK collection labelled with `namespace` or named with it as a prefix
    (the tests' unowned resources), or named one of `names` (the engine's name filter matches prefixes)."""
    found = [*collection.list(filters={"label": f"io.reconciler.managed={namespace}"}),
             *(item for prefix in (namespace, *names) for item in collection.list(filters={"name": prefix}))]
    return list({item.id: item for item in found}.values())


def _remove_networks(client: docker.DockerClient, networks) -> None:
    """Remove `networks`, waiting for the tasks of removed services to leave them."""
    deadline = time.monotonic() + NETWORK_RELEASE_SECONDS
    for network in networks:
        while True:
            try:
                network.remove()
                break
            except docker.errors.NotFound:
                break
            except docker.errors.APIError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)


def _not_manager(url: str) -> str | None:
    """Why the engine at `url` cannot serve the Swarm tests, or None."""
    try:
        swarm = docker.DockerClient(base_url=url, version="auto", timeout=10).info()["Swarm"]
    except docker.errors.DockerException as error:
        return f"no engine answers at SWARM_HOST={url!r}: {error}"
    if swarm.get("LocalNodeState") != "active" or not swarm.get("ControlAvailable"):
        return f"SWARM_HOST={url!r} is not a Swarm manager: run `scripts/swarm.sh ensure`"
    return None
