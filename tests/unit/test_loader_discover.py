"""Which files make up a desired state, and what a missing or empty directory means."""

import os

from reconciler.desired.loader import discover, load
from tests.unit.desired import write


def test_discover_reads_toml_files_in_subfolders_sorted(tmp_path):
    write(tmp_path, {"b.toml": "", "a.toml": "", "apps/web.toml": "", "apps/deep/db.toml": ""})
    assert discover(tmp_path) == ["a.toml", "apps/deep/db.toml", "apps/web.toml", "b.toml"]


def test_discover_ignores_hidden_files_hidden_folders_and_editor_artefacts(tmp_path):
    artefacts = [".draft.toml", ".git/config.toml", ".x.toml.swp", "4913", "x.toml~", "x.toml.bak",
                 "#x.toml#", ".#x.toml", "notes.md", "sub/.hidden/y.toml"]
    write(tmp_path, {name: "" for name in artefacts} | {"real.toml": ""})
    assert discover(tmp_path) == ["real.toml"]


def test_a_missing_directory_is_an_error(tmp_path):
    result = load(tmp_path / "nowhere")
    assert result.state is None
    assert [str(e) for e in result.errors] == [f"desired-state directory {tmp_path / 'nowhere'} does not exist"]


def test_a_file_given_as_the_directory_is_an_error(tmp_path):
    write(tmp_path, {"a.toml": ""})
    result = load(tmp_path / "a.toml")
    assert [str(e) for e in result.errors] == [f"desired-state directory {tmp_path / 'a.toml'} is not a directory"]


def test_an_unreadable_subfolder_is_an_error_not_a_partial_state(tmp_path, monkeypatch):
    write(tmp_path, {"a.toml": "", "locked/b.toml": ""})
    scandir = os.scandir

    def refuse_locked(path="."):
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refuse_locked)
    result = load(tmp_path)
    assert result.state is None
    assert [str(e) for e in result.errors] == [f"cannot read {tmp_path / 'locked'}: Permission denied"]


def test_an_empty_directory_is_a_valid_empty_state_with_a_warning(tmp_path):
    result = load(tmp_path)
    assert result.errors == ()
    assert result.state.specs() == []
    assert [str(w) for w in result.warnings] == [f"no *.toml files in {tmp_path}: the desired state is empty"]


def test_load_lists_the_files_it_read(tmp_path):
    write(tmp_path, {"a.toml": "", "sub/b.toml": "", ".c.toml": ""})
    assert load(tmp_path).files == ("a.toml", "sub/b.toml")
