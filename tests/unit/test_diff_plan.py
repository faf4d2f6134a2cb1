"""diff and plan, pure: (desired, observed) in, the printed plan out."""

from __future__ import annotations

import dataclasses

from reconciler.commands.render import plan_text
from reconciler.converge import make_plan
from reconciler.fields import Dependency, Healthcheck, Mount, NetworkAttachment, UpdatePolicy
from reconciler.model import ContainerSpec, DesiredState, NetworkSpec, Source, VolumeSpec, spec_hash
from reconciler.options import PlanOptions
from reconciler.ownership import owned_labels
from runtime.base import ObservedContainer, ObservedNetwork, ObservedState, ObservedVolume

NS = "ns"
IMAGE = "localhost/demo:1"
IMAGE_ID = "sha256:" + "a" * 64


def web(**changes) -> ContainerSpec:
    spec = ContainerSpec(
        name="web", image=IMAGE, source=Source("web.toml", 1), env={"GREETING": "hello"},
        networks=(NetworkAttachment("front"),), mounts=(Mount("volume", "/srv", "data"),),
        depends_on=(Dependency("db"),),
    )
    return dataclasses.replace(spec, **changes)


def db(**changes) -> ContainerSpec:
    spec = ContainerSpec(name="db", image=IMAGE, source=Source("db.toml", 1), networks=(NetworkAttachment("front"),))
    return dataclasses.replace(spec, **changes)


FRONT = NetworkSpec(name="front", source=Source("net.toml", 1))
DATA = VolumeSpec(name="data", source=Source("net.toml", 4))


def desired(*containers: ContainerSpec, networks=(FRONT,), volumes=(DATA,)) -> DesiredState:
    return DesiredState(
        containers={c.name: c for c in containers},
        networks={n.name: n for n in networks},
        volumes={v.name: v for v in volumes},
    )


def running(spec: ContainerSpec, id: str, **changes) -> ObservedContainer:
    observed = ObservedContainer(
        id=id * 64 if len(id) == 1 else id, name=spec.name, labels=owned_labels(spec, NS), state="running",
        health=None, image_id=IMAGE_ID, networks=frozenset(n.name for n in spec.networks) or frozenset({"bridge"}),
        created=100.0,
    )
    return dataclasses.replace(observed, **changes)


def observed(*containers: ObservedContainer, networks=(FRONT,), volumes=(DATA,), **extra) -> ObservedState:
    return ObservedState(
        containers=containers,
        networks=tuple(ObservedNetwork("n" + n.name, n.name, owned_labels(n, NS)) for n in networks),
        volumes=tuple(ObservedVolume(v.name, owned_labels(v, NS)) for v in volumes),
        images={IMAGE: IMAGE_ID},
        **extra,
    )


def printed(d: DesiredState, o: ObservedState, steps: bool = False, **options) -> str:
    return plan_text(make_plan(d, o, NS, PlanOptions(**options)), steps=steps)


def test_an_empty_engine_gets_everything_created_networks_and_volumes_first():
    empty = ObservedState(images={IMAGE: IMAGE_ID})
    assert printed(desired(web(), db()), empty) == "\n".join([
        "+ create network front (missing)",
        "+ create volume data (missing)",
        "+ create container db (missing)",
        "+ create container web (missing)",
        "Plan: 4 to create.",
    ])


def test_a_converged_engine_needs_nothing():
    assert printed(desired(web(), db()), observed(running(web(), "1"), running(db(), "2"))) == (
        "No changes: the engine matches the desired state."
    )


def test_a_changed_env_recreates_and_names_the_changed_key():
    o = observed(running(web(), "1"), running(db(), "2"))
    assert printed(desired(web(env={"GREETING": "bonjour"}), db()), o).splitlines()[0] == (
        "~ recreate container web (spec changed: env)"
    )


