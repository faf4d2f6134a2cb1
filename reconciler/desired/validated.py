"""The validation cache: the documents known to pass the schema check, so that a load of files
that did not change skips the check, and with it the import of jsonschema.

It is one file, `validated.json` in the state directory, written by the CLI (docs/agent.md):

    {"schema": "1:SHA256", "passed": ["SHA256", ...]}

`schema` is the version of the checks (`schema.version()`: this release's rules and the sha256 of
the schema's text); a record of another version is ignored. Each entry of `passed` names one
document that passed: the sha256 of its repr as the schema checked it, parsed and interpolated
(a repr tells a string from a date or a number, so that no two documents share a name). A
variable whose value changes thus makes a new document. A document with an interpolation error,
or one that took a value from the env file, is neither looked up nor recorded: no digest of a
secret is written. The record lists the documents of the last load only, one per file at most.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path

from reconciler.agent.atomic import write_atomically
from reconciler.desired import schema
from reconciler.desired.problems import FileReport, Path_

FILE_NAME = "validated.json"


def _name(document: dict) -> str:
    return hashlib.sha256(repr(document).encode()).hexdigest()


class ValidationCache:
    """The cache at `path`; empty when the file is missing, unreadable, or of another version."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._known = self._read()
        self._passed: set[str] = set()

    def _read(self) -> frozenset[str]:
        try:
            record = json.loads(self.path.read_bytes())
        except (OSError, ValueError):
            return frozenset()
        if not isinstance(record, dict) or record.get("schema") != schema.version():
            return frozenset()
        passed = record.get("passed")
        return frozenset(name for name in passed if isinstance(name, str)) if isinstance(passed, list) else frozenset()

    def check(self, document: dict, report: FileReport) -> list[Path_]:
        """`schema.check` of `document` (interpolated without error, with no value of the env
        file), unless it is known to pass; a document that passes is remembered."""
        name = _name(document)
        reported = [] if name in self._known else schema.check(document, report)
        if not reported:
            self._passed.add(name)
        return reported

    def save(self) -> None:
        """Record the documents that passed in this load, when they are not those read. A state
        directory this user cannot write (another user's agent's) leaves the record as it was."""
        if self._passed == self._known:
            return
        data = json.dumps({"schema": schema.version(), "passed": sorted(self._passed)}, indent=2) + "\n"
        with contextlib.suppress(OSError):
            write_atomically(self.path, data.encode(), 0o600)
