"""reconciler.swarm diff and plan, pure: (desired, SwarmState) in, the printed plan out."""

from __future__ import annotations

import dataclasses
import json
from importlib.resources import files

from jsonschema import Draft202012Validator

from reconciler.commands.render import plan_json
from reconciler.fields import FileGrant, Mount, NetworkAttachment, UpdatePolicy
from reconciler.model import (
    LABEL_MANAGED,
    LABEL_NAME,
    LABEL_TARGET,
    TARGET_SWARM,
    ContainerSpec,
    DesiredState,
    NetworkSpec,
    SecretSpec,
    Source,
    VolumeSpec,
)
from reconciler.ownership import owned_labels
from reconciler.swarm.compare import differences
from reconciler.swarm.options import SwarmOptions
from reconciler.swarm.plan import make_plan
from reconciler.swarm.rollout import ROLLED_BACK_PREFIX, rollback_labels
from reconciler.swarm.service_spec import LABEL_SECRET_DIGEST, object_name, render
from reconciler.tasks import Step
from runtime.base import ObservedNetwork
from runtime.swarm_base import ObservedNode, ObservedObject, ObservedService, SwarmState
from tests.unit.test_plan_json import errors

NS = "ns"
IMAGE = "127.0.0.1:5000/demo:1"
DIGEST = "sha256:" + "d" * 64
NODES = (ObservedNode("node1", "swarm-1"),)
FRONT = NetworkSpec(name="front", source=Source("net.toml", 1))
OLD_PW = "hmac-sha256:" + "1" * 64
NEW_PW = "hmac-sha256:" + "2" * 64


def web(**changes) -> ContainerSpec:
    spec = ContainerSpec(name="web", image=IMAGE, source=Source("web.toml", 1), replicas=2,
                         networks=(NetworkAttachment("front"),), update=UpdatePolicy(order="start-first"))
    return dataclasses.replace(spec, **changes)


def pw(digest: str = NEW_PW) -> SecretSpec:
    return SecretSpec(name="pw", source=Source("secrets.toml", 1), environment="PW", digest=digest)


def desired(*services: ContainerSpec, networks=(FRONT,), secrets=(), volumes=()) -> DesiredState:
    return DesiredState(containers={s.name: s for s in services}, networks={n.name: n for n in networks},
                        volumes={v.name: v for v in volumes}, secrets={s.name: s for s in secrets})


def running(spec: ContainerSpec, id: str = "svc1", **changes) -> ObservedService:
    """The service the engine holds after creating `spec`'s rendering (an update's spec changed by `changes`)."""
    body = render(spec, NS, DIGEST, NODES)
    return ObservedService(id=id, name=spec.name, version=7, labels=body["Labels"], spec=body, **changes)


def swarm(*services: ObservedService, networks=(FRONT,), secrets=(), **extra) -> SwarmState:
    return SwarmState(
        services=services,
        networks=tuple(ObservedNetwork("net-" + n.name, n.name, owned_labels(n, NS), "overlay") for n in networks),
        secrets=secrets, **{"nodes": NODES, "digests": {IMAGE: DIGEST}, **extra})


def secret_object(spec: SecretSpec, id: str) -> ObservedObject:
    labels = {LABEL_MANAGED: NS, LABEL_NAME: spec.name, LABEL_SECRET_DIGEST: spec.digest}
    return ObservedObject(id, object_name(spec), labels)


def text(desired_state: DesiredState, observed: SwarmState, **options) -> str:
    return str(make_plan(desired_state, observed, NS, SwarmOptions(**options)))


def scaled(service: ObservedService, replicas: int) -> ObservedService:
    spec = {**service.spec, "Mode": {"Replicated": {"Replicas": replicas}}}
    return dataclasses.replace(service, spec=spec)


def test_a_stack_is_created_network_first():
    assert text(desired(web()), swarm(networks=())) == "\n".join([
        "+ create network front (missing)",
        "    create network front",
        "+ create service web (missing)",
        "    create service web",
        "Plan: 2 to create.",
    ])


def test_a_service_after_its_network():
    plan = make_plan(desired(web()), swarm(networks=()), NS, SwarmOptions())
    assert {t.key: t.after for t in plan.tasks}["service/web"] == {"network/front"}


