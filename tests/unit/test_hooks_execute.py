"""Lifecycle hooks carried out on the in-memory engine: which ran, in what order around starts and
stops, and what a failing one does (a post_start fails the start, a pre_stop is only logged)."""

from __future__ import annotations

import dataclasses
import os

from structlog.testing import capture_logs

from reconciler.converge import converge
from reconciler.fields import FileGrant, Hook, Sealed, UpdatePolicy
from reconciler.model import LABEL_MANAGED, ContainerSpec, DesiredState, Source
from reconciler.options import PlanOptions
from runtime.memory import MemoryRuntime

NS = "ns"
IMAGE = "localhost/demo:1"
READY = Hook(("touch", "/ready"))
OWN = Hook(("chown", "app", "/data"), user="root")
FLUSH = Hook(("sh", "-c", "flush"))


def engine() -> MemoryRuntime:
    return MemoryRuntime(images={IMAGE: "sha256:" + "a" * 64})


def web(**changes) -> ContainerSpec:
    spec = ContainerSpec(name="web", image=IMAGE, source=Source("web.toml", 1), post_start=(READY, OWN),
                         pre_stop=(FLUSH,), update=UpdatePolicy(timeout=5.0, monitor=0))
    return dataclasses.replace(spec, **changes)


def state(*specs: ContainerSpec) -> DesiredState:
    return DesiredState(containers={s.name: s for s in specs})


def engine_steps(runtime: MemoryRuntime) -> list[str]:
    """The container calls made, a hook call named by its command's first word."""
    wanted = ("start_container", "stop_container", "remove_container", "exec_hook")
    return [args[1].command[0] if name == "exec_hook" else name for name, args in runtime.calls if name in wanted]


def serving(runtime: MemoryRuntime) -> list[tuple[str, str, str]]:
    return sorted((c.id, c.name, c.state) for c in runtime.containers.values() if c.labels.get(LABEL_MANAGED) == NS)


def test_a_new_container_runs_its_post_start_hooks_in_order_right_after_its_start():
    runtime = engine()
    report = converge(runtime, state(web()), NS)
    assert report.converged
    assert engine_steps(runtime) == ["start_container", "touch", "chown"]
    assert [hook for _, hook in runtime.hooks_run] == [READY, OWN]


def test_a_replacement_runs_the_old_pre_stop_before_the_stop_and_the_new_post_start_after_the_start():
    runtime = engine()
    converge(runtime, state(web(env={"V": "1"})), NS)
    runtime.calls.clear()
    converge(runtime, state(web(env={"V": "2"})), NS)
    assert engine_steps(runtime) == ["sh", "stop_container", "start_container", "touch", "chown", "remove_container"]


def test_a_failing_post_start_rolls_a_replacement_back_and_the_old_container_keeps_serving():
    runtime = engine()
    converge(runtime, state(web(env={"V": "1"})), NS)
    before = serving(runtime)
    runtime.on_exec(OWN.command, 2, "chown: app: unknown user\n")
    report = converge(runtime, state(web(env={"V": "2"})), NS)
    (failure,) = report.failures
    assert failure.rolled_back and str(failure.failed_step) == "run post_start hook 2 in web (5s)"
    assert failure.error == "post_start hook 2 exited with code 2: chown: app: unknown user"
    assert serving(runtime) == before


def test_a_post_start_past_its_time_limit_fails_the_start():
    runtime = engine()
    runtime.on_exec(READY.command, None)
    report = converge(runtime, state(web()), NS)
    (failure,) = report.failures
    assert failure.error == "post_start hook 1 did not end within 5s"


def test_a_failing_post_start_of_a_new_container_stops_it_and_the_next_pass_starts_it_again():
    runtime = engine()
    runtime.on_exec(READY.command, 1)
    converge(runtime, state(web()), NS)
    assert [s for _, _, s in serving(runtime)] == ["exited"]
    runtime.on_exec(READY.command, 0)
    report = converge(runtime, state(web()), NS)
    assert report.converged and [s for _, _, s in serving(runtime)] == ["running"]
    assert [hook for _, hook in runtime.hooks_run] == [READY, READY, OWN]