def test_reformatting_changes_nothing_because_the_source_line_is_not_hashed():
    o = observed(running(web(), "1"), running(db(), "2"))
    moved = web(source=Source("elsewhere.toml", 40))
    assert printed(desired(moved, db()), o) == "No changes: the engine matches the desired state."


def test_an_image_reference_that_now_resolves_to_another_image_recreates():
    o = dataclasses.replace(observed(running(web(), "1"), running(db(), "2")), images={IMAGE: "sha256:" + "b" * 64})
    lines = printed(desired(web(), db()), o).splitlines()
    assert lines[:2] == [
        "~ recreate container db (image moved: localhost/demo:1 is now bbbbbbbbbbbb)",
        "~ recreate container web (image moved: localhost/demo:1 is now bbbbbbbbbbbb)",
    ]


def test_a_container_stopped_by_hand_is_started_not_recreated():
    o = observed(running(web(), "1", state="exited", exit_code=137), running(db(), "2"))
    assert printed(desired(web(), db()), o, steps=True) == "\n".join([
        "> start container web (stopped by hand)",
        "    start web",
        "Plan: 1 to start.",
    ])


def test_a_container_that_exited_on_its_own_is_started_with_its_exit_code_as_reason():
    o = observed(running(web(), "1", state="exited", exit_code=3), running(db(), "2"))
    assert printed(desired(web(), db()), o).splitlines()[0] == "> start container web (exited: code 3)"


def test_a_container_that_exited_0_on_its_own_is_started_as_exited_not_stopped_by_hand():
    o = observed(running(web(), "1", state="exited", exit_code=0), running(db(), "2"))
    assert printed(desired(web(), db()), o).splitlines()[0] == "> start container web (exited: code 0)"


def test_a_container_removed_by_hand_is_created_again():
    assert printed(desired(web(), db()), observed(running(db(), "2"))).splitlines()[0] == (
        "+ create container web (missing)"
    )


def test_a_container_declared_on_the_bridge_network_mode_and_detached_from_it_is_recreated():
    plain = web(networks=(), network_mode="bridge", depends_on=())
    o = observed(running(plain, "1", networks=frozenset()))
    assert printed(desired(plain), o).splitlines()[0] == "~ recreate container web (network detached: bridge)"
    assert printed(desired(plain), observed(running(plain, "1"))).startswith("No changes")


def test_a_detached_network_recreates_the_container():
    o = observed(running(web(), "1", networks=frozenset()), running(db(), "2"))
    assert printed(desired(web(), db()), o).splitlines()[0] == "~ recreate container web (network detached: front)"


def test_a_container_no_longer_declared_is_removed():
    o = observed(running(web(), "1"), running(db(), "2"))
    assert printed(desired(db()), o) == "- remove container web (no longer declared)\nPlan: 1 to remove."


def test_a_name_held_by_an_unowned_container_is_a_conflict_and_blocks_its_dependents():
    o = observed(unowned={"container": frozenset({"db"})})
    text = printed(desired(web(), db()), o)
    assert text == "\n".join([
        "! conflict container db (name held by a resource this namespace does not own)",
        "+ create container web (missing)",
        "    blocked: container/db is in conflict",
        "Plan: 1 conflict(s), 1 blocked.",
    ])


def test_a_volume_no_longer_declared_is_retained_without_prune_volumes():
    o = observed(running(db(), "2"))
    assert printed(desired(db(), volumes=()), o) == (
        "= retain volume data (no longer declared; kept, --prune-volumes removes it)\n"
        "No changes: the engine matches the desired state."
    )


def test_a_volume_no_longer_declared_is_removed_with_prune_volumes():
    o = observed(running(db(), "2"))
    assert printed(desired(db(), volumes=()), o, prune_volumes=True).splitlines()[0] == (
        "- remove volume data (no longer declared; --prune-volumes)"
    )


