import json
import os
import stat
import threading
import urllib.error
import urllib.request

import pytest

from reconciler.agent.status import ResourceReport, Status, StatusServer, default_status_file, parse_address
from reconciler.desired.problems import Problem


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def status(tmp_path, clock) -> Status:
    return Status("prod", str(tmp_path / "desired"), interval=30, path=str(tmp_path / "run" / "prod.status.json"),
                  clock=clock, monotonic=clock)


def metric_value(status: Status, name: str, labels: dict | None = None) -> float:
    return status.metrics.registry.get_sample_value(name, labels or {})


# the default status file


def test_status_file_env_var_wins():
    env = {"RECONCILER_STATUS_FILE": "/tmp/s.json", "XDG_RUNTIME_DIR": "/run/user/1000"}
    assert default_status_file("prod", env, euid=0) == "/tmp/s.json"


def test_root_writes_the_status_file_under_run():
    assert default_status_file("prod", {}, euid=0) == "/run/reconciler/prod.status.json"


def test_a_user_writes_the_status_file_under_xdg_runtime_dir():
    env = {"XDG_RUNTIME_DIR": "/run/user/1000"}
    assert default_status_file("prod", env, euid=1000) == "/run/user/1000/reconciler/prod.status.json"


def test_a_user_without_xdg_runtime_dir_writes_under_the_home_cache():
    expected = os.path.expanduser("~/.cache/reconciler/prod.status.json")
    assert default_status_file("prod", {}, euid=1000) == expected


# the status as data


def test_snapshot_names_the_agent(status, tmp_path):
    snap = status.snapshot()
    assert snap["namespace"] == "prod"
    assert snap["directory"] == str(tmp_path / "desired")
    assert snap["pid"] == os.getpid()
    assert snap["started_at"] == "2023-11-14T22:13:20+00:00"


def test_record_pass_sets_the_last_pass(status, clock):
    status.record_pass("failed", duration=1.23456, counts={"created": 2, "failed": 1}, digest="abc")
    assert status.snapshot()["last_pass"] == {
        "at": "2023-11-14T22:13:20+00:00", "duration_seconds": 1.235, "result": "failed",
        "counts": {"created": 2, "failed": 1}, "digest": "abc",
    }


def test_a_crashed_pass_shows_its_error_in_the_last_pass(status):
    status.record_pass("failed", duration=0.1, error="ValueError: boom")
    assert status.snapshot()["last_pass"]["error"] == "ValueError: boom"


def test_a_converged_pass_sets_the_applied_digest(status):
    status.record_pass("converged", duration=0.1, digest="abc")
    assert status.snapshot()["applied_digest"] == "abc"


def test_a_failed_pass_keeps_the_previous_applied_digest(status):
    status.record_pass("converged", duration=0.1, digest="abc")
    status.record_pass("failed", duration=0.1, digest="def")
    assert status.snapshot()["applied_digest"] == "abc"


def test_resources_are_listed_sorted_with_state_and_message(status):
    status.set_resources([ResourceReport("container", "web", "failed", "pull failed"),
                          ResourceReport("container", "db", "converged")])
    rows = [(r["name"], r["state"], r["message"]) for r in status.snapshot()["resources"]]
    assert rows == [("db", "converged", ""), ("web", "failed", "pull failed")]


def test_since_is_kept_while_a_resource_state_is_unchanged(status, clock):
    status.set_resources([ResourceReport("container", "web", "converged")])
    clock.now += 60
    status.set_resources([ResourceReport("container", "web", "converged", "still fine")])
    assert status.snapshot()["resources"][0]["since"] == "2023-11-14T22:13:20+00:00"


def test_since_moves_when_a_resource_state_changes(status, clock):
    status.set_resources([ResourceReport("container", "web", "converged")])
    clock.now += 60
    status.set_resources([ResourceReport("container", "web", "failed")])
    assert status.snapshot()["resources"][0]["since"] == "2023-11-14T22:14:20+00:00"


