"""The agent loop's decisions, pass by pass, on the in-memory engine and a clock the test moves."""

from __future__ import annotations

import threading
import time

import pytest
from structlog.testing import capture_logs

from reconciler.agent.accounting import CRASHLOOP_AFTER
from reconciler.agent.loop import Agent
from reconciler.agent.statedir import StateDir
from reconciler.agent.status import Status
from reconciler.commands import run as run_command
from reconciler.commands.cli import build_parser
from runtime.base import InvalidSpec
from runtime.memory import MemoryRuntime
from tests.unit.conftest import NS, new_agent
from tests.unit.desired import write

WEB = '[container.web]\nimage = "demo"\nenv = { GREETING = "hello" }\n'
DB = '[container.db]\nimage = "demo"\nenv = { GREETING = "hello" }\n'


def states(agent: Agent) -> dict[str, str]:
    return {f"{r['kind']}/{r['name']}": r["state"] for r in agent.status.snapshot()["resources"]}


def last_result(agent: Agent) -> str:
    return agent.status.snapshot()["last_pass"]["result"]


def metric(agent: Agent, name: str, labels: dict[str, str] | None = None) -> float:
    return agent.status.metrics.registry.get_sample_value(name, labels or {}) or 0.0


def logged(logs: list[dict], event: str) -> list[dict]:
    return [entry for entry in logs if entry["event"] == event]


def creates(engine: MemoryRuntime, name: str) -> int:
    return sum(1 for (spec, _, _) in engine.calls_to("create_container") if spec.name == name)


def starts(engine: MemoryRuntime) -> int:
    return len(engine.calls_to("start_container"))


def converged(agent: Agent, root, files: dict[str, str]) -> Agent:
    write(root, files)
    agent.run_pass()
    assert last_result(agent) == "converged"
    return agent


def fail_web_creates(agent: Agent, engine: MemoryRuntime, root, times: int) -> None:
    """Edit web and let its replacement fail `times` passes in a row, each when it is due."""
    converged(agent, root, {"web.toml": WEB})
    write(root, {"web.toml": WEB.replace("hello", "bonjour")})
    for _ in range(times):
        agent.clock.now = agent.backoff.next_due() or agent.clock.now
        engine.fail_next("create_container", InvalidSpec("boom"))
        agent.run_pass()


# -- backoff of a failing resource ------------------------------------------------------------


def test_a_failed_action_is_not_retried_before_its_backoff_is_due(agent, engine, root, clock):
    fail_web_creates(agent, engine, root, times=1)
    clock.now += 0.5
    agent.run_pass()
    assert creates(engine, "web") == 2  # the first create, and the one that failed
    assert [r["resource"] for r in agent.status.snapshot()["pending_retries"]] == ["container/web"]


def test_a_failed_action_is_retried_once_its_backoff_is_due(agent, engine, root, clock):
    fail_web_creates(agent, engine, root, times=1)
    clock.now += 1.0
    agent.run_pass()
    assert creates(engine, "web") == 3
    assert last_result(agent) == "converged"


def test_each_consecutive_failure_doubles_the_wait(agent, engine, root, clock):
    waits = []
    converged(agent, root, {"web.toml": WEB})
    write(root, {"web.toml": WEB.replace("hello", "bonjour")})
    for _ in range(4):
        clock.now = agent.backoff.next_due() or clock.now
        engine.fail_next("create_container", InvalidSpec("boom"))
        agent.run_pass()
        waits.append(agent.backoff.next_due() - clock.now)
    assert waits == [1.0, 2.0, 4.0, 8.0]


def test_a_resource_in_backoff_does_not_hold_up_the_others(agent, engine, root, clock):
    converged(agent, root, {"db.toml": DB})
    fail_web_creates(agent, engine, root, times=1)
    write(root, {"db.toml": DB.replace("hello", "bonjour")})
    clock.now += 0.5
    agent.run_pass()
    assert creates(engine, "db") == 2
    assert creates(engine, "web") == 2
    assert states(agent) == {"container/db": "converged", "container/web": "failed"}  # waiting for its retry


def test_a_resource_that_recovers_leaves_backoff(agent, engine, root, clock):
    fail_web_creates(agent, engine, root, times=2)
    clock.now = agent.backoff.next_due()
    agent.run_pass()
    assert agent.next_retry() is None
    assert agent.status.snapshot()["pending_retries"] == []


# -- crash loops --------------------------------------------------------------------------------