def test_a_changed_volume_is_never_recreated():
    o = observed(running(web(), "1"), running(db(), "2"))
    changed = dataclasses.replace(DATA, driver="other")
    assert printed(desired(web(), db(), volumes=(changed,)), o).splitlines()[0] == (
        "= retain volume data (spec changed; volumes are never recreated: driver)"
    )


def test_a_container_declared_stopped_is_stopped_not_recreated():
    o = observed(running(web(), "1"), running(db(), "2"))
    assert printed(desired(web(state="stopped"), db()), o, steps=True).splitlines()[:2] == [
        ". stop container web (declared stopped)",
        "    stop 111111111111",
    ]


def test_an_owned_container_without_spec_hash_is_left_alone():
    bare = running(web(), "1", labels={"io.reconciler.managed": NS, "io.reconciler.name": "web"})
    assert printed(desired(web(), db()), observed(bare, running(db(), "2"))).splitlines()[0] == (
        "? warn container web (owned but has no spec-hash label; left alone)"
    )


def test_duplicates_of_an_interrupted_replacement_keep_the_spec_match_and_remove_the_rest():
    old = running(web(env={"GREETING": "old"}), "1", created=50.0, name="web--prev-111111111111")
    new = running(web(), "2", created=60.0, name="web--next-111111111111", state="created")
    text = printed(desired(web(), db()), observed(old, new, running(db(), "3")), steps=True)
    assert text.splitlines()[:5] == [
        "> start container web (interrupted replacement: 1 leftover(s); created but never started)",
        "    rename 222222222222 -> web",
        "    start web",
        "    remove container 111111111111",
        "Plan: 1 to start.",
    ]


def test_a_leftover_holding_the_name_is_parked_and_removed_only_once_the_keeper_runs():
    old = running(web(env={"GREETING": "old"}), "1", created=50.0, state="exited", exit_code=137)
    new = running(web(), "2", created=60.0, name="web--next-111111111111", state="created")
    text = printed(desired(web(), db()), observed(old, new, running(db(), "3")), steps=True)
    assert text.splitlines()[1:5] == [
        "    rename 111111111111 -> web--prev-111111111111",
        "    rename 222222222222 -> web",
        "    start web",
        "    remove container 111111111111",
    ]


def test_the_duplicate_winner_does_not_depend_on_list_order():
    a = running(web(), "1", created=50.0)
    b = running(web(), "2", created=60.0)
    first = printed(desired(web(), db()), observed(a, b, running(db(), "3")), steps=True)
    second = printed(desired(web(), db()), observed(b, a, running(db(), "3")), steps=True)
    assert first == second
    assert "remove container 111111111111" in first


def test_a_stop_first_replacement_parks_the_old_container_until_the_new_one_runs():
    o = observed(running(web(), "1"), running(db(), "2"))
    text = printed(desired(web(env={"GREETING": "new"}), db()), o, steps=True)
    assert text.splitlines()[1:] == [
        "    create container web--next-111111111111",
        "    stop 111111111111",
        "      if it fails: remove container web--next-111111111111, start 111111111111",
        "    rename 111111111111 -> web--prev-111111111111",
        "      if it fails: remove container web--next-111111111111, start 111111111111",
        "    rename web--next-111111111111 -> web",
        "      if it fails: remove container web--next-111111111111, rename 111111111111 -> web, start 111111111111",
        "    start web",
        "      if it fails: remove container web, rename 111111111111 -> web, start 111111111111",
        "    wait web running (60s)",
        "      if it fails: remove container web, rename 111111111111 -> web, start 111111111111",
        "    wait web stable (1s)",
        "      if it fails: remove container web, rename 111111111111 -> web, start 111111111111",
        "    remove container 111111111111",
        "Plan: 1 to recreate.",
    ]