def test_set_resources_returns_the_resources_that_entered_their_state(status):
    web, db = ResourceReport("container", "web", "converged"), ResourceReport("container", "db", "converged")
    assert status.set_resources([web, db]) == [web, db]
    failed = ResourceReport("container", "web", "failed", "pull failed")
    assert status.set_resources([failed, db]) == [failed]
    assert status.set_resources([failed, db]) == []


def test_a_resource_no_longer_reported_leaves_the_table(status):
    status.set_resources([ResourceReport("container", "web", "converged")])
    status.set_resources([])
    assert status.snapshot()["resources"] == []


def test_errors_carry_file_line_key_message_and_text(status):
    status.set_errors([Problem("web.toml", 3, "container.web.image", "required")])
    assert status.snapshot()["errors"] == [{
        "file": "web.toml", "line": 3, "key": "container.web.image", "message": "required",
        "text": "web.toml:3: container.web.image: required",
    }]


def test_set_errors_returns_only_the_problems_not_listed_before(status):
    first, second = Problem("web.toml", 3, "container.web.image", "required"), Problem("db.toml", 1, "", "bad")
    assert status.set_errors([first]) == [first]
    assert status.set_errors([first, second]) == [second]
    assert status.set_errors([first, second]) == []


def test_warnings_are_listed_like_errors_and_returned_when_new(status):
    warning = Problem("web.toml", 4, "container.web.env.TAG", "variable TAG is not set; using an empty string")
    assert status.set_warnings([warning]) == [warning]
    assert status.set_warnings([warning]) == []
    assert [w["text"] for w in status.snapshot()["warnings"]] == [str(warning)]
    assert status.snapshot()["errors"] == []


def test_fixed_errors_leave_the_status(status):
    status.set_errors([Problem("web.toml", 3, "container.web.image", "required")])
    status.set_errors([])
    assert status.snapshot()["errors"] == []


def test_pending_retries_are_shown_as_wall_clock_times(status):
    status.set_retries({"container/web": 108.0}, now=100.0)
    assert status.snapshot()["pending_retries"] == [
        {"resource": "container/web", "next_attempt_at": "2023-11-14T22:13:28+00:00"},
    ]


def test_tuple_retry_keys_are_shown_as_kind_slash_name(status):
    status.set_retries({("container", "web"): 100.0}, now=100.0)
    assert status.snapshot()["pending_retries"][0]["resource"] == "container/web"


def test_health_is_ok_within_three_intervals_of_a_heartbeat(status, clock):
    status.heartbeat()
    clock.now += 89
    assert status.health()[0]


def test_health_fails_after_three_intervals_without_a_heartbeat(status, clock):
    status.heartbeat()
    clock.now += 91
    assert status.health() == (False, "no heartbeat for 91s: the loop is stuck")


