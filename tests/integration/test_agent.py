"""The agent end to end: `reconciler run` as a process on the real engine, driven by editing files,
by changing the engine by hand, by signals, and by cutting its way to the engine."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time

import pytest

from tests.conftest import DEMO_IMAGE
from tests.integration.agents import PRIVATE_ENGINES, RECONCILER, eventually, running, service

pytestmark = pytest.mark.integration


def env_of(container) -> list[str]:
    return container.attrs["Config"]["Env"]


@pytest.fixture
def web(desired, names, start_agent, docker_client):
    """An agent that has converged one container, `web`: (agent, name, its container id)."""
    name = names("web")
    (desired / "web.toml").write_text(service(name))
    agent = start_agent()
    agent.wait_converged(name)
    return agent, name, running(docker_client, name).id


def test_an_edited_file_is_converged_to_a_new_container_running_the_new_spec(web, desired, docker_client):
    agent, name, before = web
    (desired / "web.toml").write_text(service(name, greeting="bonjour"))
    after = eventually(lambda: (c := running(docker_client, name)) and c.id != before and c,
                       "a replacement running")
    assert "GREETING=bonjour" in env_of(after)
    agent.wait_converged(name)


def test_a_container_killed_by_hand_runs_again_before_the_interval(web, docker_client):
    agent, name, before = web
    docker_client.containers.get(name).kill()
    eventually(lambda: running(docker_client, name), "the container running again", timeout=10)
    assert running(docker_client, name).id == before


def test_a_container_removed_by_hand_is_created_again_before_the_interval(web, docker_client):
    agent, name, before = web
    docker_client.containers.get(name).remove(force=True)
    eventually(lambda: running(docker_client, name), "a new container running", timeout=10)


BROKEN = {
    "syntax": lambda name: service(name).replace(f'"{DEMO_IMAGE}"', f'"{DEMO_IMAGE}'),
    "schema": lambda name: service(name, extra="ports = 80\n"),
    "reference": lambda name: service(name, extra='networks = ["nowhere"]\n'),
}
BROKEN_AT = {"syntax": "web.toml:2", "schema": "web.toml:7", "reference": "web.toml:7"}


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_an_invalid_edit_touches_nothing_and_is_reported_while_another_file_applies(
    kind, desired, names, start_agent, docker_client
):
    web, db = names("web"), names("db")
    (desired / "web.toml").write_text(service(web))
    (desired / "db.toml").write_text(service(db))
    agent = start_agent()
    agent.wait_converged(web, db)
    web_id, db_id = running(docker_client, web).id, running(docker_client, db).id

    (desired / "web.toml").write_text(BROKEN[kind](web))
    (desired / "db.toml").write_text(service(db, greeting="bonjour"))
    new_db = eventually(lambda: (c := running(docker_client, db)) and c.id != db_id and c, "db replaced")
    assert "GREETING=bonjour" in env_of(new_db)
    eventually(lambda: agent.states() == {web: "stalled", db: "converged"}, "web stalled, db converged")

    assert running(docker_client, web).id == web_id
    assert [e["text"].split(": ")[0] for e in agent.status()["errors"]] == [BROKEN_AT[kind]]
    shown = subprocess.run([RECONCILER, "status", "--status-file", str(agent.status_file)],
                           capture_output=True, text=True)
    assert f"  {BROKEN_AT[kind]}: " in shown.stdout
    assert re.search(rf"container/{web}\s+stalled", shown.stdout)


def test_a_file_broken_while_the_agent_was_stopped_keeps_its_container_stalled_after_a_restart(
    desired, names, start_agent, docker_client
):
    front, api, worker = names("front"), names("api"), names("worker")
    on_front = f'networks = ["{front}"]\n'
    (desired / "a.toml").write_text(f"[network.{front}]\n\n" + service(api, extra=on_front))
    (desired / "b.toml").write_text(service(worker, extra=on_front))
    agent = start_agent()
    agent.wait_converged(api, worker)
    worker_id = running(docker_client, worker).id
    assert agent.stop() == 0

    (desired / "b.toml").write_text(BROKEN["syntax"](worker))
    agent = start_agent()
    expected = {front: "converged", api: "converged", worker: "stalled"}
    eventually(lambda: agent.status()["last_pass"] and agent.states() == expected, "worker stalled after the restart")
    before = agent.passes("invalid")
    agent.process.send_signal(signal.SIGHUP)
    eventually(lambda: agent.passes("invalid") > before, "one more pass")
    assert running(docker_client, worker).id == worker_id
    assert [e["text"].split(": ")[0] for e in agent.status()["errors"]] == ["b.toml:2"]


def test_a_fixed_file_is_converged_and_its_error_cleared(web, desired, docker_client):
    agent, name, before = web
    (desired / "web.toml").write_text(BROKEN["schema"](name))
    eventually(lambda: agent.status()["errors"], "the error reported")
    (desired / "web.toml").write_text(service(name, greeting="fixed"))
    after = eventually(lambda: (c := running(docker_client, name)) and c.id != before and c, "web replaced")
    assert "GREETING=fixed" in env_of(after)
    assert agent.wait_converged(name)["errors"] == []


def test_sigterm_during_a_pass_exits_0_promptly_leaving_one_container(desired, names, start_agent, docker_client):
    name = names("slow")
    # busybox sleep as PID 1 ignores SIGTERM: stopping it takes the whole stop timeout
    slow = service(name).replace("init = true", "init = false").replace("stop_timeout = 1", "stop_timeout = 3")
    (desired / "slow.toml").write_text(slow)
    agent = start_agent()
    agent.wait_converged(name)
    (desired / "slow.toml").write_text(slow.replace("hello", "bonjour"))
    eventually(lambda: len(docker_client.containers.list(all=True, filters={"name": name})) > 1,
               "the replacement under way")
    agent.process.send_signal(signal.SIGTERM)
    assert agent.process.wait(timeout=20) == 0
    assert '"agent.stopped"' in agent.log.read_text()
    (left,) = docker_client.containers.list(all=True, filters={"name": name})
    assert (left.name, left.status) == (name, "running")


def test_sigterm_stops_an_idle_agent_within_a_second(web):
    agent, _, _ = web
    time.sleep(1.5)  # idle: the start's pass and the events it caused are over
    started = time.monotonic()
    agent.process.send_signal(signal.SIGTERM)
    assert agent.process.wait(timeout=5) == 0
    assert time.monotonic() - started < 1.0


def test_sighup_runs_a_pass(web):
    agent, _, _ = web
    before = agent.passes()
    agent.process.send_signal(signal.SIGHUP)
    eventually(lambda: agent.passes() > before, "one more converged pass")


def test_healthz_and_status_report_the_converged_agent(web, namespace, desired):
    agent, name, _ = web
    assert agent.get("/healthz") == (200, "ok\n")
    status = agent.status()
    assert (status["namespace"], status["directory"], status["pid"]) == (namespace, str(desired), agent.process.pid)
    assert status["applied_digest"] == status["last_pass"]["digest"] is not None
    assert status["resources"][0]["name"] == name
    assert json.loads(agent.status_file.read_text())["applied_digest"] == status["applied_digest"]


def test_metrics_count_passes_actions_and_drift_corrections(web, docker_client):
    agent, name, _ = web
    docker_client.containers.get(name).kill()
    eventually(lambda: "reconciler_drift_corrections_total 1.0" in agent.get("/metrics")[1], "a drift correction")
    metrics = agent.get("/metrics")[1]
    assert agent.passes() >= 2
    assert 'reconciler_actions_total{kind="create",result="ok"} 1.0' in metrics
    assert 'reconciler_actions_total{kind="start",result="ok"} 1.0' in metrics
    assert 'reconciler_managed_resources{kind="container"} 1.0' in metrics
    assert "reconciler_pass_duration_seconds_count" in metrics


def test_an_emptied_directory_removes_nothing_and_the_refusal_is_reported(web, desired, docker_client):
    agent, name, before = web
    (desired / "web.toml").unlink()
    blocked = eventually(lambda: [r for r in agent.status()["resources"] if r["state"] == "blocked"],
                         "the refusal reported")
    assert "--allow-empty" in blocked[0]["message"]
    assert agent.status()["last_pass"]["result"] == "failed"
    assert running(docker_client, name).id == before


def test_the_agent_survives_an_unreachable_engine_and_converges_when_it_is_back(
    desired, names, start_agent, docker_client, proxy
):
    name = names("web")
    (desired / "web.toml").write_text(service(name))
    agent = start_agent(engine=f"unix://{proxy.path}")
    agent.wait_converged(name)
    proxy.cut()
    agent.process.send_signal(signal.SIGHUP)
    eventually(lambda: agent.status()["last_pass"]["result"] == "unavailable", "a pass ending unavailable")
    docker_client.containers.get(name).kill()
    proxy.serve()
    eventually(lambda: running(docker_client, name), "the container running again")
    agent.wait_converged(name)
    assert agent.process.poll() is None


def test_a_second_agent_on_the_same_engine_and_namespace_refuses_to_start(web, namespace, desired, tmp_path):
    agent, _, _ = web
    second = subprocess.run(
        [RECONCILER, "--namespace", namespace, "--state-dir", str(tmp_path / "second-state"), "run", str(desired),
         "--status-addr", "127.0.0.1:0", "--status-file", str(tmp_path / "second.json")],
        capture_output=True, text=True, timeout=30,
    )
    assert second.returncode == 1
    assert f"another reconciler (pid {agent.process.pid}: an agent, or an apply) already reconciles" in second.stderr
    assert agent.process.poll() is None


@pytest.mark.skipif(os.environ.get("DOCKER_HOST") not in PRIVATE_ENGINES,
                    reason="stops and starts the engine: only the project's private engines")
def test_after_a_reboot_of_the_engine_the_agent_starts_every_container_that_should_run(
    desired, names, start_agent, docker_client
):
    """Docker starts `always` containers when it starts again; Podman only from its restart
    service (systemd), which these hosts do not have. The agent starts them all either way. As
    on a host that reboots (contrib/reconciler.service), the agent stops before the engine and
    starts after it."""
    always, plain = names("always"), names("plain")
    (desired / "always.toml").write_text(service(always, extra='restart = "always"\n'))
    (desired / "plain.toml").write_text(service(plain))
    first = start_agent()
    first.wait_converged(always, plain)
    script = PRIVATE_ENGINES[os.environ["DOCKER_HOST"]]

    assert first.stop() == 0
    subprocess.run([script, "stop"], check=True, capture_output=True, timeout=60)
    if script.name == "podman.sh":  # its containers outlive the service (conmon): a reboot stops them
        subprocess.run([script, "cli", "stop", "--time", "1", always, plain], check=True, capture_output=True,
                       timeout=60)
    own = {key: value for key, value in os.environ.items() if key != "DOCKER_HOST"}  # start it, not only ask
    subprocess.run([script, "ensure"], check=True, capture_output=True, timeout=120, env=own)
    agent = start_agent()

    eventually(lambda: running(docker_client, always) and running(docker_client, plain),
               "both containers running again", timeout=60)
    agent.wait_converged(always, plain)
    assert agent.process.poll() is None
