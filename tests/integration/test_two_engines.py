"""Docker and Podman on one host: both program iptables, and containers on each reach the other's
published ports. Runs where both private engines are given (`make test` sets PODMAN_HOST)."""

from __future__ import annotations

import os

import docker
import pytest

from tests.conftest import DEMO_IMAGE, remove_containers

pytestmark = pytest.mark.integration


@pytest.fixture
def podman_client():
    url = os.environ.get("PODMAN_HOST")
    if not url or url == os.environ.get("DOCKER_HOST"):
        pytest.skip("needs a Podman engine at PODMAN_HOST beside the one at DOCKER_HOST")
    return docker.DockerClient(base_url=url, version="auto", timeout=30)


def _web(client, name: str, labels: dict[str, str]):
    """A web server on a port the engine picks on every host address; (container, that port)."""
    container = client.containers.run(DEMO_IMAGE, ["httpd", "-f", "-p", "80", "-h", "/srv"], name=name,
                                      labels=labels, ports={"80/tcp": None}, detach=True, init=True)
    container.reload()
    return container, int(container.ports["80/tcp"][0]["HostPort"])


def _fetch(client, name: str, labels: dict[str, str], url: str) -> tuple[int, bytes]:
    container = client.containers.run(DEMO_IMAGE, ["wget", "-q", "-O", "-", url], name=name,
                                      labels=labels, detach=True)
    code = container.wait(timeout=30)["StatusCode"]
    return code, container.logs()


def _gateway(container) -> str:
    container.reload()
    (network,) = container.attrs["NetworkSettings"]["Networks"].values()
    return network["Gateway"]


def test_containers_on_docker_and_on_podman_reach_each_others_published_ports(
    docker_client, podman_client, namespace
):
    labels = {"io.reconciler.managed": namespace}  # the namespace fixture cleans Docker up; Podman below
    try:
        on_docker, docker_port = _web(docker_client, f"{namespace}-web", labels)
        on_podman, podman_port = _web(podman_client, f"{namespace}-web", labels)

        code, page = _fetch(podman_client, f"{namespace}-from-podman", labels,
                            f"http://{_gateway(on_podman)}:{docker_port}/")
        assert (code, page) == (0, b"<h1>hello from localhost/demo:1</h1>\n")

        code, page = _fetch(docker_client, f"{namespace}-from-docker", labels,
                            f"http://{_gateway(on_docker)}:{podman_port}/")
        assert (code, page) == (0, b"<h1>hello from localhost/demo:1</h1>\n")
    finally:
        leftovers = podman_client.containers.list(all=True, filters={"label": f"io.reconciler.managed={namespace}"})
        remove_containers(podman_client, leftovers)
