"""`reconciler plan` and `reconciler apply` as a user runs them: output and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration


def reconciler(*args: str, namespace: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reconciler", *args, "--namespace", namespace],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def directory(tmp_path, namespace):
    (tmp_path / "app.toml").write_text(
        f'[container.{namespace}-app]\nimage = "localhost/demo:1"\ncommand = ["sleep", "3600"]\n'
        "init = true\nstop_timeout = 1\n"
    )
    return tmp_path


def test_plan_prints_each_change_with_its_engine_steps_and_the_detailed_exit_code_says_there_are_changes(
    directory, namespace
):
    result = reconciler("plan", str(directory), "--detailed-exitcode", namespace=namespace)
    assert (result.returncode, result.stdout) == (2, "\n".join([
        f"+ create container {namespace}-app (missing)",
        f"    create container {namespace}-app",
        f"    start {namespace}-app",
        "Plan: 1 to create.\n",
    ]))


def test_plan_brief_prints_one_line_per_change(directory, namespace):
    result = reconciler("plan", str(directory), "--brief", namespace=namespace)
    assert result.stdout == f"+ create container {namespace}-app (missing)\nPlan: 1 to create.\n"


def test_plan_piped_into_a_reader_that_leaves_early_prints_no_traceback(directory, namespace):
    plan = subprocess.Popen([sys.executable, "-m", "reconciler", "plan", str(directory), "--json",
                             "--namespace", namespace], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    plan.stdout.close()
    assert b"Traceback" not in plan.stderr.read()
    plan.wait(timeout=60)


def test_plan_json_describes_each_change_with_its_steps(directory, namespace):
    result = reconciler("plan", str(directory), "--json", namespace=namespace)
    (change,) = json.loads(result.stdout)["changes"]
    assert (change["action"], change["name"], change["reasons"][0]["reason"], change["source"]) == (
        "create", f"{namespace}-app", "missing", "app.toml"
    )
    assert change["steps"] == [f"create container {namespace}-app", f"start {namespace}-app"]
    assert (change["if_it_fails"], change["then"]) == ([[], []], None)


def test_apply_converges_then_plan_has_nothing_to_do(directory, namespace, docker_client):
    applied = reconciler("apply", str(directory), namespace=namespace)
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.splitlines()[-1] == "Converged: the engine matches the desired state."
    assert docker_client.containers.get(f"{namespace}-app").status == "running"
    planned = reconciler("plan", str(directory), "--detailed-exitcode", namespace=namespace)
    assert (planned.returncode, planned.stdout) == (0, "No changes: the engine matches the desired state.\n")


def test_apply_exits_1_on_a_conflict_and_leaves_the_unowned_container_alone(directory, namespace, docker_client):
    stranger = docker_client.containers.create("localhost/demo:1", ["sleep", "1"], name=f"{namespace}-app")
    try:
        result = reconciler("apply", str(directory), namespace=namespace)
        assert result.returncode == 1
        assert f"! conflict container {namespace}-app" in result.stdout
        assert docker_client.containers.get(f"{namespace}-app").id == stranger.id
    finally:
        stranger.remove(force=True)


def test_apply_refuses_an_emptied_directory_and_removes_nothing(directory, namespace, docker_client):
    assert reconciler("apply", str(directory), namespace=namespace).returncode == 0
    (directory / "app.toml").unlink()
    result = reconciler("apply", str(directory), namespace=namespace)
    assert result.returncode == 1
    assert "blocked: refused: the desired state declares no container" in result.stdout
    assert "--allow-empty" in result.stdout
    assert docker_client.containers.get(f"{namespace}-app").status == "running"


def test_an_invalid_file_is_reported_with_file_and_line_and_nothing_reaches_the_engine(
    directory, namespace, docker_client
):
    (directory / "bad.toml").write_text('[container.other]\nimage = "localhost/demo:1"\nrestart = "sometimes"\n')
    result = reconciler("apply", str(directory), namespace=namespace)
    assert result.returncode == 1
    assert "bad.toml:3: container.other.restart:" in result.stderr
    assert "Traceback" not in result.stderr
    assert reconciler("plan", str(directory), "--detailed-exitcode", namespace=namespace).returncode == 1
    owned = {"label": f"io.reconciler.managed={namespace}"}
    assert docker_client.containers.list(all=True, filters=owned) == []
    assert docker_client.networks.list(filters=owned) == []
    assert docker_client.volumes.list(filters=owned) == []


def test_plan_json_of_invalid_files_is_a_json_error_object(directory, namespace):
    (directory / "bad.toml").write_text('[container.other]\nimage = "localhost/demo:1"\nrestart = "sometimes"\n')
    result = reconciler("plan", str(directory), "--json", namespace=namespace)
    assert result.returncode == 1
    error = json.loads(result.stdout)
    assert (error["schema_version"], error["problems"][0]["file"], error["problems"][0]["line"]) == (1, "bad.toml", 3)


def test_plan_detailed_exitcode_is_3_when_only_blocked_items_remain(directory, namespace, docker_client):
    stranger = docker_client.containers.create("localhost/demo:1", ["sleep", "60"], name=f"{namespace}-app")
    try:
        result = reconciler("plan", str(directory), "--detailed-exitcode", namespace=namespace)
        assert result.returncode == 3
        assert result.stdout.startswith(f"! conflict container {namespace}-app")
    finally:
        stranger.remove(force=True)


def test_an_unreachable_engine_is_a_clear_error(directory, namespace):
    result = reconciler("plan", str(directory), "--engine", "unix:///nonexistent.sock", namespace=namespace)
    assert result.returncode == 1
    assert result.stderr.startswith("error: engine unix:///nonexistent.sock unreachable")


def test_a_long_form_bind_of_a_missing_host_path_is_blocked_at_plan_with_its_file_and_line(directory, namespace):
    (directory / "app.toml").write_text(
        f'[container.{namespace}-app]\nimage = "localhost/demo:1"\ncommand = ["sleep", "3600"]\n'
        f'mounts = [{{ type = "bind", source = "{directory}/missing", target = "/data" }}]\n'
    )
    result = reconciler("plan", str(directory), "--detailed-exitcode", namespace=namespace)
    assert result.returncode == 3
    assert f"blocked: bind source {directory}/missing, declared at app.toml:4 does not exist on this host" in (
        result.stdout)


def test_plan_shows_what_the_agent_holds_back_from_its_state_directory(directory, namespace, tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (state / "holds.json").write_text(json.dumps(
        {f"container/{namespace}-app": {"reason": "backoff until 23:59:59Z", "until": 4102444800.0}}))
    result = reconciler("plan", str(directory), "--state-dir", str(state), "--detailed-exitcode", namespace=namespace)
    assert result.returncode == 3
    assert result.stdout.splitlines()[:2] == [f"+ create container {namespace}-app (missing)",
                                              "    blocked: backoff until 23:59:59Z"]


def test_plan_json_with_an_unreachable_engine_prints_a_json_error(directory, namespace):
    result = reconciler("plan", str(directory), "--json", "--engine", "tcp://127.0.0.1:1", namespace=namespace)
    assert result.returncode == 1
    assert json.loads(result.stdout)["error"].startswith("engine tcp://127.0.0.1:1 unreachable")


def test_a_network_option_the_engine_cannot_honour_is_blocked_in_the_plan_and_apply_makes_nothing(
    directory, namespace, docker_client, engine
):
    (directory / "net.toml").write_text(
        f'[network.{namespace}-net]\noptions = {{ "com.docker.network.bridge.enable_icc" = "false" }}\n')
    (directory / "app.toml").write_text(
        f'[container.{namespace}-app]\nimage = "localhost/demo:1"\ncommand = ["sleep", "3600"]\n'
        f'networks = ["{namespace}-net"]\ninit = true\nstop_timeout = 1\n')
    plan = reconciler("plan", str(directory), "--brief", "--detailed-exitcode", namespace=namespace)
    if engine.capabilities.kind != "podman":  # Docker honours every bridge option
        assert plan.returncode == 2
        return
    why = "podman 4.3.1 does not honour the network option(s) com.docker.network.bridge.enable_icc"
    assert plan.returncode == 3
    assert f"    blocked: {why}" in plan.stdout.splitlines()
    assert reconciler("apply", str(directory), namespace=namespace).returncode == 1
    assert docker_client.networks.list(names=[f"{namespace}-net"]) == []
    assert docker_client.containers.list(all=True, filters={"label": f"io.reconciler.managed={namespace}"}) == []