def test_a_start_first_replacement_waits_for_health_before_stopping_the_old_one():
    spec = web(update=UpdatePolicy(order="start-first", timeout=30, monitor=0),
               healthcheck=Healthcheck(("CMD", "true")))
    o = observed(running(web(), "1"), running(db(), "2"))
    text = printed(desired(spec, db()), o, steps=True)
    assert [line for line in text.splitlines() if "if it fails" not in line][1:8] == [
        "    create container web--next-111111111111",
        "    start web--next-111111111111",
        "    wait web--next-111111111111 healthy (30s)",
        "    stop 111111111111",
        "    rename 111111111111 -> web--prev-111111111111",
        "    rename web--next-111111111111 -> web",
        "    remove container 111111111111",
    ]


def test_a_replacement_that_exits_within_its_monitor_is_rolled_back_to_the_old_container():
    spec = web(env={"GREETING": "new"}, update=UpdatePolicy(monitor=5))
    (task,) = make_plan(desired(spec, db()), observed(running(web(), "1"), running(db(), "2")), NS).tasks
    steps = [str(a) for a in task.steps]
    assert steps[steps.index("wait web running (60s)") + 1] == "wait web stable (5s)"
    assert [str(a) for a in task.rollback[steps.index("wait web stable (5s)")]] == [
        "remove container web", "rename 111111111111 -> web", "start 111111111111",
    ]


def test_a_failed_start_of_the_replacement_rolls_back_to_the_old_container():
    o = observed(running(web(), "1"), running(db(), "2"))
    plan = make_plan(desired(web(env={"GREETING": "new"}), db()), o, NS)
    (task,) = plan.tasks
    start = [str(a) for a in task.steps].index("start web")
    assert [str(a) for a in task.rollback[start]] == [
        "remove container web", "rename 111111111111 -> web", "start 111111111111",
    ]


def test_a_dependent_runs_after_its_dependency_which_waits_until_healthy():
    d = desired(web(depends_on=(Dependency("db", "healthy"),)), db())
    plan = make_plan(d, ObservedState(images={IMAGE: IMAGE_ID}), NS)
    tasks = {t.key: t for t in plan.tasks}
    assert tasks["container/web"].after == {"container/db", "network/front", "volume/data"}
    assert str(tasks["container/db"].steps[-1]) == "wait db healthy (60s)"


def test_a_container_taking_volumes_read_only_from_another_runs_after_it():
    d = desired(web(depends_on=(), volumes_from=("db:ro",)), db())
    tasks = {t.key: t for t in make_plan(d, ObservedState(images={IMAGE: IMAGE_ID}), NS).tasks}
    assert "container/db" in tasks["container/web"].after


def test_a_changed_network_is_recreated_with_the_containers_on_it():
    o = observed(running(web(), "1"), running(db(), "2"))
    changed = dataclasses.replace(FRONT, internal=True)
    text = printed(desired(web(), db(), networks=(changed,)), o, steps=True)
    assert text.splitlines()[:6] == [
        "~ recreate network front (spec changed: internal)",
        "    remove container 111111111111",
        "    remove container 222222222222",
        "    remove network nfront",
        "    create network front",
        "~ recreate container db (its network is recreated: front)",
    ]


def test_an_emptied_directory_blocks_every_removal_unless_allowed():
    o = observed(running(web(), "1"), running(db(), "2"))
    assert printed(DesiredState(), o) == "\n".join([
        "= retain volume data (no longer declared; kept, --prune-volumes removes it)",
        "- remove container db (no longer declared; would remove every owned container)",
        "    blocked: refused: the desired state declares no container (an emptied directory or a wrong path?); "
        "pass --allow-empty to remove them",
        "- remove container web (no longer declared; would remove every owned container)",
        "    blocked: refused: the desired state declares no container (an emptied directory or a wrong path?); "
        "pass --allow-empty to remove them",
        "- remove network front (no longer declared)",
        "    blocked: container/db is blocked",
        "Plan: 1 retained, 3 blocked.",
    ])
    assert printed(DesiredState(), o, allow_empty=True).splitlines()[-1] == "Plan: 3 to remove, 1 retained."


