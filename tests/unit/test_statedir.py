"""The agent's state directory (DESIGN.md section 9): place, mode, layout, atomic writes."""

from __future__ import annotations

import hashlib
import os
import stat
from argparse import Namespace
from pathlib import Path
from urllib.parse import quote

import pytest

from reconciler.agent import atomic
from reconciler.agent.lock import DEFAULT_ENGINE, engine_id, lock_path
from reconciler.agent.statedir import LAYOUT, StateDir, StateDirError, default_state_dir
from reconciler.commands.cli import build_parser
from reconciler.commands.context import state_dir

ENGINE = "unix:///run/reconciler-engine/docker.sock"


# -- where it is -------------------------------------------------------------------------------


def test_as_root_it_is_under_var_lib_named_for_namespace_and_engine():
    expected = Path("/var/lib/reconciler") / f"prod@{engine_id(ENGINE)}"
    assert default_state_dir("prod", ENGINE, {}, euid=0) == expected


def test_its_engine_id_is_the_one_the_lock_is_named_with(tmp_path):
    assert default_state_dir("prod", None, {}, euid=0).name == lock_path("prod", None, tmp_path).stem
    assert engine_id(None) == engine_id(DEFAULT_ENGINE) != engine_id(ENGINE)
    assert len(engine_id(ENGINE)) == 12


def test_a_user_keeps_it_under_xdg_state_home():
    found = default_state_dir("prod", ENGINE, {"XDG_STATE_HOME": "/home/u/.state"}, euid=1000)
    assert found == Path("/home/u/.state/reconciler") / f"prod@{engine_id(ENGINE)}"


def test_a_user_without_xdg_state_home_keeps_it_under_local_state():
    found = default_state_dir("prod", ENGINE, {}, euid=1000)
    assert found == Path.home() / ".local/state/reconciler" / f"prod@{engine_id(ENGINE)}"


def test_the_commands_take_state_dir_before_or_after_the_subcommand(tmp_path):
    parser = build_parser()
    before = parser.parse_args(["--state-dir", str(tmp_path), "status"])
    after = parser.parse_args(["run", "--state-dir", str(tmp_path)])
    assert before.state_dir == after.state_dir == str(tmp_path)
    assert state_dir(before).path == tmp_path


def test_without_state_dir_the_commands_use_the_default():
    args = Namespace(state_dir=None, namespace="prod", engine=ENGINE)
    assert state_dir(args).path == default_state_dir("prod", ENGINE)


# -- created on first use ---------------------------------------------------------------------


@pytest.fixture
def store(tmp_path) -> StateDir:
    return StateDir(tmp_path / "state" / "prod@0123456789ab")


def test_reading_creates_nothing(store):
    assert (store.lastgood(), store.completed()) == ({}, {})
    assert not store.path.exists()


def test_the_first_write_creates_it_with_mode_0700_and_a_version_file(store):
    store.save_lastgood("web.toml", b"[container.web]\n")
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o700
    assert (store.path / "VERSION").read_text() == f"{LAYOUT}\n"


def test_create_tightens_a_directory_made_by_someone_else(store):
    store.path.mkdir(parents=True, mode=0o755)
    store.create()
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o700


def test_a_directory_of_a_later_layout_is_refused(store):
    store.create()
    (store.path / "VERSION").write_text(f"{LAYOUT + 1}\n")
    with pytest.raises(StateDirError, match="later release"):
        StateDir(store.path)


# -- last-known-good files --------------------------------------------------------------------


def test_last_good_files_are_kept_as_raw_bytes_by_relative_path(store):
    store.save_lastgood("web.toml", b'image = "${TAG}"\n')
    store.save_lastgood("apps/db.toml", b"\xef\xbb\xbfdb\n")
    again = StateDir(store.path)
    assert again.lastgood() == {"apps/db.toml": b"\xef\xbb\xbfdb\n", "web.toml": b'image = "${TAG}"\n'}
    assert sorted(p.name for p in (store.path / "lastgood").iterdir()) == ["apps%2Fdb.toml", "web.toml"]


def test_a_forgotten_file_leaves_the_last_good_files(store):
    store.save_lastgood("web.toml", b"a")
    store.forget_lastgood("web.toml")
    store.forget_lastgood("never-saved.toml")
    assert store.lastgood() == {}


LONG = "/".join(["d" * 100] * 3) + "/long.toml"


