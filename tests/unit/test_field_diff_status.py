"""The per-field diff in `reconciler status` (text) and on the status page, from the status file."""

from __future__ import annotations

from argparse import Namespace

from reconciler.agent.status import ResourceReport, Status
from reconciler.commands import status as command
from reconciler.commands.control import passed_text
from reconciler.fielddiff import FieldDiff
from reconciler.statuspage import render
from reconciler.statuspage.view import pending_plan
from tests.unit.test_status_page import NOW, text_of

GREETING = FieldDiff("env.GREETING", "hello", "bonjour")
DNS = FieldDiff("dns[0]", "1.1.1.1", None, "-")


def test_the_status_text_lists_the_changes_of_each_resource_under_its_name(tmp_path, capsys):
    path = tmp_path / "prod.status.json"
    status = Status("prod", str(tmp_path / "desired"), interval=30, path=str(path))
    status.set_resources([ResourceReport("container", "web", "failed", "exited with code 1", (GREETING, DNS)),
                          ResourceReport("container", "db", "converged")])
    status.save()
    command.run(Namespace(status_file=str(path), json=False, namespace="prod"))
    out = capsys.readouterr().out
    assert out.split("\n\nCHANGES\n", 1)[1].startswith(
        '  container/web\n    env.GREETING: "hello" -> "bonjour"\n    - dns[0]: "1.1.1.1"\n')


def test_the_status_text_has_no_changes_section_when_nothing_changes(tmp_path, capsys):
    path = tmp_path / "prod.status.json"
    status = Status("prod", str(tmp_path / "desired"), interval=30, path=str(path))
    status.set_resources([ResourceReport("container", "db", "converged")])
    status.save()
    command.run(Namespace(status_file=str(path), json=False, namespace="prod"))
    assert "CHANGES" not in capsys.readouterr().out


def test_the_status_page_shows_a_resources_diff_under_its_message():
    status = Status("prod", "/srv/desired", interval=30, clock=lambda: NOW, monotonic=lambda: NOW)
    status.set_resources([ResourceReport("container", "web", "failed", "exited with code 1", (GREETING,))])
    assert "exited with code 1 env.GREETING: &#34;hello&#34; -&gt; &#34;bonjour&#34;" in text_of(
        render(status.snapshot(), now=NOW))


def test_a_pending_plan_on_the_page_carries_each_changes_diff_lines():
    change = {"action": "recreate", "symbol": "~", "kind": "container", "name": "web", "reasons": [],
              "source": "web.toml", "steps": [], "if_it_fails": [], "then": None, "blocked": None,
              "diff": [GREETING.data()]}
    held = {"plan": {"changes": [change], "summary": "1 to recreate"}, "revision": None, "since": None}
    assert pending_plan(held, NOW)["changes"][0]["diff"] == ['env.GREETING: "hello" -> "bonjour"']


def test_an_answer_of_the_agent_lists_what_is_left_to_do_with_each_changes_diff():
    change = {"symbol": "~", "kind": "container", "name": "web", "diff": [GREETING.data(), DNS.data()]}
    answer = {"pass": {"result": "failed", "duration_seconds": 0.5},
              "plan": {"changes": [change, {"symbol": "+", "kind": "volume", "name": "data"}],
                       "summary": "Plan: 1 to create, 1 to recreate."}}
    assert passed_text(answer).splitlines()[1:] == [
        "  ~ container web", '      env.GREETING: "hello" -> "bonjour"', '      - dns[0]: "1.1.1.1"',
        "  + volume data", "Plan: 1 to create, 1 to recreate."]
