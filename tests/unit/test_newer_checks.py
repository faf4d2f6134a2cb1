"""The `pull = "newer"` decision table and the spacing of checks (reconciler/images/newer.py)."""

from __future__ import annotations

from reconciler.images.newer import DUE_EARLY, MOVED, RECORDED, UNCHANGED, NewerChecks, decide, due
from reconciler.model import ContainerSpec, DesiredState
from runtime.registry import RegistryUnavailable

REF = "127.0.0.1:5000/app:1"
IMAGE_ID = "sha256:" + "a" * 64
OLD = "sha256:" + "1" * 64
NEW = "sha256:" + "2" * 64


def test_the_registry_digest_equal_to_the_repo_digest_is_unchanged():
    assert decide(REF, OLD, IMAGE_ID, (f"127.0.0.1:5000/app@{OLD}",), None).outcome == UNCHANGED


def test_another_registry_digest_than_the_repo_digest_is_a_move_from_old_to_new():
    verdict = decide(REF, NEW, IMAGE_ID, (f"127.0.0.1:5000/app@{OLD}",), None)
    assert (verdict.outcome, verdict.moved) == (MOVED, f"{OLD} -> {NEW}")


def test_a_repo_digest_of_another_repository_is_not_the_local_side():
    verdict = decide(REF, NEW, IMAGE_ID, (f"127.0.0.1:5000/other@{OLD}",), None)
    assert verdict.outcome == RECORDED


def test_the_first_check_of_an_image_without_repo_digests_records_and_never_moves():
    verdict = decide(REF, NEW, IMAGE_ID, (), None)
    assert (verdict.outcome, verdict.local) == (RECORDED, None)


def test_an_image_without_repo_digests_moves_when_the_tag_leaves_the_recorded_digest():
    record = {"image_id": IMAGE_ID, "digest": OLD}
    assert decide(REF, NEW, IMAGE_ID, (), record).outcome == MOVED
    assert decide(REF, OLD, IMAGE_ID, (), record).outcome == UNCHANGED


def test_a_record_made_for_another_local_image_is_not_used():
    record = {"image_id": "sha256:" + "f" * 64, "digest": OLD}
    assert decide(REF, NEW, IMAGE_ID, (), record).outcome == RECORDED


def test_docker_hub_names_compare_normalised():
    verdict = decide("nginx:1", OLD, IMAGE_ID, (f"docker.io/library/nginx@{OLD}",), None)
    assert verdict.outcome == UNCHANGED


def test_a_check_is_due_when_never_made_or_when_the_interval_has_passed():
    assert due(None, 300, now=1000.0)
    assert not due({"checked_at": 900.0}, 300, now=1000.0)
    assert due({"checked_at": 700.0}, 300, now=1000.0)
    assert due({"checked_at": 999.0}, 0, now=1000.0)


class Registry:
    """A registry client stand-in answering from a table (the real one: tests/integration)."""

    def __init__(self, digests):
        self.digests, self.asked = digests, []

    def digest(self, ref, login=None):
        self.asked.append(ref)
        return self.digests[ref]


class Engine:
    def __init__(self, digests=()):
        self.digests = digests

    def image_digests(self, ref):
        return self.digests


def test_a_checked_image_is_not_due_again_before_its_interval():
    clock = [1000.0]
    checks = NewerChecks(Registry({REF: OLD}), clock=lambda: clock[0])
    state = DesiredState(containers={"web": ContainerSpec("web", REF, pull="newer", pull_interval=300.0)})
    assert checks.not_due(state) == frozenset()
    checks.check([REF], {REF: IMAGE_ID}, Engine())
    clock[0] += 299
    assert checks.not_due(state) == {REF}
    clock[0] += 1
    assert checks.not_due(state) == frozenset()


def test_an_imported_image_is_recorded_then_moves_when_the_tag_is_pushed_again():
    registry = NewerChecks(Registry({REF: OLD}))
    assert registry.check([REF], {REF: IMAGE_ID}, Engine())[REF].outcome == RECORDED
    assert registry.check([REF], {REF: IMAGE_ID}, Engine())[REF].outcome == UNCHANGED
    registry.client.digests[REF] = NEW
    assert registry.check([REF], {REF: IMAGE_ID}, Engine())[REF].moved == f"{OLD} -> {NEW}"


def test_a_move_not_yet_pulled_is_found_again_on_the_next_check():
    checks = NewerChecks(Registry({REF: NEW}))
    checks.records.save_image_checks({REF: {"checked_at": 0.0, "image_id": IMAGE_ID, "digest": OLD}})
    checks.check([REF], {REF: IMAGE_ID}, Engine())
    assert checks.check([REF], {REF: IMAGE_ID}, Engine())[REF].outcome == MOVED


def test_after_the_pull_the_new_image_stands_for_the_new_digest():
    checks = NewerChecks(Registry({REF: NEW}))
    checks.records.save_image_checks({REF: {"checked_at": 0.0, "image_id": IMAGE_ID, "digest": OLD}})
    checks.pulled(REF, "sha256:" + "b" * 64, NEW)
    assert checks.check([REF], {REF: "sha256:" + "b" * 64}, Engine())[REF].outcome == UNCHANGED


def test_a_pass_a_few_milliseconds_early_checks_all_the_same():
    assert due({"checked_at": 999.01}, 1.0, now=1000.0)
    assert not due({"checked_at": 999.5}, 1.0, now=1000.0)


def test_the_next_check_comes_due_an_interval_after_the_last_one():
    clock = [1000.0]
    checks = NewerChecks(Registry({REF: OLD}), clock=lambda: clock[0])
    state = DesiredState(containers={"web": ContainerSpec("web", REF, pull="newer", pull_interval=300.0)})
    assert checks.next_due_in(state) == 0.0
    checks.check([REF], {REF: IMAGE_ID}, Engine())
    clock[0] += 100
    assert checks.next_due_in(state) == 300 - 100 - DUE_EARLY
    assert checks.next_due_in(DesiredState(containers={"web": ContainerSpec("web", REF)})) is None


class Unreachable:
    def digest(self, ref, login=None):
        raise RegistryUnavailable(f"{ref}: registry unreachable")


def test_a_failing_check_is_tried_again_after_a_wait_that_doubles():
    clock = [1000.0]
    checks = NewerChecks(Unreachable(), clock=lambda: clock[0])
    state = DesiredState(containers={"web": ContainerSpec("web", REF, pull="newer", pull_interval=0.0)})
    waits = []
    for _ in range(4):
        checks.check([REF], {REF: IMAGE_ID}, Engine())
        assert checks.not_due(state) == {REF}
        waits.append(checks.retry_at(REF) - clock[0])
        clock[0] = checks.retry_at(REF)
        assert checks.not_due(state) == frozenset()
    assert waits == [1.0, 2.0, 4.0, 8.0]


def test_an_image_checked_every_pass_needs_no_wake():
    checks = NewerChecks(Registry({REF: OLD}), clock=lambda: 1000.0)
    state = DesiredState(containers={"web": ContainerSpec("web", REF, pull="newer", pull_interval=0.0)})
    assert checks.next_due_in(state) is None
