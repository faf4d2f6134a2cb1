"""How `pull = "newer"` reads in a plan: a check (not a change) while the image is due, nothing
while `pull_interval` has not passed, and `image moved: OLD -> NEW` on the replacements a moved
tag leads to."""

from __future__ import annotations

import dataclasses

from tests.unit.test_diff_plan import IMAGE, db, desired, observed, printed, running, web

OLD = "sha256:" + "1" * 64
NEW = "sha256:" + "2" * 64


def test_a_newer_image_gets_a_registry_check_and_the_plan_stays_empty():
    d = desired(web(pull="newer"), db())
    assert printed(d, observed(running(web(), "1"), running(db(), "2")), steps=True) == "\n".join([
        "^ check image localhost/demo:1 (pull = newer)",
        "    ask the registry for the digest of localhost/demo:1 (manifest HEAD); pull it if it moved",
        "    then: observe and plan again; if the image moved, replace the containers that use it",
        "No changes: the engine matches the desired state (1 image check(s)).",
    ])


def test_a_newer_image_whose_interval_has_not_passed_is_not_checked():
    d = desired(web(pull="newer", pull_interval=300.0), db())
    o = observed(running(web(), "1"), running(db(), "2"))
    assert printed(d, o, not_due=frozenset({IMAGE})) == "No changes: the engine matches the desired state."


def test_a_digest_pinned_newer_image_is_never_checked():
    pinned = f"localhost/demo@{OLD}"
    d = desired(web(pull="newer", image=pinned), db())
    o = dataclasses.replace(observed(running(web(image=pinned), "1"), running(db(), "2")),
                            images={IMAGE: "sha256:" + "a" * 64, pinned: "sha256:" + "a" * 64})
    assert printed(d, o) == "No changes: the engine matches the desired state."


def test_a_newer_image_the_host_lacks_is_pulled_for_its_create_not_checked():
    d = desired(web(pull="newer"), db())
    o = dataclasses.replace(observed(running(db(), "2")), images={})
    assert printed(d, o).splitlines()[0] == "< pull image localhost/demo:1 (not on this host)"


def test_a_moved_tag_replaces_its_containers_saying_from_which_digest_to_which():
    d = desired(web(pull="newer"), db())
    o = dataclasses.replace(observed(running(web(), "1"), running(db(), "2")), images={IMAGE: "sha256:" + "b" * 64})
    lines = printed(d, o, pulled=frozenset({IMAGE}), moved={IMAGE: f"{OLD} -> {NEW}"}).splitlines()
    assert lines[:2] == [
        f"~ recreate container db (image moved: {OLD} -> {NEW})",
        f"~ recreate container web (image moved: {OLD} -> {NEW})",
    ]
