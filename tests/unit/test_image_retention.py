"""Image retention: the rule (images.retention), the state directory's record, and the agent's
step after a pass (images.usage) on the in-memory engine."""

from __future__ import annotations

import json
import stat

import pytest
from structlog.testing import capture_logs

from reconciler.agent.statedir import StateDir, StateDirError
from reconciler.images import retention
from reconciler.images.retention import BUILT, PULLED, ImageUse
from reconciler.images.usage import Usage
from reconciler.model import LABEL_MANAGED, ContainerSpec
from runtime.base import EngineUnavailable
from runtime.memory import MemoryRuntime
from tests.unit.conftest import new_agent
from tests.unit.desired import write


def image(n: int) -> str:
    return f"sha256:{n:064x}"


def use(n: int, last_used: float, repository: str = "reg/app") -> ImageUse:
    return ImageUse(repository, image(n), f"{repository}:{n}", PULLED, last_used)


# -- the rule ---------------------------------------------------------------------------------


def test_the_n_most_recently_used_unused_images_of_a_repository_are_kept():
    uses = [use(1, 10.0), use(2, 40.0), use(3, 30.0), use(4, 20.0)]
    assert [u.id for u in retention.to_remove(uses, in_use=(), keep=2)] == [image(1), image(4)]


def test_keeping_none_removes_every_unused_recorded_image():
    uses = [use(1, 10.0), use(2, 20.0)]
    assert [u.id for u in retention.to_remove(uses, in_use=(), keep=0)] == [image(1), image(2)]


def test_an_image_in_use_is_never_removed_and_does_not_count_among_the_kept():
    uses = [use(1, 10.0), use(2, 20.0), use(3, 30.0)]
    assert [u.id for u in retention.to_remove(uses, in_use={image(1), image(3)}, keep=0)] == [image(2)]
    assert retention.to_remove(uses, in_use={image(3)}, keep=2) == ()


def test_repositories_keep_their_images_apart():
    uses = [use(1, 10.0), use(2, 20.0), use(3, 5.0, "reg/db"), use(4, 1.0, "reg/db")]
    assert [u.id for u in retention.to_remove(uses, in_use=(), keep=1)] == [image(4), image(1)]


def test_an_image_one_of_its_repositories_keeps_is_not_removed():
    uses = [use(1, 10.0), use(2, 20.0), use(1, 10.0, "reg/alias")]
    assert retention.to_remove(uses, in_use=(), keep=1) == ()
    assert retention.to_remove([*uses, use(5, 30.0, "reg/alias")], in_use=(), keep=1) == (use(1, 10.0),)


def test_a_negative_number_to_keep_is_refused():
    with pytest.raises(ValueError, match="0 or more"):
        retention.to_remove([], in_use=(), keep=-1)


def test_the_repository_is_the_reference_without_tag_or_digest():
    digest = "sha256:" + "a" * 64
    assert retention.repository("reg:5000/team/app:2") == "reg:5000/team/app"
    assert retention.repository(f"reg:5000/app:1.2@{digest}") == "reg:5000/app"
    assert retention.repository(f"app@{digest}") == "app"
    assert retention.repository("localhost:5000/app") == "localhost:5000/app"


def test_recording_an_image_again_refreshes_its_record():
    uses = retention.recorded((), "reg/app:1", image(1), PULLED, 10.0)
    uses = retention.recorded(uses, "reg/app:latest", image(1), BUILT, 20.0)
    assert uses == (ImageUse("reg/app", image(1), "reg/app:latest", BUILT, 20.0),)
    with pytest.raises(ValueError, match="pulled, built"):
        retention.recorded(uses, "reg/app:1", image(1), "copied", 30.0)


def test_images_in_use_are_marked_used_now():
    uses = retention.refreshed([use(1, 10.0), use(2, 10.0)], used={image(2)}, now=50.0)
    assert [u.last_used for u in uses] == [10.0, 50.0]


# -- the state directory's record -------------------------------------------------------------


def test_the_usage_record_is_kept_by_repository_and_image_id(tmp_path):
    state = StateDir(tmp_path / "state")
    uses = (use(1, 10.0), use(2, 20.0, "reg/db"))
    state.save_image_usage(retention.as_records(uses))
    path = tmp_path / "state" / "image-usage.json"
    assert json.loads(path.read_text()) == {
        "reg/app": {image(1): {"ref": "reg/app:1", "how": "pulled", "last_used": 10.0}},
        "reg/db": {image(2): {"ref": "reg/db:2", "how": "pulled", "last_used": 20.0}},
    }
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert retention.from_records(StateDir(tmp_path / "state").image_usage()) == uses


