"""The status page as served: `/` on the status address renders the status snapshot as HTML, every
value escaped, self-contained, refreshing; and the status keeps the passes and quarantines it shows."""

from __future__ import annotations

import http.client
import json
import re
from importlib.resources import files

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from reconciler.agent.quarantine import Quarantine
from reconciler.agent.status import PASSES_KEPT, ResourceReport, Status, StatusServer
from reconciler.desired.problems import Problem
from reconciler.statuspage import REFRESH_SECONDS, render

NOW = 1_700_000_000.0
HOSTILE = '<img src=x onerror="alert(1)">&'


@pytest.fixture
def status(tmp_path) -> Status:
    return Status("prod", str(tmp_path / "desired"), interval=30, clock=lambda: NOW, monotonic=lambda: NOW)


def page_of(status: Status) -> str:
    return render(status.snapshot(), now=NOW + 65)


def text_of(html: str) -> str:
    """What a person reads: the tags dropped, the entities left as written."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# what the status keeps for the page


def test_the_status_lists_the_last_passes_oldest_first(status):
    for result in ("failed", "converged"):
        status.record_pass(result, 0.5, {"actions": 1})
    assert [p["result"] for p in status.snapshot()["passes"]] == ["failed", "converged"]


def test_the_status_keeps_a_bounded_number_of_passes(status):
    for n in range(PASSES_KEPT + 5):
        status.record_pass("converged", float(n))
    passes = status.snapshot()["passes"]
    assert len(passes) == PASSES_KEPT
    assert passes[0]["duration_seconds"] == 5.0


def test_the_status_lists_the_quarantined_replacements(status):
    status.set_quarantined([Quarantine("container/web", "a" * 64, "sha256:" + "b" * 64, "c" * 40,
                                       "not healthy after 5s", NOW)], {"container/web": "running"})
    assert status.snapshot()["quarantined"] == [
        {"resource": "container/web", "spec_hash": "a" * 64, "image_id": "sha256:" + "b" * 64,
         "revision": "c" * 40, "reason": "not healthy after 5s", "since": "2023-11-14T22:13:20+00:00",
         "previous": "running"}]


def test_a_quarantine_whose_previous_container_holds_no_name_says_it_is_gone(status):
    status.set_quarantined([Quarantine("container/web", "a" * 64, "", None, "exited", NOW)], {})
    assert status.snapshot()["quarantined"][0]["previous"] == "gone"


def test_the_engine_out_of_reach_is_in_the_status_with_its_address_error_and_first_time(tmp_path):
    now = [NOW]
    status = Status("prod", str(tmp_path), interval=30, clock=lambda: now[0])
    status.set_engine_error("unix:///run/x/docker.sock", "connection refused")
    now[0] += 60
    status.set_engine_error("unix:///run/x/docker.sock", "no such file")
    assert status.snapshot()["engine_error"] == {"address": "unix:///run/x/docker.sock", "error": "no such file",
                                                 "since": "2023-11-14T22:13:20+00:00"}


def test_an_engine_that_answers_again_has_no_error_in_the_status(status):
    status.set_engine_error("unix:///run/x/docker.sock", "connection refused")
    status.set_engine_error(None)
    assert status.snapshot()["engine_error"] is None


def test_the_snapshot_validates_against_the_status_schema(status):
    status.record_pass("failed", 0.5, {"actions": 1})
    status.set_quarantined([Quarantine("container/web", "a" * 64, "", None, "exited 1", NOW)])
    schemas = {name: json.loads((files("schemas") / name).read_text()) for name in ("api.schema.json",
                                                                                    "plan.schema.json")}
    registry = Registry().with_resources((name, Resource.from_contents(s)) for name, s in schemas.items())
    validator = Draft202012Validator({"$ref": "api.schema.json#/$defs/status"}, registry=registry)
    assert list(validator.iter_errors({"schema_version": 1, "status": status.snapshot()})) == []


# the page


def test_the_page_refreshes_itself_and_fits_a_phone(status):
    html = page_of(status)
    assert f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}">' in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "@media (max-width: 640px)" in html


def test_the_page_has_no_script_and_no_external_asset(status):
    html = page_of(status).lower()
    assert "<script" not in html
    assert "<link" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)


def test_the_page_shows_each_resource_with_its_state_reason_and_since(status):
    status.set_resources([ResourceReport("container", "web", "failed", "pull failed: manifest unknown"),
                          ResourceReport("container", "db", "converged")])
    text = text_of(page_of(status))
    assert "container/web failed 1m 5s ago pull failed: manifest unknown" in text
    assert "container/db converged 1m 5s ago" in text


def test_the_page_shows_an_error_at_its_file_and_line(status):
    status.set_errors([Problem("web.toml", 3, "container.web.image", "required")])
    assert "web.toml:3 : container.web.image : required" in text_of(page_of(status))


def test_the_page_shows_the_timeline_of_passes(status):
    status.record_pass("failed", 0.25, {"actions": 2, "failures": 1})
    status.record_pass("converged", 0.5, {"actions": 1})
    text = text_of(page_of(status))
    assert "Last passes" in text
    assert text.index("converged 0.50s actions 1") < text.index("failed 0.25s actions 2, failures 1")


def test_the_page_shows_retries_and_crash_loops(status):
    status.set_resources([ResourceReport("container", "worker", "crashloop", "exited 3 times")])
    status.set_retries({("container", "worker"): 108.0}, now=100.0)
    text = text_of(page_of(status))
    assert "Retries and crash loops" in text
    assert "container/worker crashloop exited 3 times" in text
    assert "container/worker next attempt due" in text


def test_the_page_leaves_out_the_sections_with_nothing_to_show(status):
    status.set_resources([ResourceReport("container", "db", "converged")])
    html = page_of(status)
    assert not any(f'id="{section}"' in html for section in ("errors", "attention", "pending-plan", "quarantined",
                                                             "retries"))


def test_the_page_shows_a_pending_plan_with_its_diff(status):
    snapshot = status.snapshot()
    change = {"action": "recreate", "symbol": "~", "kind": "container", "name": "web",
              "reasons": [{"reason": "spec_changed", "text": "spec changed: image"}], "source": "web.toml",
              "steps": [], "if_it_fails": [], "then": None, "blocked": None}
    snapshot["pending_plan"] = {"plan": {"schema_version": 1, "changes": [change], "has_changes": True,
                                         "runnable": 1, "blocked": [], "summary": "1 to recreate"}}
    text = text_of(render(snapshot, now=NOW))
    assert "Pending plan 1 to recreate ~ container/web recreate (web.toml) spec changed: image" in text


def test_the_page_names_the_commands_that_approve_or_reject_a_pending_plan(status):
    snapshot = status.snapshot()
    plan = {"schema_version": 1, "changes": [], "has_changes": True, "runnable": 1, "blocked": [],
            "summary": "1 to create"}
    snapshot["pending_plan"] = {"id": "0123456789abcdef", "plan": plan}
    text = text_of(render(snapshot, now=NOW))
    assert "reconciler approve 0123456789abcdef applies it; reconciler reject 0123456789abcdef drops it" in text


def test_the_page_says_which_engine_does_not_answer_and_why(status):
    status.set_engine_error("unix:///run/x/docker.sock", "Error while fetching server API version: no such file")
    text = text_of(page_of(status))
    assert ("Engine unavailable unix:///run/x/docker.sock does not answer (since 1m 5s ago ): "
            "Error while fetching server API version: no such file") in text


def test_the_page_does_not_call_a_quarantined_containers_exited_predecessor_serving(status):
    status.set_quarantined([Quarantine("container/web", "a" * 64, "", None, "exited", NOW)],
                           {"container/web": "exited"})
    text = text_of(page_of(status))
    assert "exited not serving" in text
    assert "serving" not in text.replace("not serving", "")


def test_every_value_on_the_page_is_escaped(status):
    status.namespace = HOSTILE
    status.set_resources([ResourceReport("container", HOSTILE, "failed", HOSTILE)])
    status.set_errors([Problem(HOSTILE, 1, HOSTILE, HOSTILE)])
    status.record_pass("crashed", 0.1, error=HOSTILE)
    html = page_of(status)
    assert "<img" not in html
    assert html.count("&lt;img src=x onerror=&#34;alert(1)&#34;&gt;&amp;") >= 6


# served on the status address


def fetch(server: StatusServer, path: str, host: str | None = None) -> tuple[int, str, str]:
    connection = http.client.HTTPConnection(*server.address, timeout=10)
    connection.request("GET", path, headers={"Host": host} if host else {})
    answer = connection.getresponse()
    result = answer.status, answer.getheader("Content-Type"), answer.read().decode()
    connection.close()
    return result


def test_the_root_serves_the_page_as_html(server, status):
    status.set_resources([ResourceReport("container", "web", "converged")])
    code, content_type, body = fetch(server, "/")
    assert (code, content_type) == (200, "text/html; charset=utf-8")
    assert "container/web" in body


def test_the_root_refuses_a_host_header_naming_another_host(server):
    code, _, body = fetch(server, "/", host="rebound.example:80")
    assert code == 403
    assert "<html" not in body
