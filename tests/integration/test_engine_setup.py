"""The engine that `make test` provides is real, reachable and has the demo image."""

import pytest

pytestmark = pytest.mark.integration


def test_a_labelled_container_can_be_created_run_and_removed(docker_client, namespace):
    labels = {"io.reconciler.managed": namespace}
    container = docker_client.containers.run(
        "localhost/demo:1", ["sh", "-c", "echo ready"], name=f"{namespace}-probe", labels=labels,
        detach=True,
    )
    assert container.wait(timeout=30)["StatusCode"] == 0
    assert container.logs().strip() == b"ready"
    found = docker_client.containers.list(all=True, filters={"label": f"io.reconciler.managed={namespace}"})
    assert [c.id for c in found] == [container.id]

    container.remove()
    assert docker_client.containers.list(all=True, filters={"label": f"io.reconciler.managed={namespace}"}) == []
