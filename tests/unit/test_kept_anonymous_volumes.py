"""Every replacement keeps the anonymous volumes of the container it replaces (DESIGN: "a
replacement never deletes data: anonymous volumes move to the new container"), not only an
adoption: the rule of `diff_containers.data_mounts`, as printed plans."""

from __future__ import annotations

import dataclasses

from reconciler.commands.render import plan_text
from reconciler.converge import make_plan
from reconciler.fields import FileGrant, Mount, UpdatePolicy
from reconciler.model import spec_hash
from tests.unit.test_diff_plan import IMAGE, NS, db, desired, observed, printed, running, web

ANON = "f" * 64
OTHER = "e" * 64


def web_holding(volumes: dict[str, str], **changes):
    """The running owned `web` of the declared spec `web(**changes)`, whose engine lists `volumes`."""
    return running(web(**changes), "1", volumes={"/srv": "data", **volumes})


def create_of(plan, key: str = "container/web"):
    return {t.key: t for t in plan.tasks}[key].steps[0]


def test_a_recreate_mounts_the_anonymous_volume_at_its_path_and_the_plan_says_it_keeps_it():
    o = observed(web_holding({"/anon": ANON}), running(db(), "2"))
    changed = web(command=("sleep", "60"))
    plan = make_plan(desired(changed, db()), o, NS)
    assert plan_text(plan).splitlines()[0] == (
        "~ recreate container web (spec changed: command; "
        "keeps the data of its anonymous volume: /anon in ffffffffffff)"
    )
    create = create_of(plan)
    assert create.spec.mounts == (Mount("volume", "/srv", "data"), Mount("volume", "/anon", ANON))
    assert dict(create.labels)["io.reconciler.spec-hash"] == spec_hash(changed)


def test_the_plan_after_such_a_replacement_is_empty():
    kept = running(web(), "9", volumes={"/srv": "data", "/anon": ANON})
    assert printed(desired(web(), db()), observed(kept, running(db(), "2"))) == (
        "No changes: the engine matches the desired state.")


def test_an_anonymous_volume_at_a_path_a_declared_mount_now_covers_is_not_kept():
    o = observed(web_holding({"/anon": ANON}), running(db(), "2"))
    declared = web(mounts=(Mount("volume", "/srv", "data"), Mount("volume", "/anon", "data")))
    create = create_of(make_plan(desired(declared, db()), o, NS))
    assert create.spec.mounts == declared.mounts


def test_an_anonymous_volume_under_a_declared_tmpfs_or_secret_target_is_not_kept():
    o = observed(web_holding({"/scratch": ANON, "/run/secrets/token": OTHER}), running(db(), "2"))
    declared = web(tmpfs={"/scratch": ""}, secrets=(FileGrant("token", "/run/secrets/token"),))
    create = create_of(make_plan(desired(declared, db()), o, NS))
    assert create.spec.mounts == (Mount("volume", "/srv", "data"),)


def test_the_anonymous_volumes_a_container_takes_from_volumes_from_are_not_mounted_again():
    o = observed(web_holding({"/anon": ANON}, volumes_from=("db",)),
                 running(db(), "2", volumes={"/anon": ANON}))
    plan = make_plan(desired(web(volumes_from=("db",), command=("true",)), db()), o, NS)
    assert create_of(plan).spec.mounts == (Mount("volume", "/srv", "data"),)
    assert "keeps the data" not in plan_text(plan)


def test_several_anonymous_volumes_are_kept_in_path_order():
    o = observed(web_holding({"/b": OTHER, "/a": ANON}), running(db(), "2"))
    plan = make_plan(desired(web(command=("true",)), db()), o, NS)
    assert plan_text(plan).splitlines()[0] == (
        "~ recreate container web (spec changed: command; keeps the data of its anonymous volume: /a in ffffffffffff; "
        "keeps the data of its anonymous volume: /b in eeeeeeeeeeee)"
    )


def test_a_start_first_container_with_an_anonymous_volume_is_replaced_stop_first():
    start_first = UpdatePolicy(order="start-first")
    o = observed(web_holding({"/anon": ANON}, update=start_first), running(db(), "2"))
    plan = make_plan(desired(web(update=start_first, command=("true",)), db()), o, NS)
    assert plan_text(plan).splitlines()[0] == (
        "~ recreate container web (spec changed: command; replaced stop-first: it keeps data in anonymous volumes; "
        "keeps the data of its anonymous volume: /anon in ffffffffffff)"
    )
    assert str({t.key: t for t in plan.tasks}["container/web"].steps[1]) == "stop 111111111111"


def test_an_anonymous_volume_at_an_image_volume_path_is_kept_once():
    o = dataclasses.replace(observed(web_holding({"/var/data": ANON}), running(db(), "2")),
                            image_volumes={IMAGE: ("/var/data",)})
    create = create_of(make_plan(desired(web(command=("true",)), db()), o, NS))
    assert create.spec.mounts == (Mount("volume", "/srv", "data"), Mount("volume", "/var/data", ANON))
