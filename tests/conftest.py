"""Shared fixtures. Integration tests need a real engine at $DOCKER_HOST (`make test` starts one).

Without an engine they are skipped locally; in CI (`RECONCILER_REQUIRE_ENGINE=1`) they fail.
"""

from __future__ import annotations

import io
import os
import uuid

import docker
import pytest

DEMO_IMAGE = "localhost/demo:1"
VOLUME_IMAGE = "localhost/demo-volume:1"  # DEMO_IMAGE with `VOLUME /data` (fixture `volume_image`)


def _engine_client() -> docker.DockerClient | None:
    try:
        client = docker.from_env(timeout=30)
        client.ping()
        return client
    except Exception:
        return None


@pytest.fixture(scope="session")
def docker_client() -> docker.DockerClient:
    client = _engine_client()
    if client is None:
        message = f"no container engine answers at DOCKER_HOST={os.environ.get('DOCKER_HOST')!r}"
        if os.environ.get("RECONCILER_REQUIRE_ENGINE"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    try:
        client.images.get(DEMO_IMAGE)
    except docker.errors.ImageNotFound:
        pytest.fail(f"{DEMO_IMAGE} is missing: run `scripts/engine.sh image`", pytrace=False)
    return client


@pytest.fixture(scope="session")
def volume_image(docker_client: docker.DockerClient) -> str:
    """VOLUME_IMAGE, built from DEMO_IMAGE unless the engine has it already."""
    try:
        docker_client.images.get(VOLUME_IMAGE)
    except docker.errors.ImageNotFound:
        dockerfile = io.BytesIO(f"FROM {DEMO_IMAGE}\nVOLUME /data\n".encode())
        docker_client.images.build(fileobj=dockerfile, tag=VOLUME_IMAGE, rm=True)
    return VOLUME_IMAGE


def remove_containers(client: docker.DockerClient, containers) -> None:
    """Force-remove `containers`, with their anonymous volumes. Podman refuses to remove a
    container whose network stack another one shares: those go in a later round."""
    left = list(containers)
    for _ in range(3):
        refused = []
        for container in left:
            try:
                container.remove(force=True, v=True)
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError:
                refused.append(container)
        if not refused:
            return
        left = refused
    left[0].remove(force=True, v=True)


@pytest.fixture
def namespace(docker_client: docker.DockerClient):
    """A fresh namespace per test; everything labelled with it is removed afterwards."""
    name = f"test-{uuid.uuid4().hex[:10]}"
    yield name
    selector = {"label": f"io.reconciler.managed={name}"}
    remove_containers(docker_client, docker_client.containers.list(all=True, filters=selector))
    for n in docker_client.networks.list(filters=selector):
        n.remove()
    for v in docker_client.volumes.list(filters=selector):
        v.remove(force=True)