def test_a_missing_image_is_pulled_before_the_replacement_that_needs_it():
    o = dataclasses.replace(observed(running(web(), "1"), running(db(), "2")), images={})
    plan = make_plan(desired(web(image="localhost/other:2"), db()), o, NS)
    assert plan_text(plan).splitlines() == [
        "< pull image localhost/other:2 (not on this host)",
        "~ recreate container web (spec changed: image)",
        "Plan: 1 to pull, 1 to recreate.",
    ]
    assert "image/localhost/other:2" in {t.key: t for t in plan.tasks}["container/web"].after


def test_a_missing_image_with_pull_never_blocks_the_replacement_and_the_old_container_keeps_running():
    o = dataclasses.replace(observed(running(web(), "1"), running(db(), "2")), images={})
    text = printed(desired(web(image="localhost/other:2", pull="never"), db()), o)
    assert text.splitlines() == [
        "~ recreate container web (spec changed: image; image not available: localhost/other:2 (pull = never))",
        "    blocked: image localhost/other:2 (pull = never) is not available",
        "Plan: 1 blocked.",
    ]


# -- safety: what is held back, and what is replaced together ------------------------------------


def test_while_a_file_is_invalid_no_removal_runs():
    o = observed(running(web(), "1"), running(db(), "2"))
    text = printed(desired(db()), o, invalid_files=frozenset({"broken.toml"}))
    assert text == "\n".join([
        "- remove container web (no longer declared)",
        "    blocked: removal held back while broken.toml is invalid",
        "Plan: 1 blocked.",
    ])


def test_an_owned_resource_whose_source_label_names_an_invalid_file_is_frozen():
    o = observed(running(web(), "1", state="exited", exit_code=137), running(db(), "2"))
    text = printed(desired(web(), db()), o, invalid_files=frozenset({"web.toml"}))
    assert text.splitlines()[:2] == [
        "> start container web (stopped by hand)",
        "    blocked: its file web.toml is invalid; the last valid content stays in force",
    ]


def test_a_held_dependency_blocks_its_dependents_in_the_plan():
    text = printed(desired(web(), db()), ObservedState(images={IMAGE: IMAGE_ID}),
                   held={"container/db": "backoff until 12:00:00Z"})
    assert text.splitlines()[2:7] == [
        "+ create container db (missing)",
        "    blocked: backoff until 12:00:00Z",
        "+ create container web (missing)",
        "    blocked: container/db is blocked",
        "Plan: 2 to create, 2 blocked.",
    ]


def test_a_dependent_waits_on_every_pass_for_a_dependency_that_is_not_healthy():
    hc = Healthcheck(("CMD", "true"))
    d = desired(web(depends_on=(Dependency("db", "healthy"),)), db(healthcheck=hc))
    o = observed(running(db(healthcheck=hc), "2", health="unhealthy"))
    assert printed(d, o).splitlines() == [
        "+ create container web (missing; waiting for a dependency: db is not healthy)",
        "    blocked: waiting: db is not healthy",
        "Plan: 1 blocked.",
    ]
    healthy = observed(running(db(healthcheck=hc), "2", health="healthy"))
    assert printed(d, healthy) == "+ create container web (missing)\nPlan: 1 to create."


def test_a_container_the_engine_keeps_restarting_is_a_blocked_crash_loop():
    o = observed(running(web(), "1", state="restarting", restart_count=5), running(db(), "2"))
    assert printed(desired(web(), db()), o) == "\n".join([
        "# blocked container web (crash loop: restarted 5 times by the engine)",
        "Plan: 1 blocked.",
    ])


def completed_job(**changes) -> ContainerSpec:
    return ContainerSpec(name="job", image=IMAGE, source=Source("job.toml", 1), state="completed", **changes)


