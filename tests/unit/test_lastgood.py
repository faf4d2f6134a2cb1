"""Per-file last-known-good: what stays in force while files are broken (DESIGN.md section 6)."""

from __future__ import annotations

import shutil

import pytest

from reconciler.agent.lastgood import LastKnownGood
from tests.unit.desired import write

WEB = """
[container.web]
image = "demo"
env = { GREETING = "hello" }
"""
DB = """
[container.db]
image = "demo"
"""
NET = """
[network.front]
"""
APP_ON_FRONT = """
[container.app]
image = "demo"
networks = ["front"]
"""


@pytest.fixture
def root(tmp_path):
    return tmp_path / "desired"


def keeper(root, files) -> LastKnownGood:
    """A LastKnownGood that has seen `files` valid once."""
    lkg = LastKnownGood(write(root, files), environ={})
    first = lkg.refresh()
    assert first.errors == () and first.state is not None
    return lkg


def errors(refresh) -> list[str]:
    return [str(p) for p in refresh.errors]


def test_a_valid_directory_is_in_force_whole_with_nothing_stalled(root):
    refresh = LastKnownGood(write(root, {"web.toml": WEB, "db.toml": DB}), environ={}).refresh()
    assert sorted(refresh.state.containers) == ["db", "web"]
    assert (refresh.errors, refresh.stalled, refresh.whole) == ((), frozenset(), True)


def test_a_file_with_a_syntax_error_keeps_its_last_valid_content_and_its_resources_are_stalled(root):
    lkg = keeper(root, {"web.toml": WEB})
    write(root, {"web.toml": '[container.web]\nimage = "demo\n'})
    refresh = lkg.refresh()
    assert refresh.state.containers["web"].env == {"GREETING": "hello"}
    assert refresh.stalled == {"container/web"}
    assert [e.startswith("web.toml:2: TOML syntax error") for e in errors(refresh)] == [True]


def test_a_schema_error_reports_file_line_and_key_and_keeps_the_last_valid_content(root):
    lkg = keeper(root, {"web.toml": WEB})
    write(root, {"web.toml": '[container.web]\nimage = "demo"\nrestart = "sometimes"\n'})
    refresh = lkg.refresh()
    assert refresh.state.containers["web"].env == {"GREETING": "hello"}
    assert refresh.stalled == {"container/web"}
    assert errors(refresh)[0].startswith("web.toml:3: container.web.restart: ")


def test_a_valid_edit_in_another_file_applies_while_one_file_is_broken(root):
    lkg = keeper(root, {"web.toml": WEB, "db.toml": DB})
    write(root, {"web.toml": "[container.web\n", "db.toml": DB + 'command = ["sleep", "9"]\n'})
    refresh = lkg.refresh()
    assert refresh.state.containers["db"].command == ("sleep", "9")
    assert refresh.stalled == {"container/web"}
    assert refresh.whole


def test_a_file_never_seen_valid_contributes_nothing_but_its_error(root):
    lkg = keeper(root, {"db.toml": DB})
    write(root, {"web.toml": "[container.web\n"})
    refresh = lkg.refresh()
    assert sorted(refresh.state.containers) == ["db"]
    assert refresh.stalled == frozenset()
    assert errors(refresh)[0].startswith("web.toml:1: ")


def test_a_broken_reference_stalls_the_file_that_made_it_while_other_edits_apply(root):
    lkg = keeper(root, {"net.toml": NET, "app.toml": APP_ON_FRONT, "db.toml": DB})
    write(root, {"app.toml": APP_ON_FRONT.replace('"front"', '"back"'), "db.toml": DB + 'user = "1000"\n'})
    refresh = lkg.refresh()
    assert [n.name for n in refresh.state.containers["app"].networks] == ["front"]
    assert refresh.state.containers["db"].user == "1000"
    assert refresh.stalled == {"container/app"}
    assert errors(refresh) == ["app.toml:3: container.app.networks.back: network 'back' is not declared"]


def test_a_reference_broken_from_another_file_keeps_the_whole_last_valid_revision(root):
    lkg = keeper(root, {"net.toml": NET, "app.toml": APP_ON_FRONT, "db.toml": DB})
    (root / "net.toml").unlink()
    write(root, {"db.toml": DB + 'user = "1000"\n'})
    refresh = lkg.refresh()
    assert not refresh.whole
    assert sorted(refresh.state.networks) == ["front"]
    assert refresh.state.containers["db"].user is None
    assert refresh.stalled == {"container/app", "container/db", "network/front"}
    assert errors(refresh) == ["app.toml:3: container.app.networks.front: network 'front' is not declared"]


def test_a_fixed_file_comes_back_into_force_with_nothing_stalled(root):
    lkg = keeper(root, {"web.toml": WEB})
    write(root, {"web.toml": "[container.web\n"})
    lkg.refresh()
    write(root, {"web.toml": WEB.replace("hello", "bonjour")})
    refresh = lkg.refresh()
    assert refresh.state.containers["web"].env == {"GREETING": "bonjour"}
    assert (refresh.errors, refresh.stalled) == ((), frozenset())


def test_a_deleted_file_takes_its_resources_out_of_the_desired_state(root):
    lkg = keeper(root, {"web.toml": WEB, "db.toml": DB})
    (root / "web.toml").unlink()
    assert sorted(lkg.refresh().state.containers) == ["db"]


def test_a_missing_directory_keeps_everything_in_force_and_stalled(root):
    lkg = keeper(root, {"web.toml": WEB})
    shutil.rmtree(root)
    refresh = lkg.refresh()
    assert sorted(refresh.state.containers) == ["web"]
    assert refresh.stalled == {"container/web"}
    assert "does not exist" in errors(refresh)[0]
