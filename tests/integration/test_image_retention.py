"""Image retention on the real engine and a real registry: a real agent process (`reconciler run
--image-retention 1`) pulls a container's image through four tags in turn (the demo image with a
label each, pushed to the test registry) and removes exactly what the rule names: never an image
a container of another owner uses, never one it did not pull."""

from __future__ import annotations

import io
import json

import docker.errors
import pytest

from reconciler.agent.statedir import StateDir
from tests.conftest import DEMO_IMAGE
from tests.integration.agents import eventually, running
from tests.integration.registry import push

pytestmark = pytest.mark.integration

APP = '[container.{}]\nimage = "{}"\ncommand = ["sleep", "3600"]\ninit = true\nstop_timeout = 1\n'


def build(client: docker.DockerClient, tag: str, marker: str) -> str:
    dockerfile = io.BytesIO(f"FROM {DEMO_IMAGE}\nLABEL io.reconciler.test.retention={marker}\n".encode())
    return client.images.build(fileobj=dockerfile, tag=tag, rm=True)[0].id


@pytest.fixture
def images(docker_client, namespace, registry):
    """tag number -> (reference, image id): 1 to 4 in the registry only (a run must pull them), 0
    made on this host under the same repository (never pulled by the agent). Removed afterwards."""
    repository = f"{namespace}/app"
    made = {}
    for n in range(1, 5):
        source = f"localhost/{namespace}-source:{n}"
        id = build(docker_client, source, f"{namespace}-{n}")
        push(docker_client, registry, repository, str(n), source=source)
        docker_client.images.remove(source)
        made[n] = (f"{registry.host}/{repository}:{n}", id)
    made[0] = (f"{registry.host}/{repository}:0", build(docker_client, f"{registry.host}/{repository}:0", "by-hand"))
    yield made
    for ref, _ in made.values():
        try:
            docker_client.api.remove_image(ref, force=True)
        except docker.errors.APIError:
            pass  # removed by the agent, or never pulled


@pytest.fixture
def stranger(docker_client, namespace):
    """Make a container that no namespace owns, of a given image; removed afterwards."""
    made = []

    def make(image: str) -> None:
        made.append(docker_client.containers.create(image, ["sleep", "3600"], name=f"{namespace}-stranger"))

    yield make
    for container in made:
        container.remove(force=True)


def present(docker_client, images) -> set[int]:
    found = set()
    for n, (_, id) in images.items():
        try:
            docker_client.images.get(id)
            found.add(n)
        except docker.errors.ImageNotFound:
            pass
    return found


def deploy(desired, docker_client, name: str, ref: str, id: str) -> None:
    (desired / "app.toml").write_text(APP.format(name, ref))
    eventually(lambda: (c := running(docker_client, name)) is not None and c.image.id == id,
               f"{name} running {ref}", timeout=30)


def test_retention_keeps_exactly_n_and_never_an_image_in_use_or_not_ours(
        docker_client, namespace, desired, tmp_path, start_agent, images, stranger):
    name = f"{namespace}-app"
    (desired / "app.toml").write_text(APP.format(name, images[1][0]))
    agent = start_agent(extra=("--image-retention", "1"))
    agent.wait_converged(name)
    stranger(images[1][0])
    for n in (2, 3, 4):
        deploy(desired, docker_client, name, *images[n])
    eventually(lambda: present(docker_client, images) == {0, 1, 3, 4}, "only image 2 removed", timeout=30)
    recorded = StateDir(tmp_path / "state").image_usage()
    assert set(recorded[images[1][0].rsplit(":", 1)[0]]) == {images[n][1] for n in (1, 3, 4)}
    removed = [json.loads(line) for line in agent.log.read_text().splitlines() if '"image.removed"' in line]
    assert [(e["ref"], e["id"]) for e in removed] == [images[2]]
    assert removed[0]["bytes"] > 0
