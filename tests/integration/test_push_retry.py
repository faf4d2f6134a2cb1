"""A refused push is tried again (reconciler/images/pushes.py), on the real engine against the real
htpasswd registry (tests/integration/registry.py), as a user runs `reconciler apply`: the first
apply builds and its push is refused (a wrong password): that container fails; the next apply,
with the right password, pushes the image it built without building again, the registry holds the
digest logged, and the container runs; a third apply and `plan` find nothing to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import remove_containers
from tests.integration.registry import Registry, drop_local
from tests.integration.test_builds import app_file, apply, context, events, reconciler, said
from tests.integration.test_registry_pulls import registry_config

pytestmark = pytest.mark.integration


@pytest.fixture
def pushed_app(docker_client, auth_registry: Registry, desired, namespace, tmp_path):
    """(container name, reference in the auth registry, state directory) of an app built from
    desired/app with `push = true`; afterwards the namespace's containers and every local tag of
    that repository go."""
    name = f"{namespace}-app"
    context(desired / "app")
    ref = f"{auth_registry.host}/{namespace}/app:1"
    (desired / "app.toml").write_text(app_file(name, ref, push=True))
    yield name, ref, tmp_path / "state"
    remove_containers(docker_client, docker_client.containers.list(
        all=True, filters={"label": f"io.reconciler.managed={namespace}"}))
    for image in docker_client.images.list(name=ref.rpartition(":")[0]):
        for tag in image.tags:
            drop_local(docker_client, tag)


def apply_with(desired: Path, namespace: str, state: Path, config: Path):
    return apply(desired, namespace, "--state-dir", str(state), "--registry-config", str(config))


def test_a_refused_push_is_pushed_by_the_next_apply_and_then_nothing_is_done(
        docker_client, auth_registry: Registry, pushed_app, desired, namespace, tmp_path):
    name, ref, state = pushed_app
    wrong = registry_config(tmp_path / "wrong.json", auth_registry, "not-the-password")
    right = registry_config(tmp_path / "right.json", auth_registry, auth_registry.auth.password)

    refused = apply_with(desired, namespace, state, wrong)
    assert refused.returncode == 1, said(refused)
    assert f"push {ref}: unauthorized" in refused.stdout, said(refused)
    assert len(events(refused.stderr, "image.built")) == 1 and not events(refused.stderr, "image.pushed")

    planned = reconciler("plan", str(desired), "--state-dir", str(state), namespace=namespace)
    assert f"@ push image {ref} (not pushed yet)" in planned.stdout, said(planned)

    again = apply_with(desired, namespace, state, right)
    assert again.returncode == 0, said(again)
    assert not events(again.stderr, "image.built"), said(again)
    repository, _, tag = ref.removeprefix(f"{auth_registry.host}/").rpartition(":")
    digests = [e["digest"] for e in events(again.stderr, "image.pushed") if "digest" in e]  # the push step's line
    assert digests == [auth_registry.digest(repository, tag)], said(again)
    assert docker_client.containers.get(name).attrs["Image"] == docker_client.images.get(ref).id

    third = apply_with(desired, namespace, state, right)
    assert third.returncode == 0, said(third)
    assert not events(third.stderr, "image.pushed") and not events(third.stderr, "image.built"), said(third)
    planned = reconciler("plan", str(desired), "--state-dir", str(state), namespace=namespace)
    assert "No changes" in planned.stdout, said(planned)