def test_a_file_whose_quoted_path_is_too_long_for_a_file_name_is_kept_under_the_hash_of_its_path(store):
    store.save_lastgood(LONG, b"[container.web]\n")
    store.save_lastgood("web.toml", b"a")
    assert StateDir(store.path).lastgood() == {LONG: b"[container.web]\n", "web.toml": b"a"}
    kept = store.path / "lastgood" / "long" / hashlib.sha256(LONG.encode()).hexdigest()
    assert kept.read_bytes() == quote(LONG, safe="").encode() + b"\n[container.web]\n"
    assert sorted(p.name for p in (store.path / "lastgood").iterdir()) == ["long", "web.toml"]


def test_a_long_path_of_200_quoted_bytes_is_still_a_plain_name_and_one_byte_more_is_hashed(store):
    edge, over = "e" * 195 + ".toml", "e" * 196 + ".toml"
    store.save_lastgood(edge, b"a")
    store.save_lastgood(over, b"b")
    assert [p.name for p in (store.path / "lastgood").iterdir() if p.is_file()] == [edge]
    assert store.lastgood() == {edge: b"a", over: b"b"}


def test_a_long_path_is_forgotten_and_its_saved_bytes_may_hold_newlines(store):
    store.save_lastgood(LONG, b"a\nb\n")
    assert store.lastgood() == {LONG: b"a\nb\n"}
    store.forget_lastgood(LONG)
    assert store.lastgood() == {}
    assert os.listdir(store.path / "lastgood" / "long") == []


def test_every_record_is_readable_by_its_owner_only(store):
    store.save_lastgood("web.toml", b"a")
    store.record_completion("job", "h1")
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in store.path.rglob("*") if p.is_file()}
    assert modes == {"VERSION": 0o600, "web.toml": 0o600, "completions.json": 0o600}


# -- completion records -----------------------------------------------------------------------


def test_completions_are_kept_per_container_with_spec_hash_exit_code_and_time(store):
    store.record_completion("migrate", "sha-1", finished_at=1_700_000_000.0)
    store.record_completion("backup", "sha-2", exit_code=0, finished_at=1_700_000_060.0)
    store.record_completion("migrate", "sha-3", finished_at=1_700_000_120.0)
    again = StateDir(store.path)
    assert again.completed() == {"backup": "sha-2", "migrate": "sha-3"}
    assert again.completions()["migrate"] == {"spec_hash": "sha-3", "exit_code": 0,
                                              "finished_at": "2023-11-14T22:15:20+00:00"}


def test_an_unreadable_completion_record_is_an_error_not_a_guess(store):
    store.create()
    (store.path / "completions.json").write_text("{half")
    with pytest.raises(StateDirError, match="completions.json"):
        store.completed()


# -- atomic writes ----------------------------------------------------------------------------


def test_a_write_that_fails_midway_leaves_the_previous_content_and_no_temporary_file(store, monkeypatch):
    store.save_lastgood("web.toml", b"old")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", broken_replace)
    with pytest.raises(OSError):
        store.save_lastgood("web.toml", b"new")
    assert store.lastgood() == {"web.toml": b"old"}
    assert [p.name for p in (store.path / "lastgood").iterdir()] == ["web.toml"]


def test_each_write_and_removal_syncs_its_folder(store, monkeypatch):
    synced = []
    monkeypatch.setattr(atomic, "fsync_directory", lambda folder: synced.append(Path(folder).name))
    store.save_lastgood("web.toml", b"a")
    store.forget_lastgood("web.toml")
    assert synced == [store.path.name, "lastgood", "lastgood"]
    assert os.listdir(store.path / "lastgood") == []


def test_holds_in_force_are_read_back_and_expired_ones_are_not(store):
    store.save_holds({"container/web": ("backoff until 12:00:10Z", 1010.0), "container/db": ("backoff", 990.0)})
    assert store.holds(now=1000.0) == {"container/web": "backoff until 12:00:10Z"}


def test_no_holds_write_nothing(store):
    store.save_holds({})
    assert not store.path.exists()


def test_quarantine_and_last_applied_records_are_read_back_after_a_restart(tmp_path):
    StateDir(tmp_path).save_quarantines({"container/web": {"spec_hash": "a" * 64, "reason": "exited"}})
    StateDir(tmp_path).save_last_applied({"c" * 64: {"name": "web", "spec": {"image": "demo"}}})
    again = StateDir(tmp_path)
    assert again.quarantines() == {"container/web": {"spec_hash": "a" * 64, "reason": "exited"}}
    assert again.last_applied() == {"c" * 64: {"name": "web", "spec": {"image": "demo"}}}


def test_the_key_of_the_secrets_hashes_is_made_once_and_kept_private(tmp_path):
    key = StateDir(tmp_path).hash_key()
    assert len(key) == 32 and StateDir(tmp_path).hash_key() == key
    assert (tmp_path / "hashkey").stat().st_mode & 0o777 == 0o600