def test_a_completed_job_is_not_run_again():
    o = observed(running(completed_job(), "9", state="exited", exit_code=0), volumes=(), networks=())
    assert printed(desired(completed_job(), networks=(), volumes=()), o).startswith("No changes")


def test_a_completed_job_whose_container_was_pruned_is_not_run_again():
    done = {"job": spec_hash(completed_job())}
    d = desired(completed_job(), networks=(), volumes=())
    assert printed(d, ObservedState(images={IMAGE: IMAGE_ID}), completed=done).startswith("No changes")
    assert printed(d, ObservedState(images={IMAGE: IMAGE_ID})).splitlines()[0] == "+ create container job (missing)"


def test_a_failed_job_is_started_again_as_a_failed_run():
    o = observed(running(completed_job(), "9", state="exited", exit_code=2), volumes=(), networks=())
    assert printed(desired(completed_job(), networks=(), volumes=()), o).splitlines()[0] == (
        "> start container job (run failed: code 2)"
    )


def test_a_job_the_plan_starts_is_waited_for_until_it_completes_so_the_pass_reports_its_run():
    d = desired(completed_job(), networks=(), volumes=())
    assert printed(d, ObservedState(images={IMAGE: IMAGE_ID}), steps=True).splitlines()[:4] == [
        "+ create container job (missing)", "    create container job", "    start job",
        "    wait job completed (60s)",
    ]
    failed = observed(running(completed_job(), "9", state="exited", exit_code=2), volumes=(), networks=())
    assert printed(d, failed, steps=True).splitlines()[1:3] == ["    start job", "    wait job completed (60s)"]


def test_a_changed_job_replaces_the_record_of_its_last_run_and_a_failed_or_slow_new_run_is_never_rolled_back():
    o = observed(running(completed_job(), "9", state="exited", exit_code=0), volumes=(), networks=())
    for order in ("stop-first", "start-first"):
        spec = completed_job(env={"RUN": "2"}, update=UpdatePolicy(order=order))
        (task,) = make_plan(desired(spec, networks=(), volumes=()), o, NS).tasks
        assert [str(a) for a in task.steps] == [
            "create container job--next-999999999999", "stop 999999999999",
            "rename 999999999999 -> job--prev-999999999999", "rename job--next-999999999999 -> job",
            "remove container 999999999999", "start job", "wait job completed (60s)",
        ], order
        assert task.rollback[4:] == ((), (), ()), order
        assert all(str(a) != "start 999999999999" for rollback in task.rollback for a in rollback), order


def sidecar(**changes) -> ContainerSpec:
    return ContainerSpec(name="side", image=IMAGE, source=Source("side.toml", 1), network_mode="container:db",
                         **changes)


def test_a_container_sharing_the_network_stack_of_a_replaced_one_is_replaced_with_it():
    o = observed(running(web(), "1"), running(db(), "2"),
                 running(sidecar(), "3", network_mode="container:" + "2" * 64, networks=frozenset()))
    text = printed(desired(web(), db(env={"A": "b"}), sidecar()), o)
    assert "~ recreate container side (tied to a replaced container: db)" in text.splitlines()


def test_the_replaced_container_a_tied_one_shares_is_removed_after_the_tied_ones_replacement():
    """Podman refuses to remove a container whose network stack another still shares."""
    side = running(sidecar(), "3", network_mode="container:" + "2" * 64, networks=frozenset())
    o = observed(running(db(), "2"), side)
    lines = printed(desired(db(env={"A": "b"}), sidecar()), o, steps=True).splitlines()
    db_steps = lines[1:lines.index("~ recreate container side (tied to a replaced container: db)")]
    assert "    remove container 222222222222" not in db_steps
    assert lines[-3:] == ["    remove container 333333333333", "    remove container 222222222222",
                          "Plan: 2 to recreate."]


