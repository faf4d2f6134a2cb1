"""`build.pull = true` on the real engine and the real registry, as a user runs `reconciler apply`:
an image built `FROM` a tag of the test registry is built again, and its container replaced with
`image rebuilt: base REF moved OLD -> NEW`, once that tag is pushed with another image; then
nothing while the tag stays."""

from __future__ import annotations

import pytest

from tests.conftest import remove_containers
from tests.integration.registry import Registry, drop_local, push, push_moved
from tests.integration.test_builds import app_file, apply, context, events, image_of, running, said

pytestmark = pytest.mark.integration


@pytest.fixture
def based(docker_client, registry: Registry, namespace, desired):
    """(container name, image reference, base reference): an app built from desired/app `FROM`
    NAMESPACE/base:1 of the open registry (pushed from the demo image), with `build.pull = true`;
    afterwards the namespace's containers, every tag of the app's repository and the local copy of the base go."""
    name, repository = f"{namespace}-app", f"localhost/{namespace}/app"
    base = f"{registry.host}/{namespace}/base:1"
    push(docker_client, registry, f"{namespace}/base", "1")
    context(desired / "app", dockerfile=f"FROM {base}\nCOPY main.sh /app/main.sh\n")
    (desired / "app.toml").write_text(app_file(name, f"{repository}:1", 'context = "./app", pull = true'))
    yield name, f"{repository}:1", base
    remove_containers(docker_client, docker_client.containers.list(
        all=True, filters={"label": f"io.reconciler.managed={namespace}"}))
    for image in docker_client.images.list(name=repository):
        for tag in image.tags:
            drop_local(docker_client, tag)
    drop_local(docker_client, base)


def test_a_moved_from_tag_rebuilds_and_replaces_the_container_once(docker_client, registry, based, desired,
                                                                    namespace):
    name, ref, base = based
    first = apply(desired, namespace)
    assert first.returncode == 0, said(first)
    old, serving = registry.digest(f"{namespace}/base", "1"), running(docker_client, name).id
    new = push_moved(docker_client, registry, f"{namespace}/base", "1")
    moved = apply(desired, namespace)
    assert moved.returncode == 0, said(moved)
    assert f"~ recreate container {name} (image rebuilt: base {base} moved {old} -> {new})" in moved.stdout, \
        said(moved)
    assert running(docker_client, name).id != serving
    assert "io.reconciler.test.moved" in docker_client.images.get(ref).labels  # built FROM the moved tag
    assert image_of(docker_client, name) == docker_client.images.get(ref).id
    again = apply(desired, namespace)
    assert again.returncode == 0 and events(again.stderr, "image.built") == [], said(again)
    assert "recreate" not in again.stdout
