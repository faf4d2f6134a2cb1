"""What the control API asks of the agent (sync, retry, suspend, resume), and the API's own rules."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import jsonschema
import pytest

from reconciler.agent.requests import RETRY, SYNC, Request
from reconciler.agent.status import host_allowed
from reconciler.control.openapi import schema_of
from reconciler.control.paths import default_socket
from reconciler.control.server import Api, ApiError, may_control
from tests.unit.conftest import NS, new_agent
from tests.unit.test_agent import WEB, converged, crash, last_result, states, write


def test_a_suspended_agent_changes_nothing_and_reports_the_drift(agent, engine, root):
    converged(agent, root, {"web.toml": WEB})
    agent.set_suspended(True)
    engine.kill("web")
    calls = len(engine.calls)
    agent.run_pass()
    assert [name for name, _ in engine.calls[calls:]] == ["inspect_containers"]
    assert last_result(agent) == "suspended"
    assert states(agent) == {"container/web": "drifted"}
    assert agent.status.snapshot()["suspended"] is True


def test_the_suspension_is_a_metric(agent):
    assert agent.status.metrics.registry.get_sample_value("reconciler_suspended") == 0
    agent.set_suspended(True)
    assert agent.status.metrics.registry.get_sample_value("reconciler_suspended") == 1


def test_a_suspension_survives_an_agent_restart_until_resumed(agent, engine, root, clock, state):
    converged(agent, root, {"web.toml": WEB})
    agent.set_suspended(True)
    again = new_agent(root, engine, clock, state)
    assert again.suspended and again.status.snapshot()["suspended"]
    engine.kill("web")
    again.run_pass()
    assert states(again) == {"container/web": "drifted"}
    again.set_suspended(False)
    again.run_pass()
    assert states(again) == {"container/web": "converged"}
    assert not new_agent(root, engine, clock, state).suspended


def test_a_sync_is_answered_with_the_pass_that_took_it(agent, root):
    write(root, {"web.toml": WEB})
    request = agent.submit(Request(SYNC))
    assert "api:sync" in agent.trigger.wait(0)
    agent.run_pass({"api:sync"})
    answer = request.wait(0)
    assert answer["result"] == "converged" and answer["counts"]["actions"] == 1


def test_a_sync_with_prune_volumes_removes_an_owned_volume_no_longer_declared(agent, engine, root):
    converged(agent, root, {"web.toml": WEB, "data.toml": "[volume.data]\n"})
    (root / "data.toml").unlink()
    agent.run_pass()
    assert "data" in engine.volumes
    agent.submit(Request(SYNC, prune_volumes=True))
    agent.run_pass({"api:sync"})
    assert "data" not in engine.volumes


def test_a_retry_tries_a_resource_in_backoff_at_once(agent, engine, root):
    crash(agent, engine, root, restarts=2)
    assert "container/web" in agent.backoff.pending()
    engine.on_start("web", exit_code=None)
    agent.submit(Request(RETRY, key="container/web"))
    agent.run_pass({"api:retry"})
    assert [c.state for c in engine.containers.values()] == ["running"]


def answered(agent, call) -> dict:
    """Run `call` (which waits for a pass) while the loop's one pass runs in this thread."""
    result: list = []
    thread = threading.Thread(target=lambda: result.append(call()))
    thread.start()
    agent.trigger.wait(5)
    agent.run_pass({"api"})
    thread.join(5)
    return result[0]


def test_the_api_answers_a_sync_valid_against_its_schema(agent, root):
    write(root, {"web.toml": WEB})
    code, answer = answered(agent, lambda: Api(agent).handle("POST", "/v1/sync", {"allow_empty": False}))
    assert code == 200 and answer["pass"]["result"] == "converged"
    jsonschema.validate(answer, schema_of("passed"), cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize("method, path, body, code", [
    ("GET", "/v1/nowhere", {}, 404),
    ("DELETE", "/v1/status", {}, 405),
    ("POST", "/v1/sync", {"prune": True}, 400),
    ("POST", "/v1/sync", {"allow_empty": "yes"}, 400),
    ("POST", "/v1/sync", {"directory": "/somewhere/else"}, 409),
    ("POST", "/v1/retry/pod/web", {}, 400),
    ("POST", "/v1/retry/container", {}, 404),
])
def test_the_api_refuses_what_it_cannot_do_with_a_code_and_a_message(agent, method, path, body, code):
    with pytest.raises(ApiError) as refused:
        Api(agent).handle(method, path, body)
    assert refused.value.code == code and str(refused.value)


def test_a_retry_of_a_resource_the_files_do_not_declare_is_not_found(agent, root):
    converged(agent, root, {"web.toml": WEB})
    with pytest.raises(ApiError) as refused:
        Api(agent).handle("POST", "/v1/retry/container/nosuch", {})
    assert refused.value.code == 404 and "not declared" in str(refused.value)


def test_the_plan_before_any_pass_is_none_and_after_one_has_an_age(agent, root):
    assert Api(agent).handle("GET", "/v1/plan", {})[1]["plan"] is None
    converged(agent, root, {"web.toml": WEB})
    answer = Api(agent).handle("GET", "/v1/plan", {})[1]
    assert answer["plan"]["has_changes"] is False and answer["age_seconds"] >= 0
    jsonschema.validate(answer, schema_of("planned"), cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize("host, allowed", [
    (None, True), ("127.0.0.1:9110", True), ("localhost:9110", True), ("[::1]:9110", True), ("localhost", True),
    ("127.0.0.2:9110", True), ("10.0.0.7:9110", False), ("127.0.0.1:80", False), ("attacker.example:9110", False),
    ("attacker.example", False),
])
def test_the_status_address_takes_only_its_own_address_or_localhost_with_its_own_port_as_host(host, allowed):
    assert host_allowed(host, 9110, "127.0.0.1") is allowed


def test_a_status_address_on_every_interface_takes_any_ip_address_as_host_but_no_name():
    assert host_allowed("10.0.0.7:9110", 9110, "0.0.0.0") and host_allowed("[fe80::1]:9110", 9110, "::")
    assert not host_allowed("attacker.example:9110", 9110, "0.0.0.0")


def test_the_control_socket_is_under_run_as_root_and_the_runtime_dir_otherwise():
    assert default_socket(NS, None, {}, euid=0).parent == Path("/run/reconciler")
    assert default_socket(NS, None, {"XDG_RUNTIME_DIR": "/run/user/1000"}, euid=1000).parent == Path(
        "/run/user/1000/reconciler")
    assert default_socket(NS, None, {}, euid=1000).parent == Path("/tmp/reconciler-1000")
    assert default_socket(NS, None, {}, euid=0).name.startswith(f"{NS}@")


def test_root_the_agents_user_and_its_group_may_control_and_nobody_else():
    own_group = os.getegid()
    assert may_control(0, 0, own_group) and may_control(os.geteuid(), 12345, 4242)
    assert may_control(54321, own_group, own_group)
    assert not may_control(65534, 65534, own_group if own_group != 65534 else 0)
