"""The agent's per-field diffs, on the in-memory engine: in its logs and its status, never a secret."""

from __future__ import annotations

import json

import jsonschema
from structlog.testing import capture_logs

from reconciler.control.openapi import schema_of
from reconciler.control.server import Api
from tests.unit.conftest import new_agent
from tests.unit.desired import write

WEB = '[container.web]\nimage = "demo"\nenv = { GREETING = "hello" }\nupdate = { order = "start-first" }\n'
CANARY = "s3cret-canary"


def diff_logged(logs: list[dict]) -> list[list[str]]:
    return [entry["diff"] for entry in logs if entry["event"] == "container.recreated" and "diff" in entry]


def test_a_replacement_logs_what_it_changed(agent, root):
    write(root, {"web.toml": WEB})
    agent.run_pass()
    write(root, {"web.toml": WEB.replace("hello", "bonjour")})
    with capture_logs() as logs:
        agent.run_pass({"edit"})
    assert diff_logged(logs) == [['env.GREETING: "hello" -> "bonjour"']]


def test_a_failed_replacement_shows_its_diff_in_the_status_and_the_status_validates(agent, engine, root):
    write(root, {"web.toml": WEB})
    agent.run_pass()
    engine.on_start("web", exit_code=1)
    write(root, {"web.toml": WEB.replace("hello", "bonjour")})
    agent.run_pass({"edit"})
    (web,) = agent.status.snapshot()["resources"]
    assert (web["state"], [d["text"] for d in web["diff"]]) == ("failed", ['env.GREETING: "hello" -> "bonjour"'])
    code, answer = Api(agent).handle("GET", "/v1/status", {})
    assert code == 200
    jsonschema.validate(answer, schema_of("status"), cls=jsonschema.Draft202012Validator)


def test_a_converged_resource_has_no_diff_in_the_status(agent, root):
    write(root, {"web.toml": WEB})
    agent.run_pass()
    (web,) = agent.status.snapshot()["resources"]
    assert "diff" not in web


def test_a_changed_env_file_value_is_secret_changed_in_logs_and_status(root, engine, clock, state, tmp_path):
    env_file = tmp_path / "secrets.env"
    env_file.write_text(f"TOKEN={CANARY}\n")
    root.mkdir()
    agent = new_agent(root, engine, clock, state, env_file=str(env_file))
    write(root, {"web.toml": WEB.replace('"hello"', '"${TOKEN}"')})
    agent.run_pass()
    env_file.write_text(f"TOKEN={CANARY}-2\n")
    engine.on_start("web", exit_code=1)
    with capture_logs() as logs:
        agent.run_pass({"edit"})
    (web,) = agent.status.snapshot()["resources"]
    assert [d["text"] for d in web["diff"]] == ["env.GREETING: (secret changed)"]
    assert CANARY not in json.dumps(logs, default=str) and CANARY not in agent.status.to_json().decode()



def test_a_failed_replacement_logs_what_it_would_have_changed(agent, engine, root):
    write(root, {"web.toml": WEB})
    agent.run_pass()
    engine.on_start("web", exit_code=1)
    write(root, {"web.toml": WEB.replace("hello", "bonjour")})
    with capture_logs() as logs:
        agent.run_pass({"edit"})
    assert [e["diff"] for e in logs if e["event"] == "container.failed"] == [['env.GREETING: "hello" -> "bonjour"']]
