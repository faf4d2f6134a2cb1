"""Lifecycle hooks in plans: post_start steps right after each start, pre_stop steps right before
each stop or removal, and what undoes a failure there (printed as `plan` prints them)."""

from __future__ import annotations

import dataclasses

from reconciler.commands.render import plan_text
from reconciler.converge import make_plan
from reconciler.fields import Hook, UpdatePolicy
from reconciler.model import ContainerSpec, DesiredState, Source, spec_hash
from reconciler.options import PlanOptions
from reconciler.ownership import owned_labels
from runtime.base import ObservedContainer, ObservedState

NS = "ns"
IMAGE = "localhost/demo:1"
IMAGE_ID = "sha256:" + "a" * 64
OLD = "a" * 64
HOOKS = {"post_start": (Hook(("touch", "/ready")), Hook(("chown", "app", "/data"), user="root")),
         "pre_stop": (Hook(("sh", "-c", "flush")),)}


def web(**changes) -> ContainerSpec:
    spec = ContainerSpec(name="web", image=IMAGE, source=Source("web.toml", 1), update=UpdatePolicy(timeout=30.0))
    return dataclasses.replace(spec, **{**HOOKS, **changes})


def running(spec: ContainerSpec, **changes) -> ObservedContainer:
    container = ObservedContainer(id=OLD, name=spec.name, labels=owned_labels(spec, NS), state="running",
                                  health=None, image_id=IMAGE_ID, networks=frozenset({"bridge"}), created=100.0)
    return dataclasses.replace(container, **changes)


def printed(containers: tuple[ContainerSpec, ...], *observed: ObservedContainer, **options) -> str:
    desired = DesiredState(containers={c.name: c for c in containers})
    state = ObservedState(containers=observed, images={IMAGE: IMAGE_ID})
    return plan_text(make_plan(desired, state, NS, PlanOptions(**options)), steps=True)


def test_a_created_container_runs_its_post_start_hooks_in_order_after_its_start():
    assert printed((web(),)) == """\
+ create container web (missing)
    create container web
    start web
    run post_start hook 1 in web (30s)
      if it fails: stop web
    run post_start hook 2 in web (30s)
      if it fails: stop web
Plan: 1 to create."""


def test_a_container_created_stopped_runs_no_hook():
    assert "hook" not in printed((web(state="stopped"),))


def test_a_stopped_container_started_again_runs_its_post_start_hooks():
    assert printed((web(),), running(web(), state="exited", exit_code=137)) == """\
> start container web (stopped by hand)
    start web
    run post_start hook 1 in web (30s)
      if it fails: stop web
    run post_start hook 2 in web (30s)
      if it fails: stop web
Plan: 1 to start."""


def test_a_container_declared_stopped_runs_its_pre_stop_hooks_before_the_stop():
    assert printed((web(state="stopped"),), running(web())) == """\
. stop container web (declared stopped)
    run pre_stop hook 1 in aaaaaaaaaaaa (30s)
    stop aaaaaaaaaaaa
Plan: 1 to stop."""


def test_a_replacement_runs_the_old_containers_pre_stop_before_its_stop_and_the_new_ones_post_start():
    old = web(env={"V": "1"})
    new = web(env={"V": "2"}, update=UpdatePolicy(timeout=30.0, monitor=0))
    text = printed((new,), running(old))
    temp = f"web--next-{OLD[:12]}"
    assert text.splitlines()[1:13] == [
        f"    create container {temp}",
        "    run pre_stop hook 1 in aaaaaaaaaaaa (30s)",
        f"      if it fails: remove container {temp}",
        "    stop aaaaaaaaaaaa",
        f"      if it fails: remove container {temp}, start aaaaaaaaaaaa",
        f"    rename aaaaaaaaaaaa -> web--prev-{OLD[:12]}",
        f"      if it fails: remove container {temp}, start aaaaaaaaaaaa",
        f"    rename {temp} -> web",
        f"      if it fails: remove container {temp}, rename aaaaaaaaaaaa -> web, start aaaaaaaaaaaa",
        "    start web",
        "      if it fails: remove container web, rename aaaaaaaaaaaa -> web, start aaaaaaaaaaaa",
        "    run post_start hook 1 in web (30s)",
    ]
    assert text.splitlines()[13] == \
        "      if it fails: remove container web, rename aaaaaaaaaaaa -> web, start aaaaaaaaaaaa"


def test_a_start_first_replacement_runs_the_new_containers_post_start_before_the_old_ones_pre_stop():
    update = UpdatePolicy(order="start-first", timeout=30.0, monitor=0)
    text = printed((web(env={"V": "2"}, update=update),), running(web(env={"V": "1"}, update=update)))
    steps = [line.strip() for line in text.splitlines() if line.startswith("    ") and not line.startswith("      ")]
    temp = f"web--next-{OLD[:12]}"
    assert steps[:7] == [f"create container {temp}", f"start {temp}", f"run post_start hook 1 in {temp} (30s)",
                         f"run post_start hook 2 in {temp} (30s)", f"wait {temp} running (30s)",
                         "run pre_stop hook 1 in aaaaaaaaaaaa (30s)", "stop aaaaaaaaaaaa"]


def test_a_removal_runs_the_pre_stop_hooks_of_the_last_spec_known_for_it():
    gone = web()
    text = printed((), running(gone), allow_empty=True, retired={gone.key: gone})
    assert text.splitlines()[1:3] == ["    run pre_stop hook 1 in aaaaaaaaaaaa (30s)",
                                      "    remove container aaaaaaaaaaaa"]


def test_a_removal_without_a_known_spec_runs_no_hook():
    assert "hook" not in printed((), running(web()), allow_empty=True)


def test_hooks_are_outside_the_spec_hash_so_a_changed_hook_replaces_nothing():
    assert spec_hash(web()) == spec_hash(web(post_start=(), pre_stop=()))
    assert printed((web(post_start=(Hook(("true",)),)),), running(web())).startswith("No changes")
