"""Images the agent builds are recorded in the state directory as built, and image retention removes
one no container uses any more, although it carries two tags (`image` and the build tag), on the
in-memory engine; the runtime untags only an image all of whose tags lie in the recorded repository."""

from __future__ import annotations

import pytest

from reconciler.images.usage import Usage
from runtime.base import Conflict
from runtime.memory import MemoryRuntime
from tests.conftest import DEMO_IMAGE
from tests.unit.conftest import new_agent
from tests.unit.test_builds import tree

DEMO_ID = "sha256:" + "d" * 64


@pytest.fixture
def building(tmp_path, clock, state):
    """An agent keeping no unused image, on a desired state that builds localhost/app:1."""
    engine = MemoryRuntime(images={DEMO_IMAGE: DEMO_ID})
    root = tmp_path / "desired"
    root.mkdir()
    tree(root)
    agent = new_agent(root, engine, clock, state)
    agent.images = Usage(state, keep=0, clock=clock)
    return agent, engine, root


def built_ids(state) -> dict[str, str]:
    return {id: record["how"] for id, record in state.image_usage()["localhost/app"].items()}


def test_a_built_image_is_recorded_as_built_after_its_pass(building, state):
    agent, engine, _ = building
    agent.run_pass()
    assert built_ids(state) == {engine.images["localhost/app:1"]: "built"}


def test_a_built_image_no_container_uses_is_removed_with_both_its_tags(building, state, clock):
    agent, engine, root = building
    agent.run_pass()
    first = engine.images["localhost/app:1"]
    (root / "app" / "main.sh").write_text("echo changed\n")
    clock.now += 10
    agent.run_pass()
    assert first not in engine.images.values()
    assert set(built_ids(state)) == {engine.images["localhost/app:1"]} != {first}
    assert DEMO_ID in engine.images.values()


def test_an_image_also_tagged_in_another_repository_is_a_conflict_and_keeps_its_tags():
    id = "sha256:" + "a" * 64
    engine = MemoryRuntime(images={"localhost/app:1": id, "localhost/app:build-1": id, "localhost/other:1": id})
    with pytest.raises(Conflict):
        engine.remove_image(id, "localhost/app")
    assert sorted(ref for ref, image in engine.images.items() if image == id) == [
        "localhost/app:1", "localhost/app:build-1", "localhost/other:1"]