def test_the_create_carries_the_rendered_spec_and_the_network_is_an_attachable_overlay():
    plan = make_plan(desired(web()), swarm(networks=()), NS, SwarmOptions())
    network, service = (t.steps[0] for t in plan.tasks)
    assert (network.body["driver"], network.body["attachable"]) == ("overlay", True)
    assert service.body == render(web(), NS, DIGEST, NODES)


def test_the_network_is_created_with_the_swarm_targets_mark_beside_its_ownership_labels():
    plan = make_plan(desired(web()), swarm(networks=()), NS, SwarmOptions())
    assert dict(plan.tasks[0].steps[0].labels) == {**owned_labels(FRONT, NS), LABEL_TARGET: TARGET_SWARM}


def test_nothing_to_do_when_the_swarm_runs_the_files():
    assert text(desired(web()), swarm(running(web()))) == "No changes: the engine matches the desired state."


def test_scaling_in_the_files_names_the_counts():
    assert text(desired(web(replicas=3)), swarm(running(web()))) == "\n".join([
        "% update service web (replicas: 2 -> 3)",
        "    update service web (rolling: start-first, 1 at a time; Swarm rolls back on failure), "
        "wait until it completes (at most 191s)",
        "Plan: 1 to update.",
    ])


def test_the_update_names_the_observed_version():
    plan = make_plan(desired(web(replicas=3)), swarm(running(web())), NS, SwarmOptions())
    update = plan.tasks[0].steps[0]
    assert (update.step, update.target, update.version) == (Step.UPDATE_SERVICE, "svc1", 7)


def test_a_rolling_update_names_the_changed_keys():
    changed = web(env={"GREETING": "hi"}, update=UpdatePolicy(order="stop-first", parallelism=2, delay=5.0))
    assert text(desired(changed), swarm(running(web()))) == "\n".join([
        "% update service web (spec changed: env, update)",
        "    update service web (rolling: stop-first, 2 at a time, 5s apart; Swarm rolls back on failure), "
        "wait until it completes (at most 91s)",
        "Plan: 1 to update.",
    ])


def test_a_jobs_update_runs_it_again_and_follows_no_rolling_update():
    job = web(state="completed", replicas=1, command=("true",))
    assert text(desired(dataclasses.replace(job, command=("echo", "again"))), swarm(running(job))) == "\n".join([
        "% update service web (spec changed: command)",
        "    update service web (a job: Swarm runs it again)",
        "Plan: 1 to update.",
    ])


def test_a_mode_change_makes_the_service_again():
    assert text(desired(web(mode="global")), swarm(running(web()))) == "\n".join([
        "~ recreate service web (mode changed: replicated -> global)",
        "    remove service web",
        "    create service web",
        "Plan: 1 to recreate.",
    ])


def test_a_service_scaled_by_hand_is_scaled_back():
    assert text(desired(web()), swarm(scaled(running(web()), 5))) == "\n".join([
        "% update service web (changed out of band: Mode.Replicated.Replicas)",
        "    update service web (rolling: start-first, 1 at a time; Swarm rolls back on failure), "
        "wait until it completes (at most 131s)",
        "Plan: 1 to update.",
    ])


def test_a_service_removed_by_hand_is_made_again():
    assert text(desired(web()), swarm()).splitlines()[0] == "+ create service web (missing)"


def test_an_image_moved_at_its_registry_updates_the_service():
    moved = "sha256:" + "e" * 64
    plan = text(desired(web()), swarm(running(web()), digests={IMAGE: moved}))
    assert plan.splitlines()[0] == f"% update service web (image moved: {IMAGE}: dddddddddddd -> eeeeeeeeeeee)"


def test_a_node_joining_changes_the_placement():
    pinned = web(hosts=("swarm-1",))
    grown = (*NODES, ObservedNode("node2", "swarm-2"))
    plan = text(desired(pinned), swarm(running(pinned), nodes=grown))
    assert plan.splitlines()[0] == "% update service web (nodes changed)"


