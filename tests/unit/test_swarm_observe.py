"""Parsing the Swarm engine's answers (runtime.swarm_observe): task counts and the normalised spec."""

from __future__ import annotations

from runtime.swarm_base import ObservedTasks
from runtime.swarm_observe import count_tasks as counted
from runtime.swarm_observe import engine, held_names, normalised_spec


def task(service: str, state: str, desired: str = "running", err: str = "", at: str = "2026-01-01T00:00:00Z",
         node: str = "node1"):
    return {"ServiceID": service, "NodeID": node, "DesiredState": desired,
            "Status": {"State": state, "Err": err, "Timestamp": at}}


def item(id: str, mode=None):
    """A `GET /services` item of that id and Spec.Mode (by default one replica)."""
    return {"ID": id, "Spec": {"Mode": mode if mode is not None else {"Replicated": {"Replicas": 1}}}}


def count_tasks(tasks, services=None):
    """runtime.swarm_observe.count_tasks with a one-replica service for each service id the tasks name."""
    return counted(tasks, services if services is not None else [item(i) for i in {t["ServiceID"] for t in tasks}])


def test_tasks_are_counted_per_service_as_service_ls_does():
    counts = count_tasks([task("a", "running"), task("a", "starting"), task("a", "shutdown", "shutdown"),
                          task("b", "complete", "complete")],
                         [item("a", {"Replicated": {"Replicas": 2}}),
                          item("b", {"ReplicatedJob": {"MaxConcurrent": 1, "TotalCompletions": 1}})])

    assert counts == {"a": ObservedTasks(running=1, desired=2), "b": ObservedTasks(desired=1, completed=1)}


def test_a_replicated_service_wants_its_specs_replicas_not_the_old_and_new_task_of_a_start_first_update():
    counts = count_tasks([task("a", "running", at="2026-01-01T00:00:01Z"), task("a", "running"),
                          task("a", "starting", at="2026-01-01T00:00:09Z")],
                         [item("a", {"Replicated": {"Replicas": 2}})])

    assert (counts["a"].running, counts["a"].desired) == (2, 2)


def test_a_replicated_service_without_tasks_still_wants_its_replicas():
    assert count_tasks([], [item("a", {"Replicated": {"Replicas": 3}})]) == {"a": ObservedTasks(desired=3)}


def test_a_global_service_wants_its_tasks_desired_running_one_per_node():
    counts = count_tasks([task("g", "running", node="n1"), task("g", "pending", node="n2"),
                          task("g", "shutdown", "shutdown", node="n1")], [item("g", {"Global": {}})])

    assert (counts["g"].running, counts["g"].desired) == (1, 2)


def test_a_replicated_job_wants_its_completions():
    counts = count_tasks([task("j", "complete", "complete")],
                         [item("j", {"ReplicatedJob": {"MaxConcurrent": 3, "TotalCompletions": 3}})])

    assert (counts["j"].completed, counts["j"].desired) == (1, 3)


def test_the_last_error_is_the_most_recent_failed_tasks():
    counts = count_tasks([task("a", "failed", "shutdown", "task: non-zero exit (1)", "2026-01-01T00:00:02Z"),
                          task("a", "rejected", "shutdown", "no such image", "2026-01-01T00:00:01Z")])

    assert counts["a"].last_error == "task: non-zero exit (1)"


def test_the_last_error_of_a_stalled_service_is_its_pending_tasks_not_an_older_failure():
    counts = count_tasks([
        task("a", "running", at="2026-01-01T00:00:05Z"),
        task("a", "failed", "shutdown", "task: non-zero exit (4)", "2026-01-01T00:00:09Z"),
        task("a", "pending", "running", "no suitable node (host-mode port already in use on 1 node)",
             "2026-01-01T00:00:08Z")])

    assert counts["a"].last_error == "no suitable node (host-mode port already in use on 1 node)"


def test_a_pending_task_without_an_error_is_no_error():
    counts = count_tasks([{"ServiceID": "a", "DesiredState": "running",
                           "Status": {"State": "pending", "Message": "pending task scheduling"}}])

    assert counts["a"].last_error is None


def test_a_failure_of_a_task_no_longer_wanted_is_the_error_while_no_wanted_task_has_one():
    counts = count_tasks([task("a", "starting", at="2026-01-01T00:00:09Z"),
                          task("a", "failed", "shutdown", "task: non-zero exit (4)", "2026-01-01T00:00:08Z")])

    assert counts["a"].last_error == "task: non-zero exit (4)"