def test_the_failure_of_a_hook_masks_every_env_file_value_in_its_output():
    runtime = engine()
    hook = Hook(("login",), env={"TOKEN": "s3cr3t-token"})
    runtime.on_exec(hook.command, 1, "refused s3cr3t-token for db-password-42\n")
    desired = dataclasses.replace(state(web(post_start=(hook,), env={"DB_PASSWORD": "db-password-42"})),
                                  secret_values=frozenset({"s3cr3t-token", "db-password-42"}))
    report = converge(runtime, desired, NS)
    (failure,) = report.failures
    assert failure.error == "post_start hook 1 exited with code 1: refused *** for ***"


def test_the_failure_of_a_hook_masks_the_text_of_the_container_s_secrets_line_by_line(tmp_path):
    runtime = engine()
    grant = FileGrant("db", "/run/secrets/db", uid=os.getuid(), gid=os.getgid(), digest="hmac-sha256:" + "0" * 64,
                      value=Sealed(b"user-x\npw-9876\n"))
    runtime.on_exec(READY.command, 1, "user-x\nand then\npw-9876\n")
    report = converge(runtime, state(web(secrets=(grant,))), NS, PlanOptions(files_folder=str(tmp_path)))
    (failure,) = report.failures
    assert failure.error == "post_start hook 1 exited with code 1: *** | and then | ***"


def test_the_failure_of_a_hook_shows_plain_env_values_as_they_are():
    runtime = engine()
    runtime.on_exec(READY.command, 1, "line 1 of the hook output, level e\n")
    report = converge(runtime, state(web(env={"DEBUG": "1", "LEVEL": "e"})), NS)
    (failure,) = report.failures
    assert failure.error == "post_start hook 1 exited with code 1: line 1 of the hook output, level e"


def test_a_failing_pre_stop_is_logged_and_the_stop_goes_on():
    runtime = engine()
    converge(runtime, state(web()), NS)
    runtime.on_exec(FLUSH.command, 1, "nothing to flush\n")
    with capture_logs() as logs:
        report = converge(runtime, state(web(state="stopped")), NS)
    assert report.converged and [s for _, _, s in serving(runtime)] == ["exited"]
    failed = [e for e in logs if e["event"] == "container.hook_failed"]
    assert failed == [{"event": "container.hook_failed", "log_level": "warning", "container": "web",
                       "hook": "pre_stop", "index": 0, "error": "pre_stop hook 1 exited with code 1: nothing to flush"}]


def test_a_failing_pre_stop_does_not_block_a_removal():
    runtime = engine()
    converge(runtime, state(web()), NS)
    runtime.on_exec(FLUSH.command, 1)
    report = converge(runtime, state(), NS, PlanOptions(allow_empty=True, retired={"container/web": web()}))
    assert report.converged and serving(runtime) == []
    assert engine_steps(runtime)[-2:] == ["sh", "remove_container"]


def test_each_hook_run_is_logged_with_its_container_kind_index_exit_code_and_seconds():
    runtime = engine()
    with capture_logs() as logs:
        converge(runtime, state(web()), NS)
    ran = [e for e in logs if e["event"] == "container.hook_ran"]
    assert [(e["container"], e["hook"], e["index"], e["exit_code"]) for e in ran] == \
        [("web", "post_start", 0, 0), ("web", "post_start", 1, 0)]
    assert all(isinstance(e["seconds"], float) for e in ran)


def test_a_hook_due_in_a_container_that_already_exited_is_skipped_not_failed():
    runtime = engine()
    runtime.on_start("web", exit_code=1)
    with capture_logs() as logs:
        report = converge(runtime, state(web()), NS)
    assert runtime.hooks_run == [] and not report.failures
    assert [(e["hook"], e["index"]) for e in logs if e["event"] == "container.hook_skipped"] == \
        [("post_start", 0), ("post_start", 1)]


def test_the_agent_runs_the_pre_stop_hooks_of_a_container_removed_from_the_files(agent, engine, root):
    (root / "web.toml").write_text('[container.web]\nimage = "demo"\npre_stop = [{ command = "flush" }]\n')
    (root / "db.toml").write_text('[container.db]\nimage = "demo"\n')
    agent.run_pass()
    (root / "web.toml").unlink()
    agent.run_pass()
    assert [(name, hook.command) for name, hook in engine.hooks_run] == [("web", ("flush",))]
    assert sorted(c.name for c in engine.containers.values()) == ["db"]