def rolled_back_from(failed: ContainerSpec, why: str) -> ObservedService:
    """web as Swarm rolled it back from `failed`, labelled by the executor (rollout.rollback_labels)."""
    service = running(web())
    labels = {**service.labels, **rollback_labels(render(failed, NS, DIGEST, NODES)["Labels"], why)}
    return dataclasses.replace(service, labels=labels, spec={**service.spec, "Labels": labels})


def test_an_update_rolled_back_by_swarm_is_quarantined_until_the_files_change():
    failed = web(env={"BROKEN": "1"})
    rolled_back = rolled_back_from(failed, "update rolled back: task exited")
    assert text(desired(failed), swarm(rolled_back)) == "\n".join([
        "# blocked service web (rolled back by Swarm: update rolled back: task exited)",
        "Plan: 1 blocked.",
    ])


def test_a_new_edit_after_a_rollback_is_tried():
    failed = web(env={"BROKEN": "1"})
    rolled_back = rolled_back_from(failed, "task exited")
    assert text(desired(web(env={"FIXED": "1"})), swarm(rolled_back)).startswith("% update service web (spec changed")


def test_a_revert_to_the_running_spec_after_a_rollback_clears_the_rollback_record():
    rolled_back = rolled_back_from(web(env={"BROKEN": "1"}), "task exited")
    plan = make_plan(desired(web()), swarm(rolled_back), NS)
    assert text(desired(web()), swarm(rolled_back)).splitlines()[0] == (
        "% update service web (rollback record cleared: the files no longer declare the spec Swarm rolled back)")
    assert not [k for k in plan.tasks[0].steps[0].body["Labels"] if k.startswith(ROLLED_BACK_PREFIX)]


def test_an_image_without_a_registry_digest_is_blocked_with_the_push_hint():
    assert text(desired(web()), swarm(digests={})).splitlines()[0] == (
        f"# blocked service web (no registry digest: {IMAGE}: push it to a registry the nodes can pull from "
        f"(`docker push {IMAGE}`))")


def test_a_running_service_keeps_its_digest_while_the_registry_is_out_of_reach():
    plan = text(desired(web()), swarm(running(web()), digests={}))
    assert plan == "No changes: the engine matches the desired state."


def test_hosts_matching_no_node_are_blocked():
    assert text(desired(web(hosts=("db-*",))), swarm()).splitlines()[0] == (
        "# blocked service web (hosts match no node of the swarm: db-*)")


def test_a_rotated_secret_is_created_before_the_update_and_the_old_one_kept_for_a_rollback():
    old, new = pw(OLD_PW), pw(NEW_PW)
    using = web(secrets=(FileGrant("pw", "/run/secrets/pw", digest=OLD_PW),))
    rotated = web(secrets=(FileGrant("pw", "/run/secrets/pw", digest=NEW_PW),))
    plan = make_plan(desired(rotated, secrets=(new,)), swarm(running(using), secrets=(secret_object(old, "sec1"),)),
                     NS, SwarmOptions())
    assert str(plan) == "\n".join([
        "= retain secret pw-111111111111 (an older value, no longer used; kept for a rollback: the previous spec "
        "of service web will name it once updated)",
        "+ create secret pw-222222222222 (missing)",
        "    create secret pw-222222222222",
        "% update service web (secret changed: secrets)",
        "    update service web (rolling: start-first, 1 at a time; Swarm rolls back on failure), "
        "wait until it completes (at most 131s)",
        "Plan: 1 to create, 1 to update, 1 retained.",
    ])
    assert {t.key: t.after for t in plan.tasks}["service/web"] == {"secret/pw-222222222222"}


OLD_GRANT = (FileGrant("pw", "/run/secrets/pw", digest=OLD_PW),)
NEW_GRANT = (FileGrant("pw", "/run/secrets/pw", digest=NEW_PW),)


def rotated_service(**changes) -> ObservedService:
    """web after its update from the old secret to the new one: PreviousSpec names the old one."""
    return running(web(secrets=NEW_GRANT), previous_spec=render(web(secrets=OLD_GRANT), NS, DIGEST, NODES), **changes)


def rotated_swarm(service: ObservedService) -> SwarmState:
    return swarm(service, secrets=(secret_object(pw(OLD_PW), "sec1"), secret_object(pw(NEW_PW), "sec2")))