def failed(id: str, exit_code: int, created: str, at: str):
    """A failed task of service "a" made at `created` that ended at `at` with `exit_code`."""
    return {**task("a", "failed", "shutdown", f"task: non-zero exit ({exit_code})", at), "ID": id, "CreatedAt": created}


def updating(state: str, message: str, started: str = "2026-01-01T00:01:00Z"):
    """Service "a" whose rolling update started at `started` and is in `state` with Swarm's `message`."""
    return {**item("a"), "UpdateStatus": {"State": state, "Message": message, "StartedAt": started}}


def test_a_rollback_names_the_error_of_the_task_swarm_blames_not_a_more_recent_one():
    tasks = [failed("t7", 7, "2026-01-01T00:01:01Z", "2026-01-01T00:01:05Z"),
             failed("t9", 9, "2026-01-01T00:01:06Z", "2026-01-01T00:01:09Z")]
    service = updating("rollback_started", "update rolled back due to failure or early termination of task t7")

    assert count_tasks(tasks, [service])["a"].last_error == "task: non-zero exit (7)"


def test_a_failure_of_an_earlier_update_is_not_the_error_of_this_one():
    tasks = [failed("t4", 4, "2026-01-01T00:00:01Z", "2026-01-01T00:01:30Z"),
             failed("t7", 7, "2026-01-01T00:01:01.5Z", "2026-01-01T00:01:05.123456789Z")]
    service = updating("rollback_completed", "rollback completed")

    assert count_tasks(tasks, [service])["a"].last_error == "task: non-zero exit (7)"


def test_a_rollout_whose_tasks_have_not_failed_has_no_error_of_an_earlier_update():
    tasks = [failed("t4", 4, "2026-01-01T00:00:01Z", "2026-01-01T00:00:30Z"),
             {**task("a", "running", at="2026-01-01T00:01:02Z"), "ID": "t5", "CreatedAt": "2026-01-01T00:01:01Z"}]

    assert count_tasks(tasks, [updating("updating", "update in progress")])["a"].last_error is None


def test_network_targets_become_names_and_object_references_lose_their_ids():
    spec = {"TaskTemplate": {"Networks": [{"Target": "n1id", "Aliases": ["web"]}],
                             "ContainerSpec": {"Secrets": [{"SecretID": "s1", "SecretName": "token-ab12"}],
                                               "Configs": [{"ConfigID": "c1", "ConfigName": "app-cd34"}]}}}

    normalised = normalised_spec(spec, {"n1id": "front"})

    assert normalised["TaskTemplate"] == {"Networks": [{"Target": "front", "Aliases": ["web"]}],
                                          "ContainerSpec": {"Secrets": [{"SecretName": "token-ab12"}],
                                                            "Configs": [{"ConfigName": "app-cd34"}]}}
    assert spec["TaskTemplate"]["Networks"][0]["Target"] == "n1id"


def test_the_deprecated_top_level_networks_move_into_the_task_template():
    normalised = normalised_spec({"Networks": [{"Target": "n1id"}], "TaskTemplate": {}}, {"n1id": "front"})

    assert (normalised["TaskTemplate"]["Networks"], "Networks" in normalised) == ([{"Target": "front"}], False)


def test_held_names_are_exact_and_exclude_owned_ids():
    items = [{"ID": "1", "Spec": {"Name": "web"}}, {"ID": "2", "Spec": {"Name": "web-2"}},
             {"ID": "3", "Spec": {"Name": "db"}}]

    assert held_names(items, ("web", "db", "cache"), owned_ids=["3"]) == frozenset({"web"})


def test_a_managers_engine_is_described_as_on_one_host_with_its_place_in_the_swarm():
    version = {"Version": "20.10.24", "ApiVersion": "1.41"}
    info = {"Driver": "overlay2", "Swarm": {"NodeID": "n1", "LocalNodeState": "active", "ControlAvailable": True,
                                            "Nodes": 3, "Managers": 1, "Cluster": {"ID": "c1"}}}

    described = engine(version, info)

    assert (described["kind"], described["version"], described["api_version"]) == ("docker", "20.10.24", "1.41")
    assert described["swarm"] == {"role": "manager", "node_id": "n1", "cluster_id": "c1", "nodes": 3, "managers": 1}
