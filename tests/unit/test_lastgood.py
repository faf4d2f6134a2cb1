"""Per-file last-known-good: what stays in force while files are broken (DESIGN.md section 6)."""

from __future__ import annotations

import shutil

import pytest

from reconciler.agent.lastgood import LastKnownGood
from reconciler.agent.statedir import StateDir
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


# -- last-known-good kept in the state directory across restarts ------------------------------

A_NET = """
[network.front]

[container.api]
image = "demo"
networks = ["front"]
"""
B_ON_FRONT = """
[container.worker]
image = "demo"
networks = ["front"]
env = { GREETING = "hello" }
"""


@pytest.fixture
def store(tmp_path) -> StateDir:
    return StateDir(tmp_path / "state")


def restarted(root, store: StateDir, environ=None) -> LastKnownGood:
    """A new agent process's LastKnownGood on the same state directory."""
    return LastKnownGood(root, environ=environ or {}, store=store)


def test_the_raw_bytes_of_each_valid_file_are_saved(root, store):
    files = {"a.toml": A_NET, "apps/b.toml": B_ON_FRONT}
    restarted(write(root, files), store).refresh()
    assert store.lastgood() == {rel: (root / rel).read_bytes() for rel in files}


def test_a_file_broken_while_the_agent_was_stopped_keeps_its_last_valid_content(root, store):
    restarted(write(root, {"a.toml": A_NET, "b.toml": B_ON_FRONT}), store).refresh()
    write(root, {"b.toml": B_ON_FRONT.replace('"demo"', '"demo')})
    refresh = restarted(root, store).refresh()
    assert refresh.state.containers["worker"].env == {"GREETING": "hello"}
    assert sorted(refresh.state.networks) == ["front"]
    assert refresh.stalled == {"container/worker"}
    assert refresh.invalid == {"b.toml"}
    assert errors(refresh)[0].startswith("b.toml:2: TOML syntax error")


def test_a_shared_network_stays_while_its_file_is_broken_and_the_other_is_fixed(root, store):
    restarted(write(root, {"a.toml": A_NET, "b.toml": B_ON_FRONT}), store).refresh()
    write(root, {"a.toml": "[network.front\n", "b.toml": "[container.worker\n"})
    lkg = restarted(root, store)
    lkg.refresh()
    write(root, {"b.toml": B_ON_FRONT.replace("hello", "bonjour")})
    refresh = lkg.refresh()
    assert sorted(refresh.state.networks) == ["front"]
    assert refresh.state.containers["worker"].env == {"GREETING": "bonjour"}
    assert (refresh.invalid, refresh.stalled) == ({"a.toml"}, {"network/front", "container/api"})


def test_saved_content_is_interpolated_anew_so_no_value_from_the_environment_is_written(root, store):
    template = '[container.web]\nimage = "demo"\nenv = { TOKEN = "${TOKEN}" }\n'
    restarted(write(root, {"web.toml": template}), store, {"TOKEN": "hunter2"}).refresh()
    assert store.lastgood() == {"web.toml": template.encode()}
    write(root, {"web.toml": "[container.web\n"})
    refresh = restarted(root, store, {"TOKEN": "rotated"}).refresh()
    assert refresh.state.containers["web"].env == {"TOKEN": "rotated"}
    assert all(b"hunter2" not in p.read_bytes() for p in store.path.rglob("*") if p.is_file())


def test_relative_paths_in_saved_content_resolve_against_the_real_directory(root, store):
    write(root, {"app/web.env": "GREETING=hello\n",
                 "app/web.toml": '[container.web]\nimage = "demo"\nenv_file = "web.env"\n'})
    restarted(root, store).refresh()
    write(root, {"app/web.toml": "[container.web\n"})
    assert restarted(root, store).refresh().state.containers["web"].env == {"GREETING": "hello"}


def test_a_deleted_file_is_forgotten_by_the_state_directory(root, store):
    restarted(write(root, {"web.toml": WEB, "db.toml": DB}), store).refresh()
    (root / "web.toml").unlink()
    restarted(root, store).refresh()
    assert sorted(store.lastgood()) == ["db.toml"]


def test_only_changed_files_are_written_again(root, store, monkeypatch):
    lkg = restarted(write(root, {"web.toml": WEB, "db.toml": DB}), store)
    lkg.refresh()
    saved = []
    monkeypatch.setattr(store, "save_lastgood", lambda rel, data: saved.append(rel))
    lkg.refresh()
    write(root, {"db.toml": DB + 'user = "1000"\n'})
    lkg.refresh()
    assert saved == ["db.toml"]