def test_a_secret_the_previous_spec_names_is_kept_and_the_swarm_is_converged():
    plan = make_plan(desired(web(secrets=NEW_GRANT), secrets=(pw(),)), rotated_swarm(rotated_service()), NS,
                     SwarmOptions())
    assert (str(plan), plan.has_changes) == ("\n".join([
        "= retain secret pw-111111111111 (an older value, no longer used; kept for a rollback: the previous spec "
        "of service web names it)",
        "No changes: the engine matches the desired state.",
    ]), False)


def test_a_service_whose_rolling_update_is_not_over_is_blocked_and_so_is_the_removal_of_its_old_secret():
    plan = text(desired(web(secrets=NEW_GRANT), secrets=(pw(),)),
                rotated_swarm(rotated_service(update_state="updating", update_message="update in progress")))
    assert plan == "\n".join([
        "# blocked secret pw-111111111111 (an older value, no longer used; Swarm's rolling update is not over: "
        "service web, updating)",
        "# blocked service web (Swarm's rolling update is not over: updating)",
        "Plan: 2 blocked.",
    ])


def test_an_old_secret_no_spec_names_any_longer_is_removed():
    moved_on = running(web(secrets=NEW_GRANT), previous_spec=render(web(secrets=NEW_GRANT, env={"A": "1"}), NS,
                                                                     DIGEST, NODES))
    plan = text(desired(web(secrets=NEW_GRANT), secrets=(pw(),)), rotated_swarm(moved_on))
    assert plan.splitlines()[0] == "- remove secret pw-111111111111 (an older value, no longer used)"


def test_the_secret_is_created_with_its_digest_label_and_no_value():
    plan = make_plan(desired(secrets=(pw(),)), swarm(), NS, SwarmOptions(allow_empty=True))
    create = plan.tasks[0].steps[0]
    assert (create.step, create.target, create.name, create.body) == (Step.CREATE_SECRET, "pw-222222222222", "pw", None)
    assert dict(create.labels) == {LABEL_MANAGED: NS, LABEL_NAME: "pw", LABEL_SECRET_DIGEST: NEW_PW,
                                   LABEL_TARGET: TARGET_SWARM}


def test_a_name_held_by_another_service_is_a_conflict():
    plan = text(desired(web()), swarm(unowned={"service": frozenset({"web"})}))
    assert plan == "! conflict service web (name held by a resource this namespace does not own)\nPlan: 1 conflict(s)."


def test_a_service_using_a_conflicting_network_is_blocked():
    plan = text(desired(web()), swarm(networks=(), unowned={"network": frozenset({"front"})}))
    assert "    blocked: network/front is in conflict" in plan.splitlines()


def test_what_is_no_longer_declared_is_removed_services_first():
    gone = running(web(secrets=(FileGrant("pw", "/run/secrets/pw", digest=OLD_PW),)))
    plan = make_plan(desired(web(name="api"), networks=()),
                     swarm(running(web(name="api"), "svc2"), gone, secrets=(secret_object(pw(OLD_PW), "sec1"),)),
                     NS, SwarmOptions())
    assert [str(c) for c in plan.changes] == [
        "- remove service web (no longer declared)",
        "- remove network front (no longer declared)",
        "- remove secret pw-111111111111 (no longer declared)",
    ]
    after = {t.key: t.after for t in plan.tasks}
    assert after["network/front"] == after["secret/pw-111111111111"] == {"service/web"}


def test_removing_every_service_is_refused_without_allow_empty():
    assert text(desired(networks=()), swarm(running(web()), networks=())) == "\n".join([
        "- remove service web (no longer declared; would remove every owned container)",
        "    blocked: refused: the desired state declares no container (an emptied directory or a wrong path?); "
        "pass --allow-empty to remove every service",
        "    remove service web",
        "Plan: 1 blocked.",
    ])


def test_allow_empty_removes_every_service():
    plan = text(desired(networks=()), swarm(running(web()), networks=()), allow_empty=True)
    assert plan.splitlines()[-1] == "Plan: 1 to remove."