def test_a_damaged_usage_record_is_a_state_directory_error(tmp_path):
    state = StateDir(tmp_path / "state")
    state.save_image_usage({"reg/app": {image(1): {"ref": "reg/app:1", "how": "stolen", "last_used": 1.0}}})
    with pytest.raises(StateDirError, match="image usage record"):
        Usage(state).record("reg/app:2", image(2), PULLED)


def test_a_built_image_is_recorded_as_built(tmp_path):
    state = StateDir(tmp_path / "state")
    Usage(state, clock=lambda: 7.0).record("reg/app:2", image(2), BUILT)
    assert retention.from_records(state.image_usage()) == (ImageUse("reg/app", image(2), "reg/app:2", BUILT, 7.0),)


# -- the agent's step after a pass ------------------------------------------------------------

WEB = '[container.web]\nimage = "reg/app:{}"\n'


@pytest.fixture
def registry_engine() -> MemoryRuntime:
    """reg/app:1 to :4 in the registry; reg/app:0 made locally (by hand, not by the agent)."""
    engine = MemoryRuntime(images={"reg/app:0": image(100)}, registry={f"reg/app:{n}": image(n) for n in range(1, 5)})
    engine.image_sizes = {image(n): n * 1000 for n in range(1, 5)}
    return engine


@pytest.fixture
def retaining(root, registry_engine, clock, state):
    """An agent keeping one unused image per repository."""
    root.mkdir()
    agent = new_agent(root, registry_engine, clock, state)
    agent.images = Usage(state, keep=1, clock=clock)
    return agent


def deploy(agent, root, clock, *tags: int) -> None:
    for tag in tags:
        clock.now += 10
        write(root, {"web.toml": WEB.format(tag)})
        agent.run_pass()


def local(engine: MemoryRuntime) -> set[str]:
    return set(engine.images.values())


def test_the_agent_records_the_images_it_pulls(retaining, registry_engine, root, clock, state):
    deploy(retaining, root, clock, 1)
    records = state.image_usage()
    assert records == {"reg/app": {image(1): {"ref": "reg/app:1", "how": "pulled", "last_used": clock.now}}}


def test_after_replacements_exactly_n_unused_images_stay_besides_the_one_in_use(retaining, registry_engine, root,
                                                                                 clock):
    with capture_logs() as logs:
        deploy(retaining, root, clock, 1, 2, 3, 4)
    assert local(registry_engine) == {image(4), image(3), image(100)}
    removed = [(e["ref"], e["id"], e["bytes"]) for e in logs if e["event"] == "image.removed"]
    assert removed == [("reg/app:1", image(1), 1000), ("reg/app:2", image(2), 2000)]


def test_an_image_another_namespaces_container_uses_is_never_removed(retaining, registry_engine, root, clock):
    deploy(retaining, root, clock, 1)
    registry_engine.create_container(ContainerSpec(name="other", image="reg/app:1"), "other", {LABEL_MANAGED: "other"})
    deploy(retaining, root, clock, 2, 3, 4)
    assert local(registry_engine) == {image(1), image(3), image(4), image(100)}


def test_an_image_the_agent_did_not_pull_is_never_removed(retaining, registry_engine, root, clock):
    write(root, {"web.toml": WEB.format(0)})
    retaining.run_pass()
    deploy(retaining, root, clock, 1, 2, 3)
    assert image(100) in local(registry_engine)
    assert "reg/app" in retaining.images.state_dir.image_usage()
    assert image(100) not in retaining.images.state_dir.image_usage()["reg/app"]


def test_without_a_retention_nothing_is_removed(root, registry_engine, clock, state):
    root.mkdir()
    agent = new_agent(root, registry_engine, clock, state)
    deploy(agent, root, clock, 1, 2, 3)
    assert local(registry_engine) == {image(1), image(2), image(3), image(100)}
    assert set(state.image_usage()["reg/app"]) == {image(1), image(2), image(3)}


def test_a_failed_removal_is_logged_and_the_pass_still_converges(retaining, registry_engine, root, clock):
    deploy(retaining, root, clock, 1, 2)
    registry_engine.fail_next("remove_image", EngineUnavailable("engine restarting"))
    with capture_logs() as logs:
        deploy(retaining, root, clock, 3)
    assert [e["event"] for e in logs if e["event"].startswith("image.remove")] == ["image.remove_failed"]
    assert retaining.status.snapshot()["last_pass"]["result"] == "converged"
    deploy(retaining, root, clock, 4)
    assert local(registry_engine) == {image(4), image(3), image(100)}


def test_a_record_of_an_image_removed_by_hand_is_forgotten(retaining, registry_engine, root, clock, state):
    deploy(retaining, root, clock, 1, 2)
    del registry_engine.images["reg/app:1"]
    deploy(retaining, root, clock, 3)
    assert set(state.image_usage()["reg/app"]) == {image(2), image(3)}
