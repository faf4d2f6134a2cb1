"""The directory watcher, on a real temporary directory with real watchdog (inotify here).

Waits are generous: a positive check waits up to 10 s for the callback; a negative check gives
events well over the debounce time to arrive before asserting that none came.
"""

import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from reconciler.agent.watch import DirectoryWatcher
from reconciler.desired.loader import is_desired_file

DEBOUNCE = 0.05
QUIET = 0.6  # how long a negative check waits for a callback that must not come


class Calls:
    def __init__(self) -> None:
        self.count = 0
        self._cond = threading.Condition()

    def __call__(self) -> None:
        with self._cond:
            self.count += 1
            self._cond.notify_all()

    def wait_for(self, count: int, timeout: float = 10) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self.count >= count, timeout)

    def after_quiet(self) -> int:
        time.sleep(QUIET)
        return self.count


def assert_new_files_call_back(calls: Calls, folder: Path) -> None:
    seen = calls.after_quiet()
    (folder / "db.toml").write_text("[volume.data]\n")
    assert calls.wait_for(seen + 1)


@pytest.fixture
def watch(tmp_path):
    watchers = []

    def start(root: Path, debounce: float = DEBOUNCE, on_change=None, **kwargs) -> Calls:
        calls = Calls()
        watcher = DirectoryWatcher(root, on_change or calls, debounce=debounce, **kwargs)
        watcher.start()
        watchers.append(watcher)
        return calls

    yield start
    for watcher in watchers:
        watcher.stop()


@pytest.fixture
def root(tmp_path) -> Path:
    path = tmp_path / "desired-state"
    path.mkdir()
    (path / "web.toml").write_text('[container.web]\nimage = "demo"\n')
    return path


@pytest.mark.parametrize("rel", ["web.toml", "apps/web.toml", "a/b/c/db.toml"])
def test_toml_files_outside_hidden_folders_are_desired(rel):
    assert is_desired_file(rel)


@pytest.mark.parametrize("rel", [
    ".web.toml.swp", "4913", "web.toml~", "web.toml.bak", ".hidden.toml", ".git/config.toml",
    "apps/.cache/web.toml", "README.md", "web.tom", ".toml",
])
def test_editor_artefacts_hidden_files_and_other_files_are_not_desired(rel):
    assert not is_desired_file(rel)


def test_writing_a_new_toml_file_calls_back(watch, root):
    calls = watch(root)
    (root / "db.toml").write_text("[volume.data]\n")
    assert calls.wait_for(1)


def test_editing_a_toml_file_calls_back(watch, root):
    calls = watch(root)
    with open(root / "web.toml", "a") as f:
        f.write('restart = "always"\n')
    assert calls.wait_for(1)


def test_deleting_a_toml_file_calls_back(watch, root):
    calls = watch(root)
    (root / "web.toml").unlink()
    assert calls.wait_for(1)


@pytest.mark.parametrize("artefact", [".web.toml.swp", "4913", "web.toml~", "web.toml.bak", ".env", "notes.md"])
def test_editor_artefacts_do_not_call_back(watch, root, artefact):
    calls = watch(root)
    (root / artefact).write_text("x")
    (root / artefact).unlink()
    assert calls.after_quiet() == 0
    assert_new_files_call_back(calls, root)


def test_files_in_a_hidden_folder_do_not_call_back(watch, root):
    (root / ".git").mkdir()
    calls = watch(root)
    (root / ".git" / "objects.toml").write_text("x")
    assert calls.after_quiet() == 0
    assert_new_files_call_back(calls, root)


def test_reading_a_toml_file_does_not_call_back(watch, root):
    calls = watch(root)
    (root / "web.toml").read_text()
    os.listdir(root)
    assert calls.after_quiet() == 0
    assert_new_files_call_back(calls, root)


def test_an_atomic_rename_save_calls_back(watch, root):
    calls = watch(root)
    temp = root / ".web.toml.tmp123"
    temp.write_text('[container.web]\nimage = "demo:2"\n')
    assert calls.after_quiet() == 0
    os.replace(temp, root / "web.toml")
    assert calls.wait_for(1)


