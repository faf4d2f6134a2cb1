"""Rollback-aware retries in the agent, pass by pass, on the in-memory engine: a replacement whose
new container fails is tried once per spec, the old container keeps serving, and only an edit or
a retry tries again."""

from __future__ import annotations

from reconciler.agent.loop import Agent
from reconciler.agent.requests import RETRY, Request
from reconciler.agent.rollbacks import cli_options
from reconciler.agent.status import Status
from reconciler.options import PlanOptions
from runtime.base import InvalidSpec
from runtime.memory import MemoryRuntime
from tests.unit.conftest import NS, new_agent
from tests.unit.desired import write
from tests.unit.test_agent import creates

WEB = '[container.web]\nimage = "demo"\nenv = { GREETING = "hello" }\nupdate = { order = "start-first" }\n'
BROKEN = WEB.replace("hello", "bonjour")


def serving(engine: MemoryRuntime) -> list[tuple[str, str, str]]:
    """(id, state, GREETING) of the containers named web."""
    return [(c.id, c.state, c.spec.env.get("GREETING")) for c in engine.containers.values() if c.name == "web"]


def quarantined(agent: Agent, engine: MemoryRuntime, root) -> list[tuple[str, str, str]]:
    """web converged, then edited to a spec whose container exits at once: one pass tries it."""
    write(root, {"web.toml": WEB})
    agent.run_pass()
    before = serving(engine)
    engine.on_start("web", exit_code=1)
    write(root, {"web.toml": BROKEN})
    agent.run_pass({"edit"})
    return before


def later_passes(agent: Agent, count: int = 5) -> None:
    """Passes long after, each past any backoff the agent might hold."""
    for _ in range(count):
        agent.clock.now += 3600
        agent.run_pass({"resync"})


def test_a_failing_replacement_is_tried_once_and_the_old_container_keeps_serving(agent, engine, root):
    before = quarantined(agent, engine, root)
    later_passes(agent)
    assert creates(engine, "web") == 2
    assert serving(engine) == before and before[0][1:] == ("running", "hello")


def test_a_quarantined_replacement_is_reported_failed_with_the_previous_container_running(agent, engine, root):
    quarantined(agent, engine, root)
    later_passes(agent, 1)
    (web,) = agent.status.snapshot()["resources"]
    assert web["state"] == "failed"
    assert web["message"].startswith("spec ")
    assert web["message"].endswith(" failed for web: exited with code 1 while waiting for running; "
                                   "running the previous container")


def test_a_quarantined_replacement_whose_previous_container_was_stopped_by_hand_says_it_is_not_serving(
        agent, engine, root):
    quarantined(agent, engine, root)
    engine.kill("web")
    later_passes(agent, 1)
    (web,) = agent.status.snapshot()["resources"]
    assert web["message"].endswith("; the previous container is exited, not serving")
    assert agent.status.snapshot()["quarantined"][0]["previous"] == "exited"


def test_an_edit_tries_the_new_spec(agent, engine, root):
    quarantined(agent, engine, root)
    later_passes(agent, 2)
    write(root, {"web.toml": WEB.replace("hello", "hola")})
    agent.run_pass({"edit"})
    assert creates(engine, "web") == 3


def test_a_retry_tries_the_quarantined_spec_once_more(agent, engine, root):
    quarantined(agent, engine, root)
    agent.submit(Request(RETRY, key="container/web"))
    agent.run_pass({"api:retry"})
    later_passes(agent, 3)
    assert creates(engine, "web") == 3


def test_a_quarantine_survives_an_agent_restart(agent, engine, root, clock, state):
    quarantined(agent, engine, root)
    again = new_agent(root, engine, clock, state)
    again.run_pass()
    later_passes(again, 2)
    assert creates(engine, "web") == 2
    assert list(state.quarantines()) == ["container/web"]


def test_a_failure_outside_the_new_container_keeps_its_backoff_retries(agent, engine, root):
    write(root, {"web.toml": WEB})
    agent.run_pass()
    engine.fail_next("start_container", InvalidSpec("Bind for 0.0.0.0:80 failed: port is already allocated"))
    write(root, {"web.toml": BROKEN})
    agent.run_pass({"edit"})
    later_passes(agent, 1)
    assert creates(engine, "web") == 3
    assert agent.rollbacks.records == {}


def test_the_old_container_removed_by_hand_is_made_again_from_its_last_applied_spec(agent, engine, root):
    quarantined(agent, engine, root)
    engine.on_start("web", exit_code=None)
    engine.remove_by_hand("container", "web")
    agent.run_pass({"event:container:destroy"})
    later_passes(agent, 2)
    ((_, state, greeting),) = serving(engine)
    assert (state, greeting) == ("running", "hello")
    assert creates(engine, "web") == 3


def test_the_last_applied_spec_holds_no_value_of_the_env_file_and_heals_with_it(root, engine, clock, state, tmp_path):
    env_file = tmp_path / "secrets.env"
    env_file.write_text("TOKEN=s3cret-canary\n")
    root.mkdir()
    status = Status(NS, str(root), interval=30.0, monotonic=clock)
    agent = Agent(root, engine, NS, status, clock=clock, state_dir=state, env_file=str(env_file))
    engine.listen(agent.informer.note)
    write(root, {"web.toml": WEB.replace('"hello"', '"${TOKEN}"')})
    agent.run_pass()
    engine.on_start("web", exit_code=1)
    write(root, {"web.toml": WEB.replace('"hello"', '"${TOKEN}"') + 'command = ["serve"]\n'})
    agent.run_pass({"edit"})
    engine.on_start("web", exit_code=None)
    engine.remove_by_hand("container", "web")
    agent.run_pass({"event:container:destroy"})
    assert [(s, g) for _, s, g in serving(engine)] == [("running", "s3cret-canary")]
    assert not any(b"s3cret-canary" in path.read_bytes() for path in state.path.rglob("*") if path.is_file())


def test_the_clis_plan_shows_the_agents_quarantine(agent, engine, root, state):
    quarantined(agent, engine, root)
    options = PlanOptions(**cli_options(state, agent.desired.state))
    assert options.quarantined == agent.rollbacks.quarantined(agent.desired.state)
    assert options.last_applied["container/web"].env == {"GREETING": "hello"}
