"""Per-field diffs on a real engine: `apply`, an edit, then `plan` and `apply` print what changes,
value by value, from the last-applied record in the state directory; a changed secret is only said
to have changed. On Docker, and on Podman with DOCKER_HOST at its socket."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.resources import files

import pytest
from jsonschema import Draft202012Validator

pytestmark = pytest.mark.integration

CANARY = "fd-canary-7c1e"
APP = """[container.{name}]
image = "localhost/demo:1"
command = ["sleep", "3600"]
init = true
stop_timeout = 1
env = {{ GREETING = "{greeting}", TOKEN = "${{TOKEN}}" }}
dns = [{dns}]
"""


@pytest.fixture
def app(tmp_path, namespace):
    """A directory, an env file holding the secret, a state directory, and `run` to call the CLI with them."""
    directory, env_file, state = tmp_path / "desired", tmp_path / "secrets.env", tmp_path / "state"
    directory.mkdir()

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "reconciler", "--namespace", namespace, "--state-dir", str(state),
                               args[0], str(directory), "--env-file", str(env_file), *args[1:]],
                              capture_output=True, text=True, timeout=180)

    def declare(greeting: str, token: str, dns: str = "") -> None:
        (directory / "app.toml").write_text(APP.format(name=f"{namespace}-app", greeting=greeting, dns=dns))
        env_file.write_text(f"TOKEN={token}\n")

    declare("hello", CANARY)
    applied = run("apply")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    run.declare, run.state = declare, state
    return run


def test_plan_after_an_edit_prints_each_changed_value_under_the_replacement(app, namespace):
    app.declare("bonjour", CANARY, dns='"192.0.2.53"')
    planned = app("plan", "--brief")
    assert planned.stdout == "\n".join([
        f"~ recreate container {namespace}-app (spec changed: dns, env)",
        '    + dns[0]: "192.0.2.53"',
        '    env.GREETING: "hello" -> "bonjour"',
        "Plan: 1 to recreate.\n",
    ]), planned.stderr


def test_a_changed_secret_is_said_changed_and_its_values_are_in_no_output_nor_the_state_directory(app, namespace):
    app.declare("hello", CANARY + "-2")
    planned, as_json = app("plan", "--brief"), app("plan", "--json")
    assert planned.stdout.splitlines()[1:3] == ["    env.TOKEN: (secret changed)", "Plan: 1 to recreate."]
    assert json.loads(as_json.stdout)["changes"][0]["diff"][0]["text"] == "env.TOKEN: (secret changed)"
    applied = app("apply")
    assert "    env.TOKEN: (secret changed)" in applied.stdout.splitlines()
    outputs = planned.stdout + planned.stderr + as_json.stdout + as_json.stderr + applied.stdout + applied.stderr
    assert CANARY not in outputs
    assert not any(CANARY.encode() in p.read_bytes() for p in app.state.rglob("*") if p.is_file())


def test_plan_json_carries_the_diff_and_validates_against_its_schema(app):
    app.declare("bonjour", CANARY)
    data = json.loads(app("plan", "--json").stdout)
    schema = Draft202012Validator(json.loads((files("schemas") / "plan.schema.json").read_text()))
    assert [e.message for e in schema.iter_errors(data)] == []
    assert data["changes"][0]["diff"] == [{"path": "env.GREETING", "op": "~", "old": "hello", "new": "bonjour",
                                           "secret": False, "text": 'env.GREETING: "hello" -> "bonjour"'}]


def test_after_the_apply_of_an_edit_the_record_is_of_the_new_spec_and_the_next_plan_is_empty(app):
    app.declare("bonjour", CANARY)
    applied = app("apply")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    app.declare("hola", CANARY)
    assert 'env.GREETING: "bonjour" -> "hola"' in app("plan", "--brief").stdout
    app.declare("bonjour", CANARY)
    assert app("plan", "--brief").stdout == "No changes: the engine matches the desired state.\n"