def test_a_changed_sidecar_of_a_replaced_container_is_also_replaced_before_the_old_one_goes():
    side = running(sidecar(), "3", network_mode="container:" + "2" * 64, networks=frozenset())
    o = observed(running(db(), "2"), side)
    lines = printed(desired(db(env={"A": "b"}), sidecar(env={"S": "1"})), o, steps=True).splitlines()
    assert "~ recreate container side (spec changed: env)" in lines
    assert lines[-3:] == ["    remove container 333333333333", "    remove container 222222222222",
                          "Plan: 2 to recreate."]


def test_a_container_pinned_to_a_container_that_no_longer_exists_is_replaced_not_restarted():
    o = observed(running(web(), "1"), running(db(), "2"),
                 running(sidecar(), "3", state="exited", exit_code=128, network_mode="container:" + "7" * 64,
                         networks=frozenset()))
    text = printed(desired(web(), db(), sidecar()), o)
    assert text.splitlines()[0] == (
        "~ recreate container side (tied to a container that no longer exists: network_mode container:777777777777)"
    )


def test_image_declared_volumes_become_owned_named_volumes_and_force_stop_first():
    spec = web(update=UpdatePolicy(order="start-first"))
    o = dataclasses.replace(observed(running(web(), "1"), running(db(), "2")), image_volumes={IMAGE: ("/var/data",)})
    plan = make_plan(desired(dataclasses.replace(spec, env={"GREETING": "new"}), db()), o, NS)
    text = plan_text(plan, steps=True).splitlines()
    assert text[:2] == ["+ create volume db_var_data (missing)", "    create volume db_var_data"]
    assert "~ recreate container web (spec changed: env; replaced stop-first: it keeps data in image volumes)" in text
    web_task = {t.key: t for t in plan.tasks}["container/web"]
    assert [str(a) for a in web_task.steps][1] == "stop 111111111111"
    create = web_task.steps[0]
    assert Mount("volume", "/var/data", "web_var_data") in create.spec.mounts
    declared = dataclasses.replace(spec, env={"GREETING": "new"})
    assert dict(create.labels)["io.reconciler.spec-hash"] == spec_hash(declared)


def test_a_network_removal_waits_only_for_the_containers_that_use_it():
    old = NetworkSpec(name="old", source=Source("net.toml", 9))
    o = observed(running(web(), "1"), running(db(), "2"), networks=(FRONT, old))
    plan = make_plan(desired(web(env={"GREETING": "x"}), db()), o, NS)
    assert {t.key: t for t in plan.tasks}["network/old"].after == frozenset()


def test_a_long_form_bind_whose_source_the_host_lacks_blocks_the_container_with_its_file_and_line():
    spec = web(mounts=(Mount("bind", "/data", "/no/such/dir"),))
    text = printed(desired(spec, db()), observed(running(db(), "2")), missing_paths=frozenset({"/no/such/dir"}))
    assert text.splitlines()[:2] == [
        "+ create container web (missing; bind source missing on this host: /no/such/dir, declared at web.toml:1)",
        "    blocked: bind source /no/such/dir, declared at web.toml:1 does not exist on this host "
        "(the long form needs it)",
    ]


def test_a_sidecar_is_replaced_when_the_container_whose_network_stack_it_shares_is_started_again():
    o = observed(running(web(), "1"), running(db(), "2", state="exited", exit_code=137),
                 running(sidecar(), "3", network_mode="container:" + "2" * 64, networks=frozenset()))
    text = printed(desired(web(), db(), sidecar()), o)
    assert "~ recreate container side (tied to a replaced container: db (started again: a new network namespace))" in (
        text.splitlines())