def test_a_declared_volume_is_a_warning():
    data = VolumeSpec(name="data", source=Source("net.toml", 3))
    plan = text(desired(web(), volumes=(data,)), swarm(running(web())))
    assert plan.splitlines()[0] == "? warn volume data (volumes are made by each node when a task mounts them)"


def test_a_changed_declaration_of_a_mounted_volume_updates_the_service_naming_volumes():
    data = VolumeSpec(name="data", source=Source("vol.toml", 1), options={"type": "tmpfs", "device": "tmpfs"})
    mounted = web(mounts=(Mount("volume", "/data", "data"),))
    before = render(mounted, NS, DIGEST, NODES, {"data": data})
    have = ObservedService(id="svc1", name="web", version=7, labels=before["Labels"], spec=before)
    changed = dataclasses.replace(data, options={"type": "tmpfs", "device": "tmpfs", "o": "size=1m"})
    assert text(desired(mounted, volumes=(data,)), swarm(have)).splitlines()[1:] == [
        "No changes: the engine matches the desired state."]
    assert text(desired(mounted, volumes=(changed,)), swarm(have)).splitlines()[1] == (
        "% update service web (spec changed: volumes)")


def test_without_the_lease_every_task_is_blocked():
    plan = text(desired(web()), swarm(networks=()), not_leader="lease held by other until 12:00:00Z")
    assert plan.splitlines()[1:4] == ["    blocked: lease held by other until 12:00:00Z", "    create network front",
                                      "+ create service web (missing)"]


def test_a_service_of_an_invalid_file_is_frozen():
    plan = text(desired(web(replicas=3)), swarm(running(web())), invalid_files=frozenset({"web.toml"}))
    assert plan.splitlines()[1] == "    blocked: its file web.toml is invalid; the last valid content stays in force"


def test_a_swarm_plan_of_every_kind_validates_against_the_plan_json_schema():
    old = secret_object(pw(OLD_PW), "sec1")
    observed = swarm(running(web(name="gone"), "svc9"), running(web(), update_state=None), secrets=(old,))
    plan = make_plan(desired(web(replicas=3), secrets=(pw(),)), observed, NS, SwarmOptions())
    data = json.loads(plan_json(plan))
    assert {c["kind"] for c in data["changes"]} == {"secret", "service"}
    schema = Draft202012Validator(json.loads((files("schemas") / "plan.schema.json").read_text()))
    assert errors(schema, plan_json(plan)) == []


def test_an_empty_list_and_an_absent_field_are_the_same():
    assert differences({"A": {"Env": [], "Delay": 0, "B": None}}, {"A": {}}) == []


def test_a_list_of_records_is_compared_item_by_item():
    rendered = {"Mounts": [{"Source": "a", "Target": "/a"}]}
    assert differences(rendered, {"Mounts": [{"Source": "b", "Target": "/a", "Extra": 1}]}) == ["Mounts[0].Source"]


def test_a_label_added_by_hand_to_the_tasks_is_a_difference():
    rendered = {"ContainerSpec": {"Labels": {"a": "1"}}}
    assert differences(rendered, {"ContainerSpec": {"Labels": {"a": "1", "b": "2"}}}) == ["ContainerSpec.Labels"]


def test_the_services_own_labels_are_compared_key_by_key():
    assert differences({"Labels": {"a": "1"}}, {"Labels": {"a": "1", "com.example": "x"}}) == []


def test_an_update_after_a_rotation_removes_the_older_value_its_previous_spec_named_after_the_update():
    edited = web(secrets=NEW_GRANT, env={"V": "2"})
    plan = make_plan(desired(edited, secrets=(pw(),)), rotated_swarm(rotated_service()), NS, SwarmOptions())
    assert str(plan) == "\n".join([
        "% update service web (spec changed: env)",
        "    update service web (rolling: start-first, 1 at a time; Swarm rolls back on failure), "
        "wait until it completes (at most 131s)",
        "- remove secret pw-111111111111 (an older value, no longer used)",
        "    remove secret pw-111111111111",
        "Plan: 1 to update, 1 to remove.",
    ])
    assert {t.key: t.after for t in plan.tasks}["secret/pw-111111111111"] == {"service/web"}
