"""One writer per engine and namespace on Swarm too (DESIGN section 10): an apply's sync carries
its --target, which must be the running agent's; an agent on Swarm refuses the host-only sync
options; `apply --target swarm` with no agent running honours the agent's suspension."""

from __future__ import annotations

import uuid

import pytest

from reconciler.agent.lock import lock_path
from reconciler.agent.statedir import StateDir
from reconciler.commands.cli import main
from reconciler.control.server import Api, ApiError


def refusal(agent, body: dict) -> ApiError:
    with pytest.raises(ApiError) as refused:
        Api(agent).handle("POST", "/v1/sync", body)
    return refused.value


def test_a_host_agent_refuses_an_apply_of_the_swarm_target(agent):
    refused = refusal(agent, {"target": "swarm"})
    assert refused.code == 409
    assert "this agent converges --target host, not --target swarm: apply refused" in str(refused)


def test_a_swarm_agent_refuses_an_apply_of_the_host_target(agent, monkeypatch):
    monkeypatch.setattr(agent, "swarm", object())  # what makes the agent's passes Swarm's (run --target swarm)
    refused = refusal(agent, {"target": "host"})
    assert refused.code == 409 and "converges --target swarm, not --target host" in str(refused)


@pytest.mark.parametrize("body", [{"prune_volumes": True}, {"adopt": ["web"]}])
def test_a_swarm_agent_refuses_the_host_only_sync_options(agent, monkeypatch, body):
    monkeypatch.setattr(agent, "swarm", object())
    refused = refusal(agent, body)
    assert refused.code == 409 and "do not apply to --target swarm" in str(refused)


def test_a_target_other_than_host_or_swarm_is_a_bad_request(agent):
    assert refusal(agent, {"target": "cluster"}).code == 400


def test_apply_target_swarm_is_refused_while_the_namespaces_agent_is_suspended(tmp_path, capsys):
    namespace, engine = f"suspended-{uuid.uuid4().hex[:8]}", f"unix://{tmp_path}/no-engine.sock"
    StateDir(tmp_path / "state").set_suspended(True)
    (tmp_path / "desired").mkdir()
    try:
        code = main(["--namespace", namespace, "--engine", engine, "--state-dir", str(tmp_path / "state"),
                     "--api-socket", str(tmp_path / "api.sock"), "apply", "--target", "swarm",
                     str(tmp_path / "desired")])
    finally:
        lock_path(namespace, engine).unlink(missing_ok=True)
    assert code == 1
    assert f"the agent of namespace {namespace!r} is suspended: nothing is applied" in capsys.readouterr().err
