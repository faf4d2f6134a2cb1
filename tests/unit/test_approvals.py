"""Approval mode (`run --approve changes|all`) on the in-memory engine: what waits, what is healed,
and what approve and reject do (reconciler.agent.approvals)."""

from __future__ import annotations

import jsonschema
import pytest
from structlog.testing import capture_logs

from reconciler.agent.approvals import Gate, files_key, fingerprint, plan_id
from reconciler.agent.requests import APPROVE, REJECT, Request
from reconciler.agent.statedir import StateDirError
from reconciler.commands.approve import pending_text
from reconciler.control.openapi import schema_of
from reconciler.control.server import Api, ApiError
from reconciler.model import DesiredState
from runtime.base import ObservedContainer, ObservedState
from tests.unit.conftest import new_agent
from tests.unit.test_agent import WEB, last_result, logged, metric, write
from tests.unit.test_agent_control import answered

BONJOUR = WEB.replace("hello", "bonjour")


def gated(agent, state, mode: str = "changes"):
    agent.gate = Gate(mode, state)
    agent.status.approve = mode
    return agent


def env_of(engine, name: str) -> dict[str, str]:
    (container,) = [c for c in engine.containers.values() if c.name == name]
    return dict(container.spec.env)


def pending(agent) -> dict | None:
    return agent.status.snapshot()["pending_plan"]


def decide(agent, kind: str, plan_id: str) -> Request:
    request = agent.submit(Request(kind, plan_id=plan_id))
    agent.run_pass({f"api:{kind}"})
    return request


def running(agent, engine, root, files: dict[str, str]) -> str:
    """Write `files`, let them wait and approve them: the engine runs them. The container id of web."""
    write(root, files)
    agent.run_pass()
    assert decide(agent, APPROVE, pending(agent)["id"]).outcome.done
    assert last_result(agent) == "converged"
    (container,) = engine.containers.values()
    return container.id


@pytest.fixture
def changes(agent, state):
    return gated(agent, state)


def test_on_a_first_start_the_files_wait_and_nothing_is_created(changes, engine, root):
    write(root, {"web.toml": WEB})
    changes.run_pass()
    assert engine.containers == {}
    assert last_result(changes) == "waiting"
    assert [c["name"] for c in pending(changes)["plan"]["changes"]] == ["web"]


def test_a_file_edit_waits_as_the_pending_plan_and_changes_nothing(changes, engine, root):
    web = running(changes, engine, root, {"web.toml": WEB})
    write(root, {"web.toml": BONJOUR})
    changes.run_pass()
    assert [c.id for c in engine.containers.values()] == [web]
    assert env_of(engine, "web") == {"GREETING": "hello"}
    shown = pending(changes)
    assert [(c["action"], c["name"]) for c in shown["plan"]["changes"]] == [("recreate", "web")]
    assert len(shown["id"]) == 16 and shown["since"]


def test_a_resource_whose_change_waits_says_so_with_the_plan_id(changes, engine, root):
    running(changes, engine, root, {"web.toml": WEB})
    write(root, {"web.toml": BONJOUR})
    changes.run_pass()
    (web,) = changes.status.snapshot()["resources"]
    assert web["state"] == "pending"
    assert web["message"].startswith(f"waits for approval (plan {pending(changes)['id']}): ~ recreate container web")


def test_the_pending_plan_carries_the_per_field_diff_from_the_approved_spec(changes, engine, root):
    running(changes, engine, root, {"web.toml": WEB})
    write(root, {"web.toml": BONJOUR})
    changes.run_pass()
    (change,) = pending(changes)["plan"]["changes"]
    assert [d["text"] for d in change["diff"]] == ['env.GREETING: "hello" -> "bonjour"']
    assert '      env.GREETING: "hello" -> "bonjour"' in pending_text(pending(changes))


def test_a_waiting_plan_is_a_metric_until_approved(changes, engine, root):
    write(root, {"web.toml": WEB})
    changes.run_pass()
    assert metric(changes, "reconciler_approval_waiting") == 1
    decide(changes, APPROVE, pending(changes)["id"])
    assert metric(changes, "reconciler_approval_waiting") == 0


