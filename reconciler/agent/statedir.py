"""The agent's state directory (DESIGN.md section 9): what it must remember across restarts.

One directory per agent, named `NAMESPACE@ENGINE-ID` as the lock is; mode 0700; created on the
first write (readers such as the CLI never create it), with a `VERSION` file. Layout 1:

    VERSION            "1": the layout; a directory of a later layout is refused, not misread
    lastgood/NAME      the raw bytes of each desired-state file that last validated, NAME being
                       its path relative to the directory with "%" and "/" quoted ("web.toml",
                       "apps%2Fdb.toml"); never interpolated, so no value of the env file lands here
    lastgood/long/SHA  the same for a file whose quoted path is longer than 200 bytes (a file
                       name holds at most 255): SHA is the sha256 of the path, and the file holds
                       the quoted path, a newline, then the raw bytes. A release from before these
                       entries reads only the files directly in lastgood/, so it skips them.
    completions.json   run-to-completion containers that finished, by container name:
                       {"job": {"spec_hash": "...", "exit_code": 0, "finished_at": "2024-05-01T13:02:10+00:00"}}
    holds.json         what the agent holds back (backoff), for the CLI's `plan`:
                       {"container/web": {"reason": "backoff until 12:03:04Z", "until": 1714568584.0}}
    suspended          present while the agent is suspended (the control API's suspend): one
                       line saying since when
    validated.json     the CLI's validation cache (reconciler/desired/validated.py); the agent
                       neither reads nor writes it
    quarantine.json    replacements whose new container failed and was rolled back, by key
                       (reconciler/agent/quarantine.py): {"container/web": {"spec_hash": "...",
                       "image_id": "sha256:...", "revision": "abc123" or null, "reason": "not
                       healthy after 60s", "since": 1714568584.0}}
    lastapplied.json   the last-applied spec of each container, by container id, one per name
                       (the newest): {"ID": {"name": "web", "spec_hash": "...", "at": 1714568584.0,
                       "spec": {...}}}; a string holding a secret value is kept as its keyed hash
                       (reconciler/agent/lastapplied.py), never as the value
    hashkey            32 random bytes: the key of those keyed hashes
    images.json        the registry checks of `pull = "newer"` images, by reference
                       (reconciler/images/newer.py): {"reg/app:1": {"checked_at": 1714568584.0,
                       "image_id": "sha256:...", "digest": "sha256:..."}}: when it was last
                       checked (for `pull_interval`), and the registry's digest for the tag then,
                       with the local image it stood for (the local side of the next check for an
                       image with no RepoDigests)
    builds.json        the base images of `build.pull = true` builds, by build tag
                       (reconciler/images/bases.py): {"reg/app:build-0123456789abcdef":
                       {"checked_at": 1714568584.0, "bases": {"reg/base:1": "sha256:..."},
                       "latest": {"reg/base:1": "sha256:..."}}}: the digests each `FROM` tag had
                       when the image was built, and those its registry gave at the last check
    pushed.json        the built images `push = true` pushed, by image reference
                       (reconciler/images/pushes.py): {"reg/app:1": {"image_id": "sha256:...",
                       "pushed_at": 1714568584.0}}: a built image not pushed as that id is pushed
    image-usage.json   the images this namespace pulled or built (images carry no ownership labels),
                       by repository and image id (reconciler/images/retention.py): {"reg/app":
                       {"sha256:...": {"ref": "reg/app:2", "how": "pulled" or "built", "last_used":
                       1714568584.0}}}; last_used is refreshed while a container of the namespace
                       runs it. The agent's --image-retention removes only images recorded here
    git/               a git source's clone, checkouts and content copies, owned by
                       reconciler/source/repository.py (its layout: docs/git.md)
    adopted.json       the unowned volumes and networks adopted (docs/adoption.md), by key, with the
                       engine id each was adopted as (a volume's CreatedAt: volumes have no id):
                       {"volume/proj_data": {"id": "2024-05-01T13:02:10Z", "at": 1714568584.0}}; a
                       record whose id no longer matches the resource of that name is void. Written
                       only by the writer (apply, the agent), after each pass
    revisions.json     a git source's last attempted and applied revisions and the files' states
                       then (reconciler/agent/revisions.py): {"attempted": "SHA", "applied":
                       "SHA", "files": {"web.toml": "applied"}}, so a restart still says them
    approvals.json     `run --approve`'s records (reconciler/agent/approvals.py): {"approved":
                       {"files": {"web.toml": "raw text"}, "specs": {"container/web":
                       "hmac-sha256:HEX"}, "at": 1714568584.0}, "pending": {"id":
                       "0123456789abcdef", "plan": {plan JSON}, "revision": "SHA" or null, "since":
                       ISO 8601, "files": "sha256 hex"}, "rejected": {"id": "...", "files": "..."}}:
                       the raw text of the files last approved (never interpolated: no secret), the
                       plan waiting for approval, and the one rejected with the files it was made of
    told.json          the crash loops and drifts the agent notified (reconciler/notify/told.py), by
                       key: {"container/web": {"state": "crashloop", "spec_hash": "HEX"}}, so a
                       restart does not tell them again

Every write is atomic: a temporary file, a rename, an fsync of the folder. Later records
(approvals, ...) get a name of their own beside these.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote, unquote

from reconciler.agent.atomic import remove_durably, write_atomically
from reconciler.agent.lock import instance_name
from reconciler.agent.timestamps import iso

LAYOUT = 1
_LASTGOOD = "lastgood"
_LONG = "long"  # in lastgood/: files whose quoted path is too long for a file name
_NAME_LIMIT = 200  # bytes: NAME_MAX is 255, and an atomic write's temporary name adds up to 14
_COMPLETIONS = "completions.json"
_HOLDS = "holds.json"
_SUSPENDED = "suspended"
_QUARANTINE = "quarantine.json"
_LAST_APPLIED = "lastapplied.json"
_HASH_KEY = "hashkey"
_IMAGE_CHECKS = "images.json"
_IMAGE_USAGE = "image-usage.json"
_BUILD_BASES = "builds.json"
_PUSHED = "pushed.json"
_REVISIONS = "revisions.json"
_ADOPTED = "adopted.json"
_APPROVALS = "approvals.json"
_TOLD = "told.json"


def _lastgood_name(rel: str) -> str:
    """Where in lastgood/ the file at relative path `rel` is kept: its quoted path, or
    long/SHA256 when that is too long for a file name."""
    name = quote(rel, safe="")
    if len(name) <= _NAME_LIMIT:
        return name
    return f"{_LONG}/{hashlib.sha256(rel.encode()).hexdigest()}"


def _records(folder: Path) -> list[Path]:
    """The files in `folder`, sorted, without temporary ones (hidden), if it exists."""
    if not folder.is_dir():
        return []
    return [entry for entry in sorted(folder.iterdir()) if entry.is_file() and not entry.name.startswith(".")]


class StateDirError(Exception):
    """The directory is not one this release can use (a later layout, an unreadable record)."""


def default_state_dir(namespace: str, engine: str | None, environ: Mapping[str, str] | None = None,
                      euid: int | None = None) -> Path:
    """As root `/var/lib/reconciler/NS@ENGINE-ID`; otherwise `$XDG_STATE_HOME/reconciler/NS@ENGINE-ID`,
    else `~/.local/state/reconciler/NS@ENGINE-ID` (ENGINE-ID: see `lock.engine_id`)."""
    environ = os.environ if environ is None else environ
    euid = os.geteuid() if euid is None else euid
    if euid == 0:
        base = Path("/var/lib")
    else:
        base = Path(environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return base / "reconciler" / instance_name(namespace, engine)


class StateDir:
    """One agent's state directory at `path`. Raises StateDirError for a later layout."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            version = (self.path / "VERSION").read_text().strip()
        except FileNotFoundError:
            return
        if not version.isdigit() or int(version) > LAYOUT:
            raise StateDirError(f"{self.path} has state layout {version!r}; this release knows layout {LAYOUT} "
                                "(written by a later release?)")

    def create(self) -> None:
        """Make the directory (mode 0700) and its VERSION file, if not there yet."""
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.path, 0o700)
        if not (self.path / "VERSION").exists():
            write_atomically(self.path / "VERSION", f"{LAYOUT}\n".encode(), 0o600)

    def _write(self, name: str, data: bytes) -> None:
        self.create()
        write_atomically(self.path / name, data, 0o600)

    def _read_json(self, name: str, what: str) -> dict:
        """The object in file `name`, {} when there is none. Raises StateDirError when it is not one."""
        path = self.path / name
        try:
            records = json.loads(path.read_bytes())
        except FileNotFoundError:
            return {}
        except ValueError as error:
            raise StateDirError(f"{path}: not {what}: {error}") from None
        if not isinstance(records, dict):
            raise StateDirError(f"{path}: not {what}: not an object")
        return records

    def _write_json(self, name: str, records: Mapping) -> None:
        """Replace file `name` with `records`; written only when they changed, and not at all
        while there are none and never were."""
        data = json.dumps(records, indent=2, sort_keys=True).encode() + b"\n"
        path = self.path / name
        if (records or path.exists()) and (not path.exists() or path.read_bytes() != data):
            self._write(name, data)

    # -- last-known-good files ------------------------------------------------------------------

    def lastgood(self) -> dict[str, bytes]:
        """The saved raw bytes of each file that last validated, by its relative path."""
        folder = self.path / _LASTGOOD
        saved = {unquote(entry.name): entry.read_bytes() for entry in _records(folder)}
        for entry in _records(folder / _LONG):
            name, _, data = entry.read_bytes().partition(b"\n")
            saved[unquote(name.decode("ascii"))] = data
        return dict(sorted(saved.items()))

    def save_lastgood(self, rel: str, data: bytes) -> None:
        """Keep `data` as the last valid content of the file at relative path `rel`."""
        name = _lastgood_name(rel)
        if name.startswith(f"{_LONG}/"):
            data = quote(rel, safe="").encode("ascii") + b"\n" + data
        self._write(f"{_LASTGOOD}/{name}", data)

    def forget_lastgood(self, rel: str) -> None:
        """The file at `rel` has no last valid content any more (it was deleted)."""
        remove_durably(self.path / _LASTGOOD / _lastgood_name(rel))

    # -- completion records of run-to-completion containers -------------------------------------

    def completions(self) -> dict[str, dict]:
        """Container name -> {"spec_hash": str, "exit_code": int, "finished_at": ISO 8601 UTC}."""
        return self._read_json(_COMPLETIONS, "a completion record")

    def completed(self) -> dict[str, str]:
        """Container name -> the spec hash it completed with."""
        return {name: record["spec_hash"] for name, record in self.completions().items()}

    # -- the suspension (the control API's suspend and resume) ----------------------------------

    def suspended(self) -> bool:
        """Whether the agent is suspended: it observes and reports, and changes nothing."""
        return (self.path / _SUSPENDED).exists()

    def set_suspended(self, suspended: bool) -> None:
        if suspended:
            self._write(_SUSPENDED, f"suspended at {iso(time.time())}\n".encode())
        else:
            remove_durably(self.path / _SUSPENDED)

    # -- what the agent holds back (backoff), for the CLI's plan ---------------------------------

    def holds(self, now: float | None = None) -> dict[str, str]:
        """"kind/name" -> why the agent holds it back, for the holds still in force at `now`
        (unix time, default now)."""
        records = self._read_json(_HOLDS, "a hold record")
        now = time.time() if now is None else now
        return {key: record["reason"] for key, record in records.items() if record["until"] > now}

    def save_holds(self, holds: Mapping[str, tuple[str, float]]) -> None:
        """Replace the holds: "kind/name" -> (why, until as unix time). Written only when changed."""
        self._write_json(_HOLDS, {key: {"reason": why, "until": until} for key, (why, until) in holds.items()})

    def record_completions(self, completed: Mapping[str, str]) -> None:
        """Record each `name -> spec hash` of a pass's completions that is not recorded yet."""
        known = self.completed()
        for name, spec_hash in sorted(completed.items()):
            if known.get(name) != spec_hash:
                self.record_completion(name, spec_hash)

    def record_completion(self, name: str, spec_hash: str, exit_code: int = 0,
                          finished_at: float | None = None) -> None:
        """Container `name` ran to completion with `spec_hash`; `finished_at` is unix time (default now)."""
        records = self.completions()
        records[name] = {"spec_hash": spec_hash, "exit_code": exit_code,
                         "finished_at": iso(time.time() if finished_at is None else finished_at)}
        self._write_json(_COMPLETIONS, records)

    # -- quarantined replacements and last-applied specs (rollback-aware retries) ---------------

    def quarantines(self) -> dict[str, dict]:
        """"kind/name" -> {"spec_hash", "image_id", "revision", "reason", "since"} (see the layout)."""
        return self._read_json(_QUARANTINE, "a quarantine record")

    def save_quarantines(self, records: Mapping[str, Mapping]) -> None:
        """Replace the quarantine records (written only when changed)."""
        self._write_json(_QUARANTINE, records)

    def last_applied(self) -> dict[str, dict]:
        """Container id -> {"name", "spec_hash", "at", "spec"} (see the layout)."""
        return self._read_json(_LAST_APPLIED, "a last-applied record")

    def save_last_applied(self, records: Mapping[str, Mapping]) -> None:
        """Replace the last-applied records (written only when changed)."""
        self._write_json(_LAST_APPLIED, records)

    # -- the images this namespace pulled or built (image retention) -----------------------------

    def image_usage(self) -> dict[str, dict[str, dict]]:
        """Repository -> image id -> {"ref", "how", "last_used"} (see the layout)."""
        return self._read_json(_IMAGE_USAGE, "an image usage record")

    def save_image_usage(self, records: Mapping[str, Mapping[str, Mapping]]) -> None:
        """Replace the image usage records (written only when changed)."""
        self._write_json(_IMAGE_USAGE, records)

    def image_checks(self) -> dict[str, dict]:
        """Image reference -> {"checked_at", "image_id", "digest"} (see the layout)."""
        return self._read_json(_IMAGE_CHECKS, "an image check record")

    def save_image_checks(self, records: Mapping[str, Mapping]) -> None:
        """Replace the image check records (written only when changed)."""
        self._write_json(_IMAGE_CHECKS, records)

    def build_bases(self) -> dict[str, dict]:
        """Build tag -> {"checked_at", "bases", "latest"} (see the layout)."""
        return self._read_json(_BUILD_BASES, "a build base record")

    def save_build_bases(self, records: Mapping[str, Mapping]) -> None:
        """Replace the build base records (written only when changed)."""
        self._write_json(_BUILD_BASES, records)

    def pushed(self) -> dict[str, dict]:
        """Image reference -> {"image_id", "pushed_at"} (see the layout)."""
        return self._read_json(_PUSHED, "a push record")

    def save_pushed(self, records: Mapping[str, Mapping]) -> None:
        """Replace the push records (written only when changed)."""
        self._write_json(_PUSHED, records)

    def adopted(self) -> dict[str, str]:
        """"kind/name" -> the engine id each adopted volume or network was adopted as."""
        records = self._read_json(_ADOPTED, "an adoption record")
        return {key: record["id"] for key, record in records.items() if isinstance(record, dict) and "id" in record}

    def save_adopted(self, adopted: Mapping[str, str], now: float | None = None) -> None:
        """Keep `adopted` ("kind/name" -> id) as the adoption records: a record kept keeps its
        time, a new one is stamped `now`; nothing is written when they are unchanged."""
        records = self._read_json(_ADOPTED, "an adoption record")
        kept = {key: records[key] if isinstance(records.get(key), dict) and records[key].get("id") == id
                else {"id": id, "at": now if now is not None else time.time()} for key, id in adopted.items()}
        if kept != records:
            self._write_json(_ADOPTED, kept)

    def approvals(self) -> dict:
        """`run --approve`'s records: {"approved", "pending", "rejected"} (see the layout); {} before any."""
        return self._read_json(_APPROVALS, "an approvals record")

    def save_approvals(self, record: Mapping) -> None:
        """Replace the approvals record (written only when changed)."""
        self._write_json(_APPROVALS, record)

    def told(self) -> dict[str, dict]:
        """"kind/name" -> {"state", "spec_hash"} of each crash loop and drift notified (see the layout)."""
        return self._read_json(_TOLD, "a notification record")

    def save_told(self, records: Mapping[str, Mapping]) -> None:
        """Replace the notification records (written only when changed)."""
        self._write_json(_TOLD, records)

    def revisions(self) -> dict:
        """A git source's last attempted and applied revisions (see the layout); {} before any."""
        return self._read_json(_REVISIONS, "a revisions record")

    def save_revisions(self, record: Mapping) -> None:
        self._write_json(_REVISIONS, record)

    def hash_key(self) -> bytes:
        """The key of the keyed hashes that stand for secrets in records; made on first use."""
        path = self.path / _HASH_KEY
        try:
            return path.read_bytes()
        except FileNotFoundError:
            self._write(_HASH_KEY, os.urandom(32))
            return path.read_bytes()
