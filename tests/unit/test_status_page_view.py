"""The status page's view (reconciler.statuspage.view): a status snapshot as what the page shows."""

from __future__ import annotations

from reconciler.agent.timestamps import iso
from reconciler.statuspage.view import ago, context, pending_plan, problems, resources, retries, source, timeline

NOW = 1_700_000_000.0  # 2023-11-14T22:13:20+00:00
AT = "2023-11-14T22:13:20+00:00"


def stamp(seconds_before: int) -> str:
    return iso(NOW - seconds_before)


def resource(name: str, state: str, message: str = "", kind: str = "container") -> dict:
    return {"kind": kind, "name": name, "state": state, "message": message, "since": stamp(30)}


def test_ago_says_minutes_and_seconds_for_the_past():
    assert ago(stamp(185), NOW) == "3m 5s ago"


def test_ago_says_in_for_a_time_to_come():
    assert ago(stamp(-8), NOW) == "in 8s"


def test_ago_says_just_now_within_a_second():
    assert ago(AT, NOW) == "just now"


def test_ago_is_empty_without_a_stamp():
    assert ago(None, NOW) == ""


def test_resources_list_the_worst_state_first_then_kind_and_name():
    rows = resources([resource("a", "converged"), resource("z", "failed"), resource("b", "crashloop"),
                      resource("data", "retained", kind="volume"), resource("m", "failed")], NOW)
    assert [(r["key"], r["state"]) for r in rows] == [
        ("container/m", "failed"), ("container/z", "failed"), ("container/b", "crashloop"),
        ("volume/data", "retained"), ("container/a", "converged")]


def test_a_resource_carries_its_tone_and_how_long_it_has_been_in_its_state():
    (row,) = resources([resource("web", "stalled", "its file is invalid")], NOW)
    assert (row["tone"], row["since_ago"], row["message"]) == ("warn", "30s ago", "its file is invalid")


def test_what_needs_attention_leaves_out_converged_pending_and_retained():
    page = context({"resources": [resource("ok", "converged"), resource("new", "pending"),
                                  resource("bad", "failed"), resource("held", "conflict"),
                                  resource("old", "retained", kind="volume")]}, NOW)
    assert [r["key"] for r in page["attention"]] == ["container/bad", "container/held"]


def test_counts_are_per_state_worst_first():
    page = context({"resources": [resource("a", "converged"), resource("b", "converged"), resource("c", "failed")]},
                   NOW)
    assert [(c["state"], c["count"]) for c in page["counts"]] == [("failed", 1), ("converged", 2)]


def test_a_problem_is_placed_at_file_and_line():
    (entry,) = problems([{"file": "web.toml", "line": 12, "key": "container.web.image", "message": "required",
                          "text": "web.toml:12: container.web.image: required"}])
    assert entry == {"where": "web.toml:12", "key": "container.web.image", "message": "required"}


def test_a_problem_without_a_line_is_placed_at_its_file():
    (entry,) = problems([{"file": "web.toml", "line": None, "key": "", "message": "not TOML"}])
    assert entry["where"] == "web.toml"


def test_the_timeline_lists_the_newest_pass_first_with_its_counts():
    passes = [{"at": stamp(90), "duration_seconds": 0.25, "result": "failed", "counts": {"actions": 1, "failures": 1}},
              {"at": stamp(30), "duration_seconds": 1.5, "result": "converged", "counts": {}}]
    rows = timeline(passes, NOW)
    assert [(r["result"], r["tone"], r["ago"], r["duration"]) for r in rows] == [
        ("converged", "ok", "30s ago", "1.50s"), ("failed", "bad", "1m 30s ago", "0.25s")]
    assert rows[1]["counts"] == "actions 1, failures 1"


def test_a_retry_to_come_says_when_and_one_past_says_due():
    rows = retries([{"resource": "container/web", "next_attempt_at": stamp(-8)},
                    {"resource": "container/db", "next_attempt_at": stamp(2)}], NOW)
    assert [(r["resource"], r["when"]) for r in rows] == [("container/web", "in 8s"), ("container/db", "due")]


def test_a_directory_source_shows_the_applied_digest_short():
    shown = source({"directory": "/srv/desired", "applied_digest": "sha256:" + "ab" * 32}, NOW)
    assert shown == {"kind": "directory", "directory": "/srv/desired", "applied": "ab" * 6}