def test_in_git_mode_the_files_key_is_the_revision_and_otherwise_the_files_bytes():
    assert files_key({"web.toml": b"a"}, "abc123") == files_key({"web.toml": b"b"}, "abc123") == "revision:abc123"
    assert files_key({"web.toml": b"a"}, None) != files_key({"web.toml": b"b"}, None)
    assert files_key({"a.toml": b"bc"}, None) != files_key({"a.tomlb": b"c"}, None)


def test_approving_the_pending_plan_applies_it(changes, engine, root):
    running(changes, engine, root, {"web.toml": WEB})
    write(root, {"web.toml": BONJOUR})
    changes.run_pass()
    request = decide(changes, APPROVE, pending(changes)["id"])
    assert request.outcome.done and "approved" in request.outcome.message
    assert env_of(engine, "web") == {"GREETING": "bonjour"}
    assert pending(changes) is None and last_result(changes) == "converged"


def test_an_engine_change_between_plan_and_approve_refuses_it_with_a_fresh_plan(changes, engine, root):
    running(changes, engine, root, {"web.toml": WEB})
    write(root, {"web.toml": BONJOUR})
    changes.run_pass()
    shown = pending(changes)["id"]
    engine.remove_by_hand("container", "web")
    request = decide(changes, APPROVE, shown)
    assert not request.outcome.done and shown in request.outcome.message
    fresh = request.outcome.pending["id"]
    assert fresh != shown and pending(changes)["id"] == fresh
    assert env_of(engine, "web") == {"GREETING": "hello"}  # healed as approved, not as it waits


def test_a_container_removed_by_hand_comes_back_with_its_approved_spec_while_an_edit_waits(changes, engine, root):
    running(changes, engine, root, {"web.toml": WEB})
    write(root, {"web.toml": BONJOUR})
    changes.run_pass()
    engine.remove_by_hand("container", "web")
    changes.run_pass()
    assert env_of(engine, "web") == {"GREETING": "hello"}
    assert [c["name"] for c in pending(changes)["plan"]["changes"]] == ["web"]


def test_a_container_healed_while_an_edit_waits_is_recorded_so_the_pending_plan_keeps_its_values(
        changes, engine, root, state):
    running(changes, engine, root, {"web.toml": WEB})
    write(root, {"web.toml": BONJOUR})
    changes.run_pass()
    engine.remove_by_hand("container", "web")
    changes.run_pass()
    (healed,) = engine.containers.values()
    assert [(cid, r["name"]) for cid, r in state.last_applied().items()] == [(healed.id, "web")]
    changes.run_pass()
    (change,) = pending(changes)["plan"]["changes"]
    assert [d["text"] for d in change["diff"]] == ['env.GREETING: "hello" -> "bonjour"']


def test_under_changes_a_container_stopped_by_hand_is_started_again(changes, engine, root):
    running(changes, engine, root, {"web.toml": WEB})
    engine.kill("web")
    changes.run_pass()
    assert [c.state for c in engine.containers.values()] == ["running"]
    assert pending(changes) is None and last_result(changes) == "converged"


def test_under_all_a_container_stopped_by_hand_stays_stopped_and_its_start_waits(agent, state, engine, root):
    gated(agent, state, "all")
    running(agent, engine, root, {"web.toml": WEB})
    engine.kill("web")
    agent.run_pass()
    assert [c.state for c in engine.containers.values()] == ["exited"]
    assert [c["action"] for c in pending(agent)["plan"]["changes"]] == ["start"]


def test_a_rejected_plan_holds_until_the_next_edit(changes, engine, root):
    web = running(changes, engine, root, {"web.toml": WEB})
    write(root, {"web.toml": BONJOUR})
    changes.run_pass()
    assert decide(changes, REJECT, pending(changes)["id"]).outcome.done
    changes.run_pass()
    assert pending(changes) is None and [c.id for c in engine.containers.values()] == [web]
    assert last_result(changes) == "waiting"
    assert changes.status.snapshot()["resources"][0]["message"].startswith("rejected (plan ")
    write(root, {"web.toml": WEB.replace("hello", "hallo")})
    changes.run_pass()
    assert [c["name"] for c in pending(changes)["plan"]["changes"]] == ["web"]
    assert env_of(engine, "web") == {"GREETING": "hello"}