def crash(agent: Agent, engine: MemoryRuntime, root, restarts: int, exit_code: int = 1) -> None:
    """web exits with `exit_code` whenever started; run a pass each time its restart is due."""
    engine.on_start("web", exit_code=exit_code)
    write(root, {"web.toml": WEB})
    agent.run_pass()
    for _ in range(restarts):
        agent.clock.now = agent.next_retry() or agent.clock.now
        agent.run_pass()


@pytest.mark.parametrize("exit_code", [1, 0])
def test_a_container_that_keeps_exiting_is_reported_as_crashloop(agent, engine, root, exit_code):
    crash(agent, engine, root, restarts=CRASHLOOP_AFTER, exit_code=exit_code)
    assert states(agent) == {"container/web": "crashloop"}
    assert agent.status.snapshot()["resources"][0]["message"].startswith(f"restarted {CRASHLOOP_AFTER} times")


def test_a_crash_looping_container_is_not_restarted_before_its_backoff_is_due(agent, engine, root, clock):
    crash(agent, engine, root, restarts=CRASHLOOP_AFTER)
    before = starts(engine)
    for _ in range(5):  # its die events wake the loop again and again
        clock.now += 0.1
        agent.run_pass()
    assert starts(engine) == before


def test_a_crash_looping_container_is_restarted_when_its_backoff_is_due(agent, engine, root, clock):
    crash(agent, engine, root, restarts=CRASHLOOP_AFTER)
    before = starts(engine)
    clock.now = agent.next_retry()
    agent.run_pass()
    assert starts(engine) == before + 1


def test_an_edit_of_a_crash_looping_container_runs_at_once_without_waiting_out_its_backoff(agent, engine, root, clock):
    crash(agent, engine, root, restarts=CRASHLOOP_AFTER)
    engine.on_start("web", exit_code=None)
    write(root, {"web.toml": WEB.replace("hello", "fixed")})
    clock.now += 0.1
    agent.run_pass()
    assert states(agent) == {"container/web": "converged"}
    assert agent.backoff.failures("container/web") == 0


def test_a_container_still_down_a_minute_into_its_backoff_stays_in_crashloop(agent, engine, root, clock):
    crash(agent, engine, root, restarts=7)  # the wait is now 64 s
    clock.now += 61
    agent.run_pass()  # a periodic resync while it waits
    assert states(agent) == {"container/web": "crashloop"}
    assert agent.backoff.failures("container/web") == 7


def test_a_crashed_container_that_stays_up_again_leaves_no_retry_to_wake_for(agent, engine, root, clock):
    crash(agent, engine, root, restarts=2)
    engine.on_start("web", exit_code=None)
    clock.now = agent.next_retry()
    agent.run_pass()
    clock.now = agent.next_retry()
    agent.run_pass()
    assert agent.next_retry() is None


def test_a_container_killed_by_hand_again_and_again_is_restored_at_once_each_time(agent, engine, root):
    converged(agent, root, {"web.toml": WEB})
    for _ in range(5):
        engine.kill("web")
        agent.run_pass()
        assert engine.containers[next(iter(engine.containers))].state == "running"
    assert agent.next_retry() is None


# -- an unreachable engine ------------------------------------------------------------------


def test_an_unreachable_engine_ends_the_pass_as_unavailable(agent, engine, root):
    write(root, {"web.toml": WEB})
    engine.available = False
    agent.run_pass()
    assert last_result(agent) == "unavailable"


def test_an_unreachable_engine_is_not_called_again_before_its_backoff_is_due(agent, engine, root, clock):
    write(root, {"web.toml": WEB})
    engine.available = False
    agent.run_pass()
    calls = len(engine.calls)
    clock.now += 0.5
    agent.run_pass()
    assert len(engine.calls) == calls


def test_the_agent_converges_once_the_engine_is_back(agent, engine, root, clock):
    write(root, {"web.toml": WEB})
    engine.available = False
    agent.run_pass()
    engine.available = True
    clock.now = agent.next_retry()
    agent.run_pass()
    assert last_result(agent) == "converged"
    assert states(agent) == {"container/web": "converged"}


# -- what the status says of each resource ----------------------------------------------------


def test_the_resources_of_a_broken_file_are_stalled_and_the_error_has_file_and_line(agent, root):
    converged(agent, root, {"web.toml": WEB, "db.toml": DB})
    write(root, {"web.toml": '[container.web]\nimage = "demo"\nports = 80\n'})
    agent.run_pass()
    assert states(agent) == {"container/db": "converged", "container/web": "stalled"}
    assert [e["text"].split(": ")[0] for e in agent.status.snapshot()["errors"]] == ["web.toml:3"]


