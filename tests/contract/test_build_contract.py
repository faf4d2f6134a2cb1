"""Builds and pushes, pinned for every engine (see conftest: `engine`; Podman through its compatible
`/build` with DOCKER_HOST at its socket): the classic Dockerfile the reconciler builds (`FROM`, a
`COPY`, a `LABEL`), its tags, a failure, a push to a registry and the removal of a built image
tagged twice, as image retention asks it."""

from __future__ import annotations

import pytest

from reconciler.fields import Build
from runtime.base import BuildFailed, Conflict
from tests.conftest import DEMO_IMAGE
from tests.contract.conftest import MemoryHarness
from tests.integration.registry import registry  # noqa: F401 (the registry a real engine pushes to)

DOCKERFILE = f"FROM {DEMO_IMAGE}\nCOPY hello.txt /hello.txt\nLABEL contract.built=yes\n"


@pytest.fixture
def context(tmp_path):
    """A build context: a classic Dockerfile and the file it copies."""
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    (tmp_path / "hello.txt").write_text("hello\n")
    return tmp_path


@pytest.fixture
def registry_host(engine, request) -> str:
    """A registry the engine can push to: the test registry for a real engine."""
    if isinstance(engine, MemoryHarness):
        return "127.0.0.1:5000"
    return request.getfixturevalue("registry").host


def build(engine, context, *tags: str) -> str:
    spec = Build(str(context), tags[-1], str(context / "Dockerfile"))
    id = engine.runtime.build_image(spec, tags)
    engine.built.extend(tags)
    return id


def test_a_build_is_tagged_with_every_tag_and_returns_the_images_id(engine, context):
    first, second = f"localhost/{engine.namespace}-app:1", f"localhost/{engine.namespace}-app:build-0123"
    id = build(engine, context, first, second)
    assert id.startswith("sha256:")
    assert engine.runtime.resolve_image(first) == engine.runtime.resolve_image(second) == id


def test_a_failing_step_is_build_failed_naming_the_tag_and_leaves_no_tag(engine, context):
    (context / "Dockerfile").write_text(f"FROM {DEMO_IMAGE}\nRUN echo about to fail && false\n")
    ref = f"localhost/{engine.namespace}-broken:1"
    engine.fails_next_build(ref)
    with pytest.raises(BuildFailed, match=rf"^build {ref}: "):
        build(engine, context, ref)
    assert engine.runtime.resolve_image(ref) is None


def test_a_pushed_image_comes_back_by_its_pull_as_the_same_image(engine, context, registry_host):
    ref = f"{registry_host}/{engine.namespace}-pushed:1"
    id = build(engine, context, ref)
    digest = engine.runtime.push_image(ref)
    assert digest.startswith("sha256:") and len(digest) == 71
    engine.runtime.remove_image(id)
    assert engine.runtime.pull_image(ref) == id


def test_a_built_image_tagged_twice_in_its_repository_is_removed_with_both_tags(engine, context):
    repository = f"localhost/{engine.namespace}-app"
    id = build(engine, context, f"{repository}:1", f"{repository}:build-0123")
    assert engine.runtime.remove_image(id, repository) > 0
    assert engine.runtime.resolve_image(f"{repository}:1") is None
    assert engine.runtime.resolve_image(f"{repository}:build-0123") is None


def test_an_image_also_tagged_in_another_repository_is_a_conflict_and_keeps_its_tags(engine, context):
    ours, theirs = f"localhost/{engine.namespace}-app:1", f"localhost/{engine.namespace}-other:1"
    id = build(engine, context, ours, theirs)
    with pytest.raises(Conflict):
        engine.runtime.remove_image(id, f"localhost/{engine.namespace}-app")
    assert engine.runtime.resolve_image(ours) == engine.runtime.resolve_image(theirs) == id


def test_a_built_image_a_container_uses_is_a_conflict_and_keeps_both_tags(engine, context):
    repository = f"localhost/{engine.namespace}-used"
    id = build(engine, context, f"{repository}:1", f"{repository}:build-0123")
    container = engine.create("user", image=f"{repository}:1")
    with pytest.raises(Conflict):
        engine.runtime.remove_image(id, repository)
    assert engine.runtime.resolve_image(f"{repository}:build-0123") == id
    engine.runtime.remove_container(container)