def test_status_is_safe_to_update_from_many_threads(status):
    def report(i: int) -> None:
        for _ in range(50):
            status.set_resources([ResourceReport("container", f"c{i}", "converged")])
            status.snapshot()

    threads = [threading.Thread(target=report, args=[i]) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(status.snapshot()["resources"]) == 1


# metrics fed by the status


def test_passes_are_counted_by_result(status):
    status.record_pass("converged", 0.1)
    status.record_pass("converged", 0.1)
    status.record_pass("unavailable", 0.1)
    assert metric_value(status, "reconciler_passes_total", {"result": "converged"}) == 2
    assert metric_value(status, "reconciler_passes_total", {"result": "unavailable"}) == 1


def test_pass_durations_feed_the_histogram(status):
    status.record_pass("converged", 0.3)
    assert metric_value(status, "reconciler_pass_duration_seconds_count") == 1
    assert metric_value(status, "reconciler_pass_duration_seconds_sum") == pytest.approx(0.3)


def test_managed_resources_are_counted_by_kind_without_conflicts(status):
    status.set_resources([ResourceReport("container", "web", "converged"),
                          ResourceReport("container", "db", "conflict"),
                          ResourceReport("volume", "data", "retained")])
    assert metric_value(status, "reconciler_managed_resources", {"kind": "container"}) == 1
    assert metric_value(status, "reconciler_managed_resources", {"kind": "volume"}) == 1
    assert metric_value(status, "reconciler_managed_resources", {"kind": "network"}) == 0


def test_each_new_problem_counts_one_desired_state_error(status):
    problem = Problem("web.toml", 3, "container.web.image", "required")
    status.set_errors([problem])
    status.set_errors([problem])
    status.set_errors([problem, Problem("db.toml", 1, "", "bad TOML")])
    assert metric_value(status, "reconciler_errors_total", {"type": "desired_state"}) == 2
    assert metric_value(status, "reconciler_desired_state_problems") == 2


# the status file


def test_save_writes_the_snapshot_as_json(status):
    status.set_resources([ResourceReport("container", "web", "converged")])
    assert status.save()
    with open(status.path) as f:
        assert json.load(f) == status.snapshot()


def test_save_leaves_no_temporary_file_behind(status):
    status.save()
    status.save()
    assert os.listdir(os.path.dirname(status.path)) == ["prod.status.json"]


def test_the_status_file_is_readable_by_other_users(status):
    status.save()
    assert stat.S_IMODE(os.stat(status.path).st_mode) == 0o644


def test_save_without_a_path_writes_nothing(tmp_path, clock):
    assert not Status("prod", str(tmp_path), interval=30).save()


def test_a_failing_write_is_reported_not_raised(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    status = Status("prod", str(tmp_path), interval=30, path=str(blocker / "prod.status.json"))
    assert status.save() is False


# the HTTP endpoint


def get(server: StatusServer, path: str) -> tuple[int, str, str]:
    host, port = server.address
    try:
        with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


def test_healthz_is_200_while_heartbeats_come(server, status):
    status.heartbeat()
    assert get(server, "/healthz")[0] == 200


def test_healthz_is_503_when_the_loop_stopped_beating(server, status, clock):
    status.heartbeat()
    clock.now += 1000
    code, _, body = get(server, "/healthz")
    assert code == 503
    assert "no heartbeat for 1000s" in body


def test_status_endpoint_serves_the_json_status(server, status):
    status.set_resources([ResourceReport("container", "web", "crashloop", "exited 3 times")])
    code, content_type, body = get(server, "/status")
    assert (code, content_type) == (200, "application/json")
    assert json.loads(body)["resources"][0]["state"] == "crashloop"


def test_metrics_endpoint_serves_prometheus_text(server, status):
    status.record_pass("converged", 0.2)
    status.metrics.action("recreate", "ok")
    status.metrics.drift_corrected()
    code, content_type, body = get(server, "/metrics")
    assert code == 200 and content_type.startswith("text/plain")
    assert 'reconciler_passes_total{result="converged"} 1.0' in body
    assert 'reconciler_actions_total{kind="recreate",result="ok"} 1.0' in body
    assert "reconciler_drift_corrections_total 1.0" in body
    assert "reconciler_pass_duration_seconds_bucket" in body


def test_unknown_paths_are_404(server):
    assert get(server, "/nope")[0] == 404


def test_an_ephemeral_port_is_bound_and_reported(server):
    assert server.address[0] == "127.0.0.1" and server.address[1] > 0


@pytest.mark.parametrize("address, expected", [
    ("127.0.0.1:9110", ("127.0.0.1", 9110)),
    ("[::1]:9110", ("::1", 9110)),
    (":9110", ("127.0.0.1", 9110)),
    ("localhost:0", ("localhost", 0)),
])
def test_status_addresses_parse(address, expected):
    assert parse_address(address) == expected


@pytest.mark.parametrize("address", ["9110", "host:", "host:http", "host:70000"])
def test_malformed_status_addresses_are_refused(address):
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_address(address)