def test_a_stalled_resource_gets_no_engine_call_even_when_it_drifted(agent, engine, root):
    converged(agent, root, {"web.toml": WEB})
    write(root, {"web.toml": "[container.web\n"})
    engine.kill("web")
    calls = len(engine.calls)
    agent.run_pass()
    assert [name for name, _ in engine.calls[calls:]] == ["inspect_containers"]


def test_a_valid_edit_in_another_file_applies_while_one_file_is_broken(agent, engine, root):
    converged(agent, root, {"web.toml": WEB, "db.toml": DB})
    write(root, {"web.toml": "[container.web\n", "db.toml": DB.replace("hello", "bonjour")})
    agent.run_pass()
    (db,) = [c for c in engine.containers.values() if c.name == "db"]
    assert db.spec.env == {"GREETING": "bonjour"}
    assert last_result(agent) == "invalid"


def test_a_name_held_by_an_unowned_container_is_reported_as_conflict(agent, engine, root):
    engine.add_unowned("container", "web")
    write(root, {"web.toml": WEB})
    agent.run_pass()
    assert states(agent) == {"container/web": "conflict"}


def test_a_volume_no_longer_declared_is_reported_as_retained(agent, root):
    converged(agent, root, {"web.toml": WEB, "data.toml": "[volume.data]\n"})
    (root / "data.toml").unlink()
    agent.run_pass()
    assert states(agent) == {"container/web": "converged", "volume/data": "retained"}


def test_an_emptied_directory_removes_nothing_and_the_refusal_is_in_the_status(agent, engine, root):
    converged(agent, root, {"web.toml": WEB})
    (root / "web.toml").unlink()
    agent.run_pass()
    assert [c.name for c in engine.containers.values()] == ["web"]
    assert last_result(agent) == "failed"
    (web,) = agent.status.snapshot()["resources"]
    assert (web["name"], web["state"]) == ("web", "blocked")
    assert "--allow-empty" in web["message"]


# -- an exception in a pass -------------------------------------------------------------------


def test_an_exception_in_a_pass_is_logged_counted_and_recorded_as_a_crashed_pass(agent, engine, root):
    write(root, {"web.toml": WEB})
    engine.fail_next("observe", ValueError("boom"))
    with capture_logs() as logs:
        agent.run_pass({"edit"})
    (crashed,) = logged(logs, "pass.crashed")
    assert (crashed["log_level"], crashed["error"]) == ("error", "ValueError: boom")
    assert isinstance(crashed["exc_info"], ValueError)
    assert last_result(agent) == "crashed"
    assert agent.status.snapshot()["last_pass"]["error"] == "ValueError: boom"
    assert metric(agent, "reconciler_errors_total", {"type": "crash"}) == 1
    assert metric(agent, "reconciler_passes_total", {"result": "crashed"}) == 1


def test_after_a_crash_the_next_pass_waits_its_backoff_then_the_agent_passes_again(agent, engine, root, clock):
    write(root, {"web.toml": WEB})
    engine.fail_next("observe", ValueError("boom"))
    agent.run_pass({"edit"})
    calls = len(engine.calls)
    clock.now += 0.5
    agent.run_pass({"event:container:die"})
    assert len(engine.calls) == calls
    clock.now = agent.next_retry()
    agent.run_pass({"retry"})
    assert last_result(agent) == "converged"
    assert states(agent) == {"container/web": "converged"}
    assert agent.next_retry() is None


def test_the_loop_goes_on_after_a_pass_raises(root, engine, state):
    write(root, {"web.toml": WEB})
    engine.fail_next("observe", ValueError("boom"))
    agent = Agent(root, engine, NS, Status(NS, str(root), interval=1.0), interval=1.0, state_dir=state)
    loop = threading.Thread(target=agent.run, name="agent-under-test")
    loop.start()
    try:
        deadline = time.monotonic() + 20
        while metric(agent, "reconciler_passes_total", {"result": "converged"}) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        agent.stop()
        loop.join(timeout=20)
    assert not loop.is_alive()
    assert metric(agent, "reconciler_errors_total", {"type": "crash"}) == 1
    assert metric(agent, "reconciler_passes_total", {"result": "converged"}) >= 1
    assert [c.name for c in engine.containers.values()] == ["web"]


# -- what the logs say ------------------------------------------------------------------------


def test_pass_finished_says_what_woke_the_pass(agent, root):
    write(root, {"web.toml": WEB})
    with capture_logs() as logs:
        agent.run_pass({"event:container:die", "edit"})
    (finished,) = logged(logs, "pass.finished")
    assert (finished["log_level"], finished["result"]) == ("info", "converged")
    assert finished["woken_by"] == ["edit", "event:container:die"]