def test_the_anonymous_volume_of_a_container_made_before_image_volumes_were_owned_moves_to_its_replacement():
    anonymous = "f" * 64
    o = dataclasses.replace(
        observed(running(web(), "1", volumes={"/var/data": anonymous}), running(db(), "2")),
        image_volumes={IMAGE: ("/var/data",)},
    )
    plan = make_plan(desired(web(env={"GREETING": "new"}), db()), o, NS)
    web_task = {t.key: t for t in plan.tasks}["container/web"]
    assert Mount("volume", "/var/data", anonymous) in web_task.steps[0].spec.mounts
    assert "keeps the data of its anonymous volume: /var/data in ffffffffffff" in str(web_task.change)
    assert "volume/web_var_data" not in {t.key for t in plan.tasks}


def test_a_target_is_not_replaced_while_the_file_of_a_container_tied_to_it_is_invalid():
    o = observed(running(web(), "1"), running(db(), "2"),
                 running(sidecar(), "3", network_mode="container:" + "2" * 64, networks=frozenset()))
    text = printed(desired(web(), db(env={"A": "b"}), sidecar()), o, invalid_files=frozenset({"side.toml"}))
    assert text.splitlines()[:2] == [
        "~ recreate container db (spec changed: env)",
        "    blocked: container/side is tied to it and its file is invalid: replacing it would cut that container off",
    ]


def test_a_sidecar_is_replaced_when_its_network_stack_container_was_restarted_after_it():
    pinned = dict(network_mode="container:" + "2" * 64, networks=frozenset())
    restarted = observed(running(web(), "1"), running(db(), "2", up_seconds=5.0),
                         running(sidecar(), "3", up_seconds=3600.0, **pinned))
    assert "~ recreate container side (tied to a replaced container: db (started again: a new network namespace))" in (
        printed(desired(web(), db(), sidecar()), restarted).splitlines())
    in_order = observed(running(web(), "1"), running(db(), "2", up_seconds=3600.0),
                        running(sidecar(), "3", up_seconds=3600.0, **pinned))
    assert printed(desired(web(), db(), sidecar()), in_order).startswith("No changes")


def test_the_summary_counts_blocked_changes_and_blocked_tasks_together():
    o = observed(running(web(), "1", state="restarting", restart_count=5), running(db(), "2"))
    text = printed(desired(web(), db()), o, held={"container/db": "backoff"}, invalid_files=frozenset())
    assert text.splitlines()[-1] == "Plan: 1 blocked."
    o2 = observed(running(web(), "1", state="restarting", restart_count=5))
    assert printed(desired(web(), db()), o2, held={"container/db": "backoff"}).splitlines()[-1] == "Plan: 2 blocked."


def test_a_network_the_engine_cannot_honour_is_blocked_naming_the_engine_and_so_are_its_containers():
    why = "podman 4.3.1 does not honour the network option(s) com.docker.network.bridge.enable_icc"
    o = observed(networks=(), refused={"network/front": why})
    lines = printed(desired(db()), o).splitlines()
    assert lines[:4] == [
        f"+ create network front (missing; not honoured by the engine: {why})",
        f"    blocked: {why}",
        "+ create container db (missing)",
        "    blocked: network/front is blocked",
    ]


def test_a_digest_pinned_image_on_the_host_is_never_pulled_again_even_with_pull_always():
    pinned = "127.0.0.1:5000/app@sha256:" + "c" * 64
    o = dataclasses.replace(observed(running(web(image=pinned, pull="always"), "1"), running(db(), "2")),
                            images={IMAGE: IMAGE_ID, pinned: IMAGE_ID})
    assert "image" not in printed(desired(web(image=pinned, pull="always"), db()), o)
    tagged = observed(running(web(pull="always"), "1"), running(db(), "2"))
    assert f"^ check image {IMAGE} (pull = always)" in printed(desired(web(pull="always"), db()), tagged)


def test_a_newer_image_the_host_lost_is_pulled_again_though_its_container_runs():
    spec = web(pull="newer")
    untagged = dataclasses.replace(observed(running(spec, "1"), running(db(), "2")), images={})
    assert printed(desired(spec, db()), untagged) == f"< pull image {IMAGE} (not on this host)\nPlan: 1 to pull."
