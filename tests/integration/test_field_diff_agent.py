"""The agent's per-field diffs on the real engine: a replacement that fails shows what it would
change, value by value, in the status and the log; a changed secret only as `(secret changed)`."""

from __future__ import annotations

import json

import pytest

from tests.integration.agents import eventually, service

pytestmark = pytest.mark.integration

CANARY = "fd-agent-canary-51b0"
EXITS = 'command = ["sh", "-c", "sleep 0.3; exit 3"]\n'


def test_a_failed_replacement_shows_its_values_in_the_status_and_the_log_and_never_the_secret(
        desired, names, start_agent, tmp_path):
    name = names("web")
    env_file = tmp_path / "secrets.env"
    env_file.write_text(f"TOKEN={CANARY}\n")
    token = 'env = { GREETING = "hello", TOKEN = "${TOKEN}" }\n'
    (desired / "web.toml").write_text(service(name).replace('env = { GREETING = "hello" }\n', token))
    agent = start_agent(extra=("--interval", "1s", "--env-file", str(env_file)))
    agent.wait_converged(name)
    env_file.write_text(f"TOKEN={CANARY}-2\n")
    (desired / "web.toml").write_text(service(name).replace('env = { GREETING = "hello" }\n', token.replace(
        "hello", "bonjour")).replace('command = ["sleep", "3600"]\n', EXITS))
    web = eventually(lambda: next((r for r in agent.status()["resources"] if r["name"] == name and r.get("diff")),
                                  None), "the failed replacement's diff in the status", timeout=60)
    assert web["state"] == "failed"
    assert [d["text"] for d in web["diff"]] == [
        'command[0]: "sleep" -> "sh"', 'command[1]: "3600" -> "-c"', '+ command[2]: "sleep 0.3; exit 3"',
        'env.GREETING: "hello" -> "bonjour"', "env.TOKEN: (secret changed)"]
    log = agent.log.read_text()
    failed = [json.loads(line) for line in log.splitlines() if '"container.failed"' in line]
    assert failed and 'env.GREETING: "hello" -> "bonjour"' in failed[0]["diff"]
    assert CANARY not in log and CANARY not in agent.status_file.read_text()