def test_an_unreachable_engine_is_logged_with_its_address(agent, engine, root):
    agent.engine = "unix:///run/somewhere/docker.sock"
    write(root, {"web.toml": WEB})
    engine.available = False
    with capture_logs() as logs:
        agent.run_pass({"resync"})
    (unavailable,) = logged(logs, "engine.unavailable")
    assert (unavailable["log_level"], unavailable["engine"]) == ("warning", "unix:///run/somewhere/docker.sock")
    assert logged(logs, "pass.finished")[0]["log_level"] == "warning"


def test_a_failing_resource_is_logged_at_error_with_the_reason_once(agent, engine, root, clock):
    with capture_logs() as logs:
        fail_web_creates(agent, engine, root, times=2)
    (failed,) = logged(logs, "resource.failed")
    assert (failed["log_level"], failed["resource"]) == ("error", "container/web")
    assert "boom" in failed["reason"]


def test_a_conflict_is_logged_at_warning_with_the_reason(agent, engine, root):
    engine.add_unowned("container", "web")
    write(root, {"web.toml": WEB})
    with capture_logs() as logs:
        agent.run_pass()
    (conflict,) = logged(logs, "resource.conflict")
    assert (conflict["log_level"], conflict["resource"]) == ("warning", "container/web")
    assert "name held by a resource this namespace does not own" in conflict["reason"]


def test_a_crash_loop_is_logged_at_error(agent, engine, root):
    with capture_logs() as logs:
        crash(agent, engine, root, restarts=CRASHLOOP_AFTER)
    (loop,) = logged(logs, "resource.crashloop")
    assert (loop["log_level"], loop["resource"]) == ("error", "container/web")


def test_loader_warnings_reach_the_status_and_the_log_once(agent, root):
    write(root, {"web.toml": WEB.replace('"hello"', '"${RECONCILER_TEST_NEVER_SET}"'), "empty.toml": ""})
    with capture_logs() as logs:
        agent.run_pass()
        agent.run_pass()
    texts = [w["text"] for w in agent.status.snapshot()["warnings"]]
    assert len(texts) == 2
    assert any("RECONCILER_TEST_NEVER_SET is not set" in t for t in texts)
    assert any(t.startswith("empty.toml") for t in texts)
    assert sorted(e["problem"] for e in logged(logs, "desired_state.warning")) == sorted(texts)


def test_a_problem_in_the_files_is_logged_at_error_when_it_appears(agent, root):
    write(root, {"web.toml": "[container.web\n"})
    with capture_logs() as logs:
        agent.run_pass()
        agent.run_pass()
    (invalid,) = logged(logs, "desired_state.invalid")
    assert invalid["log_level"] == "error" and invalid["problem"].startswith("web.toml:1: ")


# -- drift corrections ------------------------------------------------------------------------

ON_FRONT = '[network.front]\n\n[container.web]\nimage = "demo"\nnetworks = ["front"]\n'
DRIFTS = {
    "stopped": lambda engine: engine.kill("web"),
    "exited": lambda engine: engine.kill("web", exit_code=1),
    "removed": lambda engine: engine.remove_by_hand("container", "web"),
    "disconnected": lambda engine: engine.disconnect_by_hand("front", "web"),
}


@pytest.mark.parametrize("drift", sorted(DRIFTS))
def test_every_kind_of_drift_the_docs_list_is_counted_once_corrected(agent, engine, root, drift):
    converged(agent, root, {"web.toml": ON_FRONT})
    DRIFTS[drift](engine)
    agent.run_pass()
    assert last_result(agent) == "converged"
    assert metric(agent, "reconciler_drift_corrections_total") == 1


def test_creating_or_replacing_what_the_files_ask_for_is_no_drift(agent, root):
    converged(agent, root, {"web.toml": WEB})
    converged(agent, root, {"web.toml": WEB.replace("hello", "bonjour"), "db.toml": DB})
    assert metric(agent, "reconciler_drift_corrections_total") == 0


# -- the state directory: restarts, invalid files, completions --------------------------------

SHARED = '[network.front]\n\n[container.api]\nimage = "demo"\nnetworks = ["front"]\n'
WORKER = '[container.worker]\nimage = "demo"\nnetworks = ["front"]\nenv = { GREETING = "hello" }\n'


