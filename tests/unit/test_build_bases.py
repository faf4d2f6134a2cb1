"""`build.pull = true` builds again when a `FROM` image moved (reconciler/images/bases.py): the
`FROM` references a Dockerfile names, the records of what a build was made from, and the pass that
rebuilds and replaces (on the in-memory engine, with a registry stand-in)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.converge import converge, make_plan, observe
from reconciler.desired.loader import load
from reconciler.fields import Build
from reconciler.images.bases import BaseChecks, checked, from_images, moved, next_due_in
from reconciler.images.newer import DUE_EARLY, NewerChecks
from reconciler.model import ContainerSpec, DesiredState
from runtime.memory import MemoryRuntime
from runtime.registry import RegistryUnavailable
from tests.conftest import DEMO_IMAGE

BASE = "127.0.0.1:5000/base:1"
OLD = "sha256:" + "1" * 64
NEW = "sha256:" + "2" * 64
TAG = "localhost/app:build-0123456789abcdef"


class Registry:
    """A registry client stand-in answering from a table (the real one: tests/integration)."""

    def __init__(self, digests):
        self.digests, self.asked = digests, []

    def digest(self, ref, login=None):
        self.asked.append(ref)
        answer = self.digests[ref]
        if isinstance(answer, Exception):
            raise answer
        return answer


def desired(pull: bool = True, interval: float = 0.0, bases: tuple[str, ...] = (BASE,)) -> DesiredState:
    build = Build("/ctx", TAG, "/ctx/Dockerfile", pull=pull, bases=bases)
    return DesiredState(containers={"app": ContainerSpec("app", "localhost/app:1", build=build,
                                                         pull_interval=interval)})


def test_from_images_are_the_images_the_from_lines_name_in_order():
    assert from_images(f"FROM {BASE}\nRUN true\nFROM alpine:3 AS tools\n") == (BASE, "alpine:3")


def test_a_stage_name_scratch_and_a_build_argument_are_not_images():
    text = "ARG BASE=alpine:3\nFROM $BASE AS Build\nFROM scratch\nFROM build\nFROM ${BASE}\nFROM busybox:1\n"
    assert from_images(text) == ("busybox:1",)


def test_a_platform_flag_is_not_the_image():
    assert from_images("FROM --platform=$BUILDPLATFORM golang:1.21 AS build\n") == ("golang:1.21",)


def test_stages_after_the_target_are_not_built_so_not_bases():
    text = "FROM golang:1.21 AS build\nFROM alpine:3 AS runtime\nFROM debian:12 AS debug\n"
    assert from_images(text, target="runtime") == ("golang:1.21", "alpine:3")


def test_continued_lines_are_joined_and_comments_skipped():
    assert from_images("# the base\nFROM \\\n# pinned by ops\n  alpine:3 \\\n  AS base\nFROM base\n") == ("alpine:3",)


def test_an_image_named_twice_is_one_base():
    assert from_images("FROM alpine:3 AS a\nFROM alpine:3 AS b\n") == ("alpine:3",)


def test_the_loader_records_the_from_images_on_the_build(tmp_path: Path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text(f"FROM {BASE} AS base\nFROM base\n")
    (tmp_path / "app.toml").write_text('[container.app]\nimage = "localhost/app:1"\n'
                                       'build = { context = "./app", pull = true }\npull_interval = "5m"\n')
    spec = load(tmp_path).state.containers["app"]
    assert (spec.build.bases, spec.pull_interval) == ((BASE,), 300.0)


def test_pull_interval_without_a_registry_check_is_still_refused(tmp_path: Path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text(f"FROM {BASE}\n")
    (tmp_path / "app.toml").write_text('[container.app]\nimage = "localhost/app:1"\n'
                                       'build = { context = "./app" }\npull_interval = "5m"\n')
    assert any("pull_interval" in str(p) for p in load(tmp_path).errors)


@pytest.mark.parametrize(("ref", "asked"), [
    (BASE, True), ("alpine:3", True), ("localhost/demo:1", False), ("localhost:5000/demo:1", True),
    (f"{BASE}@{OLD}", False),
])
def test_podmans_local_images_and_pinned_bases_are_not_checked(ref, asked):
    assert checked(ref) is asked


def test_a_base_moved_names_the_reference_and_both_digests():
    assert moved({BASE: OLD}, {BASE: NEW}) == f"base {BASE} moved {OLD} -> {NEW}"
    assert moved({BASE: OLD}, {BASE: OLD}) is None


def test_the_first_check_records_the_base_and_rebuilds_nothing():
    checks = NewerChecks(Registry({BASE: OLD}))
    assert BaseChecks(checks).check(desired()) == {}
    assert checks.records.build_bases()[TAG]["bases"] == {BASE: OLD}


def test_a_base_that_moved_since_the_build_is_a_rebuild_until_built():
    registry = Registry({BASE: OLD})
    checks = NewerChecks(registry)
    bases = BaseChecks(checks)
    bases.check(desired())
    registry.digests[BASE] = NEW
    assert bases.check(desired()) == {TAG: f"base {BASE} moved {OLD} -> {NEW}"}
    bases.built([TAG])
    assert bases.check(desired()) == {}


def test_a_build_without_pull_is_never_checked():
    registry = Registry({BASE: OLD})
    assert BaseChecks(NewerChecks(registry)).check(desired(pull=False)) == {}
    assert registry.asked == []


def test_a_registry_that_cannot_answer_triggers_no_rebuild():
    registry = Registry({BASE: OLD})
    checks = NewerChecks(registry)
    BaseChecks(checks).check(desired())
    registry.digests[BASE] = RegistryUnavailable(f"{BASE}: registry unreachable")
    assert BaseChecks(checks).check(desired()) == {}
    assert checks.records.build_bases()[TAG]["latest"] == {BASE: OLD}


def test_the_registry_is_asked_again_only_after_pull_interval():
    clock = [1000.0]
    registry = Registry({BASE: OLD})
    bases = BaseChecks(NewerChecks(registry, clock=lambda: clock[0]))
    bases.check(desired(interval=300.0))
    clock[0] += 100
    bases.check(desired(interval=300.0))
    clock[0] += 200
    bases.check(desired(interval=300.0))
    assert registry.asked == [BASE, BASE]


def test_a_move_found_earlier_and_not_built_yet_still_rebuilds_between_checks():
    clock = [1000.0]
    registry = Registry({BASE: OLD})
    bases = BaseChecks(NewerChecks(registry, clock=lambda: clock[0]))
    bases.check(desired(interval=300.0))
    registry.digests[BASE], clock[0] = NEW, 1400.0
    bases.check(desired(interval=300.0))
    clock[0] += 10
    assert TAG in bases.check(desired(interval=300.0))


APP = """
[container.app]
image = "localhost/app:1"
build = { context = "./app", pull = true }
command = ["sleep", "300"]
"""


def test_a_pass_rebuilds_and_replaces_with_the_base_that_moved_then_does_nothing(tmp_path: Path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text(f"FROM {BASE}\nCOPY . /app\n")
    (tmp_path / "app.toml").write_text(APP)
    state = load(tmp_path).state
    runtime = MemoryRuntime(images={DEMO_IMAGE: "sha256:" + "d" * 64})
    registry = Registry({BASE: OLD})
    checks = NewerChecks(registry)
    assert converge(runtime, state, "ns", checks=checks).converged
    registry.digests[BASE] = NEW
    report = converge(runtime, state, "ns", checks=checks)
    assert str(report.plan).splitlines()[:2] == [
        f"~ recreate container app (image rebuilt: base {BASE} moved {OLD} -> {NEW})",
        f"    build localhost/app:1 ({state.containers['app'].build.tag.rpartition(':')[2]})",
    ]
    assert report.converged
    again = converge(runtime, state, "ns", checks=checks)
    assert not again.plan.has_changes and not make_plan(state, observe(runtime, "ns", state), "ns").has_changes


def test_the_next_base_check_comes_due_an_interval_after_the_last_one():
    clock = [1000.0]
    checks = NewerChecks(Registry({BASE: OLD}), clock=lambda: clock[0])
    state = desired(interval=60.0)
    assert next_due_in(checks, state) == 0.0
    BaseChecks(checks).check(state)
    clock[0] += 10
    assert next_due_in(checks, state) == 60 - 10 - DUE_EARLY
    assert next_due_in(checks, desired(interval=0.0)) is None