def test_a_reject_of_another_plan_is_refused_and_the_plan_keeps_waiting(changes, engine, root):
    running(changes, engine, root, {"web.toml": WEB})
    write(root, {"web.toml": BONJOUR})
    changes.run_pass()
    request = decide(changes, REJECT, "0" * 16)
    assert not request.outcome.done and request.outcome.pending["id"] == pending(changes)["id"]


def test_a_pending_plan_survives_an_agent_restart_with_its_id_and_since(changes, engine, root, clock, state):
    running(changes, engine, root, {"web.toml": WEB})
    write(root, {"web.toml": BONJOUR})
    changes.run_pass()
    before = pending(changes)
    again = gated(new_agent(root, engine, clock, state), state)
    assert again.gate.shown() == before
    again.run_pass()
    assert pending(again) == before
    assert decide(again, APPROVE, before["id"]).outcome.done
    assert env_of(engine, "web") == {"GREETING": "bonjour"}


def test_a_new_pending_plan_is_logged_and_notified_once(changes, engine, root):
    running(changes, engine, root, {"web.toml": WEB})
    write(root, {"web.toml": BONJOUR})
    sent = []
    changes.notifier = type("Notifier", (), {"notify": lambda self, event, secrets: sent.append(event)})()
    with capture_logs() as logs:
        changes.run_pass()
        changes.run_pass()
    (waiting,) = logged(logs, "approval.waiting")
    assert waiting["id"] == pending(changes)["id"]
    assert waiting["diff"] == {"container/web": ['env.GREETING: "hello" -> "bonjour"']}
    assert [(e.kind, pending(changes)["id"] in e.message) for e in sent] == [("approval_waiting", True)]


def test_each_new_pending_plan_is_notified_about_its_own_id(changes, engine, root):
    running(changes, engine, root, {"web.toml": WEB})
    sent = []
    changes.notifier = type("Notifier", (), {"notify": lambda self, event, secrets: sent.append(event)})()
    ids = []
    for greeting in ("bonjour", "hola"):
        write(root, {"web.toml": WEB.replace("hello", greeting)})
        changes.run_pass()
        ids.append(pending(changes)["id"])
    assert [e.about for e in sent] == ids and ids[0] != ids[1]


def test_the_id_changes_with_the_engine_and_not_with_a_containers_uptime():
    container = ObservedContainer("a" * 64, "web", {"io.reconciler.spec-hash": "h"}, "running", None, "sha256:i",
                                  frozenset({"front"}), 1.0, up_seconds=5.0)
    plan = {"changes": []}
    older = ObservedState(containers=(container,))
    later = ObservedState(containers=(container.__class__(**{**vars(container), "up_seconds": 50.0}),))
    stopped = ObservedState(containers=(container.__class__(**{**vars(container), "state": "exited"}),))
    assert fingerprint(older) == fingerprint(later)
    assert plan_id("k", DesiredState(), older, plan) == plan_id("k", DesiredState(), later, plan)
    assert plan_id("k", DesiredState(), older, plan) != plan_id("k", DesiredState(), stopped, plan)
    assert plan_id("k", DesiredState(), older, plan) != plan_id("k2", DesiredState(), older, plan)


def test_the_id_leaves_out_the_per_field_diffs():
    change = {"action": "recreate", "name": "web", "diff": []}
    shown = {"changes": [{**change, "diff": [{"text": 'env.GREETING: "hello" -> "bonjour"'}]}]}
    assert plan_id("k", DesiredState(), ObservedState(), {"changes": [change]}) == plan_id(
        "k", DesiredState(), ObservedState(), shown)