def test_a_file_broken_while_the_agent_was_stopped_is_stalled_after_a_restart(agent, engine, root, clock, state):
    converged(agent, root, {"a.toml": SHARED, "b.toml": WORKER})
    worker = next(c.id for c in engine.containers.values() if c.name == "worker")
    write(root, {"b.toml": WORKER.replace('"demo"', '"demo')})
    again = new_agent(root, engine, clock, state)
    calls = len(engine.calls)
    again.run_pass()
    assert states(again) == {"container/api": "converged", "container/worker": "stalled", "network/front": "converged"}
    assert [name for name, _ in engine.calls[calls:]] == ["observe"]
    assert worker in engine.containers


def test_a_file_never_seen_valid_freezes_what_its_source_label_names(agent, engine, root, clock, tmp_path):
    converged(agent, root, {"a.toml": SHARED, "b.toml": WORKER})
    write(root, {"b.toml": "[container.worker\n"})
    forgetful = new_agent(root, engine, clock, StateDir(tmp_path / "another-state"))
    forgetful.run_pass()
    assert sorted(c.name for c in engine.containers.values()) == ["api", "worker"]
    assert last_result(forgetful) == "invalid"


def test_no_removal_runs_while_a_file_is_invalid(agent, engine, root):
    converged(agent, root, {"web.toml": WEB, "db.toml": DB})
    (root / "db.toml").unlink()
    write(root, {"web.toml": "[container.web\n"})
    agent.run_pass()
    assert sorted(c.name for c in engine.containers.values()) == ["db", "web"]
    write(root, {"web.toml": WEB})
    agent.run_pass()
    assert [c.name for c in engine.containers.values()] == ["web"]


def test_the_agent_reads_completions_from_its_state_directory(agent, state):
    assert agent.completed() == {}
    state.record_completion("migrate", "sha-1")
    assert agent.completed() == {"migrate": "sha-1"}


JOB = '[container.migrate]\nimage = "demo"\nstate = "completed"\n'


def test_a_finished_job_is_recorded_in_the_state_directory_and_not_run_again_after_a_restart(
    agent, engine, root, clock, state
):
    engine.on_start("migrate", exit_code=0)
    write(root, {"job.toml": JOB})
    agent.run_pass()
    agent.run_pass()
    assert list(state.completed()) == ["migrate"]
    engine.remove_by_hand("container", "migrate")
    again = new_agent(root, engine, clock, state)
    again.run_pass()
    assert creates(engine, "migrate") == 1
    assert states(again) == {"container/migrate": "completed"}


# -- reconciler run's options -----------------------------------------------------------------


@pytest.mark.parametrize("interval", ["0s", "500ms", "999ms"])
def test_run_refuses_an_interval_under_one_second(interval, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(run_command, "setup", lambda args: None)  # leave this process's logging as it is
    args = build_parser().parse_args(["--state-dir", str(tmp_path / "state"), "run", str(tmp_path),
                                      "--interval", interval])
    assert run_command.run(args) == 1
    assert f"error: --interval {interval}: must be at least 1s" in capsys.readouterr().err
    assert not (tmp_path / "state").exists()


def test_the_agents_backoff_holds_reach_the_state_directory_for_the_clis_plan(agent, engine, root, state):
    fail_web_creates(agent, engine, root, times=1)
    agent.clock.now += 0.5
    agent.run_pass({"edit"})
    (why,) = state.holds().values()
    assert list(state.holds()) == ["container/web"] and why.startswith("failed 1 time(s); backoff until ")


def test_resources_are_counted_by_state_in_the_metrics(agent, root):
    converged(agent, root, {"web.toml": WEB})
    assert metric(agent, "reconciler_resources", {"state": "converged"}) == 1
    assert metric(agent, "reconciler_resources", {"state": "crashloop"}) == 0


def test_a_pass_skipped_while_the_engine_is_backed_off_still_writes_the_status_file(root, engine, clock, state,
                                                                                     tmp_path):
    root.mkdir()
    write(root, {"web.toml": WEB})
    path = tmp_path / "status.json"
    agent = Agent(root, engine, NS, Status(NS, str(root), interval=30.0, path=str(path), monotonic=clock),
                  clock=clock, state_dir=state)
    engine.available = False
    agent.run_pass()
    path.unlink()
    clock.now += 0.5
    agent.run_pass()
    assert path.exists()


def test_the_agent_blocks_a_long_form_bind_of_a_missing_host_path_on_a_local_engine(agent, engine, root, tmp_path):
    missing = tmp_path / "missing"
    write(root, {"web.toml": WEB + f'mounts = [{{ type = "bind", source = "{missing}", target = "/data" }}]\n'})
    agent.run_pass({"edit"})
    assert engine.calls_to("create_container") == []
    assert states(agent) == {"container/web": "blocked"}