def test_a_git_source_shows_its_revisions_short_and_each_file_state():
    git = {"kind": "git", "url": "https://forge.example/hosts.git", "ref": "main", "path": "web",
           "fetched_at": stamp(20), "fetch_error": None, "refused": None, "revision": "c" * 40,
           "attempted": "c" * 40, "applied": "b" * 40, "files": {"web.toml": "failed", "db.toml": "applied"}}
    shown = source({"source": git}, NOW)
    assert (shown["revision"], shown["attempted"], shown["applied"]) == ("c" * 12, "c" * 12, "b" * 12)
    assert shown["files"] == [{"path": "db.toml", "state": "applied", "tone": "ok"},
                              {"path": "web.toml", "state": "failed", "tone": "bad"}]
    assert shown["fetched_ago"] == "20s ago"


def test_a_refused_revision_is_shown_with_its_reason():
    git = {"refused": {"revision": "d" * 40, "reason": "not signed"}, "files": {}}
    assert source({"source": git}, NOW)["refused"] == f"{'d' * 12}: not signed"


def test_a_quarantine_names_the_revision_that_failed():
    page = context({"quarantined": [{"resource": "container/web", "spec_hash": "e" * 64, "image_id": "",
                                     "revision": "f" * 40, "reason": "not healthy after 5s", "since": stamp(60)}]},
                   NOW)
    assert page["quarantined"] == [{"resource": "container/web", "reason": "not healthy after 5s", "previous": "",
                                    "serving": False, "failed": f"revision {'f' * 12}", "since": stamp(60),
                                    "since_ago": "1m ago"}]


def test_a_quarantine_whose_previous_container_exited_is_not_shown_serving():
    page = context({"quarantined": [{"resource": "container/web", "spec_hash": "e" * 64, "image_id": "",
                                     "revision": None, "reason": "exited", "since": stamp(60),
                                     "previous": "exited"}]}, NOW)
    assert (page["quarantined"][0]["previous"], page["quarantined"][0]["serving"]) == ("exited", False)


def test_the_engine_out_of_reach_is_shown_with_its_address_and_error():
    page = context({"engine_error": {"address": "unix:///run/x/docker.sock", "error": "connection refused",
                                     "since": stamp(90)}}, NOW)
    assert page["engine_error"] == {"address": "unix:///run/x/docker.sock", "error": "connection refused",
                                    "since": stamp(90), "since_ago": "1m 30s ago"}


def test_a_quarantine_without_a_revision_names_the_spec_hash():
    page = context({"quarantined": [{"resource": "container/web", "spec_hash": "e" * 64, "image_id": "",
                                     "revision": None, "reason": "exited 1", "since": stamp(60)}]}, NOW)
    assert page["quarantined"][0]["failed"] == f"spec {'e' * 12}"


def test_no_pending_plan_is_none():
    assert context({}, NOW)["pending_plan"] is None


def test_a_pending_plan_lists_each_change_with_its_reasons():
    change = {"action": "recreate", "symbol": "~", "kind": "container", "name": "web",
              "reasons": [{"reason": "spec_changed", "text": "spec changed: env.GREETING, image"}],
              "source": "web.toml", "steps": [], "if_it_fails": [], "then": None, "blocked": None}
    held = {"plan": {"schema_version": 1, "changes": [change], "has_changes": True, "runnable": 1, "blocked": [],
                     "summary": "1 to recreate"}, "revision": "a" * 40, "since": stamp(120),
            "id": "0123456789abcdef"}
    shown = pending_plan(held, NOW)
    assert shown == {"summary": "1 to recreate", "revision": "a" * 12, "since_ago": "2m ago", "id": "0123456789abcdef",
                     "changes": [{"symbol": "~", "action": "recreate", "key": "container/web",
                                  "reasons": ["spec changed: env.GREETING, image"], "source": "web.toml",
                                  "diff": [], "blocked": ""}]}


def test_the_page_is_ok_after_a_converged_pass_with_nothing_wrong():
    page = context({"last_pass": {"at": AT, "duration_seconds": 0.1, "result": "converged"},
                    "resources": [resource("web", "converged")]}, NOW)
    assert page["tone"] == "ok"


def test_a_failed_resource_makes_the_page_bad_even_after_an_invalid_pass():
    page = context({"last_pass": {"at": AT, "duration_seconds": 0.1, "result": "invalid"},
                    "resources": [resource("web", "failed")]}, NOW)
    assert page["tone"] == "bad"


def test_errors_in_the_files_make_a_converged_page_a_warning():
    page = context({"last_pass": {"at": AT, "duration_seconds": 0.1, "result": "converged"},
                    "errors": [{"file": "a.toml", "line": 1, "key": "", "message": "bad"}]}, NOW)
    assert page["tone"] == "warn"


def test_the_engine_is_named_with_its_api_version():
    page = context({"engine": {"kind": "docker", "version": "20.10.24", "api_version": "1.41"}}, NOW)
    assert page["engine"] == "docker 20.10.24 (API 1.41)"