def test_the_api_answers_an_approve_valid_against_its_schema(changes, engine, root):
    running(changes, engine, root, {"web.toml": WEB})
    write(root, {"web.toml": BONJOUR})
    changes.run_pass()
    shown = pending(changes)["id"]
    code, answer = answered(changes, lambda: Api(changes).handle("POST", f"/v1/approve/{shown}", {}))
    assert code == 200 and answer["decision"] == "approve" and answer["pending_plan"] is None
    jsonschema.validate(answer, schema_of("decision"), cls=jsonschema.Draft202012Validator)
    jsonschema.validate({"schema_version": 1, "status": changes.status.snapshot()}, schema_of("status"),
                        cls=jsonschema.Draft202012Validator)


def test_the_api_refuses_a_stale_approve_with_the_fresh_plan_in_its_error(changes, engine, root):
    running(changes, engine, root, {"web.toml": WEB})
    write(root, {"web.toml": BONJOUR})
    changes.run_pass()

    def call():
        try:
            Api(changes).handle("POST", f"/v1/approve/{'f' * 16}", {})
        except ApiError as error:
            return error

    refused = answered(changes, call)
    assert refused.code == 409 and refused.extra["pending_plan"]["id"] == pending(changes)["id"]
    jsonschema.validate({"schema_version": 1, "error": {"message": str(refused)}, **refused.extra},
                        schema_of("error"), cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize("gate, path, code", [
    (None, "/v1/approve/0123456789abcdef", 409),
    ("changes", "/v1/approve/nothex", 400),
    ("changes", "/v1/reject/0123", 400),
])
def test_the_api_refuses_a_decision_it_cannot_take(agent, state, gate, path, code):
    if gate:
        gated(agent, state, gate)
    with pytest.raises(ApiError) as refused:
        Api(agent).handle("POST", path, {})
    assert refused.value.code == code and str(refused.value)


def test_a_pending_plan_is_printed_with_its_changes_their_reasons_and_the_commands():
    shown = {"id": "0123456789abcdef", "revision": None, "since": "2026-11-30T19:00:00+00:00",
             "plan": {"summary": "1 to recreate", "changes": [
                 {"symbol": "~", "action": "recreate", "kind": "container", "name": "web",
                  "reasons": [{"text": "spec changed: env"}], "blocked": None,
                  "diff": [{"text": 'env.GREETING: "hello" -> "bonjour"'}]}]}}
    assert pending_text(shown) == [
        "pending plan 0123456789abcdef, waiting since 2026-11-30T19:00:00+00:00: 1 to recreate",
        "  ~ recreate container web (spec changed: env)",
        '      env.GREETING: "hello" -> "bonjour"',
        "  reconciler approve 0123456789abcdef   (or: reconciler reject 0123456789abcdef)",
    ]


def test_an_unknown_approval_mode_is_refused(state):
    with pytest.raises(ValueError, match="one of changes, all"):
        Gate("everything", state)


def test_no_secret_of_the_env_file_reaches_the_records_the_status_or_the_logs(root, engine, clock, state, tmp_path):
    root.mkdir()
    env = tmp_path / "secrets.env"
    env.write_text("PASSWORD=canary-old-3f9a\n")
    agent = gated(new_agent(root, engine, clock, state, env_file=str(env)), state)
    secret = '[container.web]\nimage = "demo"\nenv = { PASSWORD = "${PASSWORD}" }\n'
    with capture_logs() as logs:
        web = running(agent, engine, root, {"web.toml": secret})
        env.write_text("PASSWORD=canary-new-7c1e\n")
        agent.run_pass()
    assert [c.id for c in engine.containers.values()] == [web]  # an env file change waits like an edit
    (change,) = pending(agent)["plan"]["changes"]
    assert [d["text"] for d in change["diff"]] == ["env.PASSWORD: (secret changed)"]
    shown = [(state.path / "approvals.json").read_text(), str(agent.status.snapshot()), str(logs)]
    assert not any("canary" in text for text in shown)


@pytest.mark.parametrize("record", [{"approved": {"at": 1.0}}, {"approved": ["web.toml"]},
                                    {"pending": {"id": "0123456789abcdef"}}, {"rejected": "yes"}])
def test_an_approvals_record_that_cannot_be_read_is_refused_naming_the_directory(state, record):
    state.save_approvals(record)
    with pytest.raises(StateDirError, match="not an approvals record"):
        Gate("changes", state)