def test_renaming_a_toml_file_away_calls_back(watch, root):
    calls = watch(root)
    os.rename(root / "web.toml", root / "web.toml.bak")
    assert calls.wait_for(1)


def test_files_in_a_new_subfolder_call_back(watch, root):
    calls = watch(root)
    (root / "apps").mkdir()
    assert calls.wait_for(1)
    (root / "apps" / "api.toml").write_text("[container.api]\n")
    assert calls.wait_for(2)


def test_a_folder_moved_in_calls_back(watch, root, tmp_path):
    outside = tmp_path / "incoming"
    outside.mkdir()
    (outside / "api.toml").write_text("[container.api]\n")
    calls = watch(root)
    os.rename(outside, root / "incoming")
    assert calls.wait_for(1)


def test_a_burst_of_writes_makes_one_callback(watch, root):
    calls = watch(root, debounce=0.5)
    for i in range(50):
        (root / f"svc{i}.toml").write_text(f"[container.svc{i}]\n")
    assert calls.wait_for(1)
    assert calls.after_quiet() == 1


def test_a_continuous_stream_of_writes_cannot_postpone_the_callback_for_ever(watch, root):
    calls = watch(root, debounce=0.3, max_delay=0.5)
    deadline = time.monotonic() + 10
    while calls.count == 0 and time.monotonic() < deadline:
        (root / "web.toml").write_text(f"# {time.monotonic()}\n")
        time.sleep(0.05)
    assert calls.count >= 1


def test_deleting_the_directory_calls_back(watch, root):
    calls = watch(root)
    shutil.rmtree(root)
    assert calls.wait_for(1)


def test_edits_in_a_recreated_directory_call_back(watch, root):
    calls = watch(root)
    shutil.rmtree(root)
    assert calls.wait_for(1)
    root.mkdir()
    assert calls.wait_for(2)
    assert_new_files_call_back(calls, root)


def test_a_directory_missing_at_start_is_watched_once_it_appears(watch, tmp_path):
    root = tmp_path / "later"
    calls = watch(root)
    root.mkdir()
    assert calls.wait_for(1)
    assert_new_files_call_back(calls, root)


def test_a_directory_with_a_missing_parent_does_not_crash_and_is_watched_after_a_refresh(tmp_path):
    root = tmp_path / "no" / "such" / "dir"
    calls = Calls()
    watcher = DirectoryWatcher(root, calls, debounce=DEBOUNCE)
    watcher.start()
    try:
        assert calls.after_quiet() == 0
        root.mkdir(parents=True)
        watcher.refresh()
        assert_new_files_call_back(calls, root)
    finally:
        watcher.stop()


def test_edits_after_a_symlink_swap_call_back(watch, tmp_path):
    old, new = tmp_path / "rev1", tmp_path / "rev2"
    old.mkdir()
    new.mkdir()
    root = tmp_path / "current"
    root.symlink_to(old)
    calls = watch(root)
    (tmp_path / "next").symlink_to(new)
    os.replace(tmp_path / "next", root)
    assert calls.wait_for(1)
    assert_new_files_call_back(calls, new)


def test_a_directory_renamed_away_is_no_longer_watched(watch, root, tmp_path):
    calls = watch(root)
    os.rename(root, tmp_path / "old")
    assert calls.wait_for(1)
    seen = calls.after_quiet()
    (tmp_path / "old" / "db.toml").write_text("[volume.data]\n")
    assert calls.after_quiet() == seen


def test_a_failing_callback_does_not_stop_the_watcher(watch, root):
    calls = Calls()

    def on_change():
        calls()
        raise RuntimeError("loop gone")

    watch(root, on_change=on_change)
    (root / "a.toml").write_text("")
    assert calls.wait_for(1)
    calls.after_quiet()
    (root / "b.toml").write_text("")
    assert calls.wait_for(2)


def test_no_callback_after_stop(tmp_path, root):
    calls = Calls()
    watcher = DirectoryWatcher(root, calls, debounce=DEBOUNCE)
    watcher.start()
    watcher.stop()
    (root / "db.toml").write_text("[volume.data]\n")
    assert calls.after_quiet() == 0
