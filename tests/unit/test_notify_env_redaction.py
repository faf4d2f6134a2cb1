"""Every value of the env file is masked in notifications and in the log of a commit subject,
whether a desired-state file uses it or not (DESIGN section 11; docs/notifications.md "Redaction")."""

from __future__ import annotations

from reconciler.agent.metrics import Metrics
from reconciler.commands.cli import build_parser
from reconciler.commands.run import git_source
from reconciler.desired.envfile import values_of
from reconciler.notify.events import KINDS
from reconciler.notify.notifier import Notifier
from runtime.base import InvalidSpec
from tests.unit.conftest import new_agent
from tests.unit.desired import write
from tests.unit.test_agent import WEB, converged
from tests.unit.test_notifier import Recorder

CANARY = "canary-unused-9f3a"


def env_file(tmp_path) -> str:
    path = tmp_path / "agent.env"
    path.write_text(f"USED=hello\nUNUSED={CANARY}\n")
    return str(path)


def test_every_value_of_the_env_file_is_a_secret_used_or_not(tmp_path):
    assert values_of(env_file(tmp_path)) == {"hello", CANARY}


def test_an_env_file_that_cannot_be_read_gives_no_values(tmp_path):
    assert values_of(str(tmp_path / "missing.env")) == frozenset() and values_of(None) == frozenset()


def test_a_notification_masks_an_env_file_value_no_file_uses(root, engine, clock, state, tmp_path):
    agent = new_agent(root, engine, clock, state, env_file=env_file(tmp_path))
    target = Recorder(events=KINDS)
    agent.notifier = Notifier([target], Metrics(), "ns", "host-1")
    converged(agent, root, {"web.toml": WEB})
    write(root, {"web.toml": WEB.replace("hello", "bonjour")})
    engine.fail_next("start_container", InvalidSpec(f"refused: token {CANARY}"))
    agent.run_pass()
    agent.notifier.start()
    agent.notifier.stop()
    assert target.sent and all(CANARY not in n.event.message for n in target.sent)
    assert any("token ***" in n.event.message for n in target.sent)


def test_the_commit_subject_logged_at_checkout_masks_every_env_file_value(tmp_path):
    args = build_parser().parse_args(["run", "--git", "https://example.com/repo.git", "--env-file",
                                      env_file(tmp_path)])
    source = git_source(args, tmp_path / "git")
    assert source.mask(f"Rotate the key to {CANARY}") == "Rotate the key to ***"
