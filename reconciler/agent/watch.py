"""Watch the desired-state directory and call back, debounced, when a file the loader reads changes.

Only changes that can change the desired state count: `*.toml` files outside hidden folders,
and non-hidden folders appearing, disappearing or moving (their files come and go with them).
Editor and tool artefacts (`.web.toml.swp`, vim's `4913`, `web.toml~`, `web.toml.bak`) and the
loader's own reads are ignored. An atomic-rename save counts by its destination.

A burst of events (an editor's save, a `git pull` of many files) makes one callback, `debounce`
seconds after the last event, or at the latest `max_delay` after the first, so a stream of
writes cannot postpone the pass for ever.

The directory itself may be deleted, recreated, renamed or swapped (a symlink re-pointed): its
parent is watched too, and the recursive watch is re-armed on whatever is at the path now. The
watcher never raises for any of it; what it cannot watch (a missing parent, inotify limits) is
logged, and the agent's periodic full pass covers it. The loop may call `refresh()` on each
periodic pass to re-arm a watch that could not be set up earlier.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

import structlog
from watchdog.events import (
    DirAttribEvent,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileAttribEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import ObservedWatch

from reconciler.desired.files import is_desired_file, is_hidden

log = structlog.get_logger()

# Writes, creations, removals, renames and permission changes; never opens or reads.
_TREE_EVENTS = [
    FileCreatedEvent, FileDeletedEvent, FileModifiedEvent, FileMovedEvent, FileClosedEvent,
    FileAttribEvent, DirCreatedEvent, DirDeletedEvent, DirMovedEvent, DirAttribEvent,
]
# What can happen to the directory's own entry in its parent (a symlink counts as a file).
_ENTRY_EVENTS = [
    DirCreatedEvent, DirDeletedEvent, DirMovedEvent, DirAttribEvent,
    FileCreatedEvent, FileDeletedEvent, FileMovedEvent,
]


def _concerns_desired_state(rel_path: str, is_directory: bool) -> bool:
    if is_directory:
        return not is_hidden(rel_path)
    return is_desired_file(rel_path)


def _event_paths(event: FileSystemEvent) -> list[str]:
    return [os.fsdecode(p) for p in (event.src_path, getattr(event, "dest_path", "")) if p]


class _Handler(FileSystemEventHandler):
    def __init__(self, on_event: Callable[[FileSystemEvent], None]) -> None:
        self._on_event = on_event

    def on_any_event(self, event: FileSystemEvent) -> None:
        self._on_event(event)


class DirectoryWatcher:
    """Calls `on_change()` (from its own thread) after changes to the files under `root`."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        on_change: Callable[[], None],
        debounce: float = 0.1,
        max_delay: float | None = None,
    ) -> None:
        self.root = os.path.abspath(root)
        self.debounce = debounce
        self.max_delay = max_delay if max_delay is not None else max(2.0, 10 * debounce)
        self._on_change = on_change
        self._observer = Observer()
        self._observer.daemon = True
        self._arm_lock = threading.Lock()
        self._parent_watch: ObservedWatch | None = None
        self._root_watch: ObservedWatch | None = None
        self._armed_on: tuple[str, int, int] | None = None
        self._cond = threading.Condition()
        self._first: float | None = None
        self._last: float | None = None
        self._rearm = False
        self._stopping = False
        self._thread = threading.Thread(target=self._debounce_loop, name="watch-debounce", daemon=True)

    def start(self) -> None:
        self._observer.start()
        self.refresh()
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._observer.is_alive():
            self._observer.stop()
            self._observer.join(timeout=5)
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def refresh(self) -> bool:
        """Point the watches at what is at the path now; True when the root watch changed."""
        with self._arm_lock:
            self._arm_parent()
            target = self._identify_root()
            if target == self._armed_on:
                return False
            self._disarm_root()
            if target is not None:
                self._arm_root(target)
            return True

    def _identify_root(self) -> tuple[str, int, int] | None:
        try:
            st = os.stat(self.root)
        except OSError:
            return None
        if not os.path.isdir(self.root):
            return None
        return os.path.realpath(self.root), st.st_dev, st.st_ino

    def _arm_parent(self) -> None:
        if self._parent_watch is not None:
            return
        parent = os.path.dirname(self.root)
        try:
            self._parent_watch = self._observer.schedule(
                _Handler(self._on_parent_event), parent, recursive=False, event_filter=_ENTRY_EVENTS,
            )
        except OSError as exc:
            log.warning("watch.parent_unwatched", path=parent, error=str(exc))

    def _arm_root(self, target: tuple[str, int, int]) -> None:
        path = target[0]
        try:
            self._root_watch = self._observer.schedule(
                _Handler(lambda event: self._on_tree_event(path, event)),
                path, recursive=True, event_filter=_TREE_EVENTS,
            )
        except OSError as exc:
            log.warning("watch.unwatched", path=self.root, error=str(exc))
            return
        self._armed_on = target
        log.debug("watch.armed", path=self.root, target=path)

    def _disarm_root(self) -> None:
        if self._root_watch is not None:
            try:
                self._observer.unschedule(self._root_watch)
            except KeyError:
                pass
            log.debug("watch.disarmed", path=self.root)
        self._root_watch = None
        self._armed_on = None

    def _on_tree_event(self, base: str, event: FileSystemEvent) -> None:
        paths = _event_paths(event)
        if isinstance(event, DirDeletedEvent) and paths[0] == base:
            self._changed(rearm=True)
            return
        if any(_concerns_desired_state(os.path.relpath(p, base), event.is_directory) for p in paths):
            log.debug("watch.event", type=event.event_type, paths=paths)
            self._changed(rearm=False)

    def _on_parent_event(self, event: FileSystemEvent) -> None:
        if self.root in _event_paths(event):
            log.debug("watch.root_event", type=event.event_type, path=self.root)
            self._changed(rearm=True)

    def _changed(self, rearm: bool) -> None:
        with self._cond:
            now = time.monotonic()
            if self._first is None:
                self._first = now
            self._last = now
            self._rearm = self._rearm or rearm
            self._cond.notify_all()

    def _debounce_loop(self) -> None:
        while True:
            with self._cond:
                while self._first is None and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                deadline = min(self._last + self.debounce, self._first + self.max_delay)
                remaining = deadline - time.monotonic()
                if remaining > 0:
                    self._cond.wait(remaining)
                    continue
                rearm, self._rearm = self._rearm, False
                self._first = self._last = None
            self._flush(rearm)

    def _flush(self, rearm: bool) -> None:
        try:
            if rearm:
                self.refresh()
            self._on_change()
        except Exception:
            log.exception("watch.callback_failed", path=self.root)