def test_a_failing_state_directory_is_logged_and_the_agent_carries_on(root, store, monkeypatch):
    def full(rel, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store, "save_lastgood", full)
    refresh = restarted(write(root, {"web.toml": WEB}), store).refresh()
    assert sorted(refresh.state.containers) == ["web"]


def test_a_saved_file_that_no_longer_validates_is_dropped(root, store):
    template = '[container.web]\nimage = "demo"\nenv = { TOKEN = "${TOKEN:?is required}" }\n'
    restarted(write(root, {"web.toml": template}), store, {"TOKEN": "x"}).refresh()
    write(root, {"web.toml": "[container.web\n"})
    refresh = restarted(root, store, {"OTHER": "y"}).refresh()
    assert refresh.state.containers == {}
    assert refresh.invalid == {"web.toml"}


def test_a_missing_directory_after_a_restart_keeps_the_saved_state_in_force_and_frozen(root, store):
    restarted(write(root, {"web.toml": WEB}), store).refresh()
    shutil.rmtree(root)
    refresh = restarted(root, store).refresh()
    assert sorted(refresh.state.containers) == ["web"]
    assert (refresh.stalled, refresh.invalid) == ({"container/web"}, {"web.toml"})


# -- which files are invalid ------------------------------------------------------------------


def test_invalid_names_every_file_that_does_not_validate_seen_valid_or_not(root):
    lkg = keeper(root, {"web.toml": WEB})
    write(root, {"web.toml": "[container.web\n", "new.toml": "[container.new]\n"})
    assert lkg.refresh().invalid == {"web.toml", "new.toml"}


def test_invalid_names_the_file_with_a_broken_reference(root):
    lkg = keeper(root, {"net.toml": NET, "app.toml": APP_ON_FRONT})
    (root / "net.toml").unlink()
    assert lkg.refresh().invalid == {"app.toml"}


def test_nothing_is_invalid_once_every_file_validates(root):
    lkg = keeper(root, {"web.toml": WEB})
    write(root, {"web.toml": "[container.web\n"})
    lkg.refresh()
    write(root, {"web.toml": WEB})
    assert lkg.refresh().invalid == frozenset()


def test_warnings_of_the_files_and_of_discovery_are_reported(root):
    write(root, {"web.toml": '[container.web]\nimage = "demo"\nenv = { TAG = "${TAG}" }\n', "empty.toml": ""})
    warnings = [str(w) for w in LastKnownGood(root, environ={}).refresh().warnings]
    assert any(w.startswith("empty.toml") for w in warnings)
    assert any("variable TAG is not set" in w for w in warnings)


@pytest.fixture
def parses(monkeypatch):
    """The files parsed and validated from now on, by relative path."""
    import reconciler.agent.lastgood as lastgood

    seen: list[str] = []
    real = lastgood.load_bytes

    def counting(root, rel, *args, **kwargs):
        seen.append(rel)
        return real(root, rel, *args, **kwargs)

    monkeypatch.setattr(lastgood, "load_bytes", counting)
    return seen


def test_a_file_whose_bytes_did_not_change_is_not_parsed_again(root, parses):
    lkg = LastKnownGood(write(root, {"web.toml": WEB, "db.toml": DB}), environ={})
    first = lkg.refresh()
    (root / "db.toml").write_text(DB + 'command = ["true"]\n')
    second = lkg.refresh()
    assert sorted(parses) == ["db.toml", "db.toml", "web.toml"]
    assert second.state.containers["web"] == first.state.containers["web"]
    assert second.state.containers["db"].command == ("true",)


def test_a_file_is_parsed_again_when_its_env_file_or_the_environment_changed(root, parses):
    write(root, {"web.toml": WEB + 'env_file = "web.env"\n', "web.env": "A=1\n"})
    lkg = LastKnownGood(root, environ={})
    lkg.refresh()
    (root / "web.env").write_text("A=2\n")
    assert lkg.refresh().state.containers["web"].env["A"] == "2"
    lkg.environ = {"X": "1"}
    lkg.refresh()
    assert parses == ["web.toml"] * 3


def test_files_that_did_not_change_are_not_combined_and_checked_again(root, monkeypatch):
    import reconciler.agent.lastgood as lastgood

    combined = []
    real = lastgood.combine
    monkeypatch.setattr(lastgood, "combine", lambda decls: combined.append(1) or real(decls))
    lkg = LastKnownGood(write(root, {"web.toml": WEB, "db.toml": DB}), environ={})
    first = lkg.refresh()
    combined.clear()
    assert lkg.refresh().state is first.state
    assert combined == []
    (root / "db.toml").write_text(DB + 'command = ["true"]\n')
    assert lkg.refresh().state.containers["db"].command == ("true",)
    assert combined == [1]
