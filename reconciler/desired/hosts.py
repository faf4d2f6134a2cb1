"""A fleet from one directory: which resources are for which host, and the fleet's inventory.

A resource may carry `hosts = ["web-*", "db-1"]`: glob patterns (`fnmatch.fnmatchcase`: `*`, `?`,
`[seq]`, case-sensitive) matched against a host id. One without `hosts` is for every host. A
host's view (`select`) is the desired state of the resources for that host; `check_view` finds
what a view lacks that its containers reference (a network, volume or container left out on that
host). The inventory is a TOML file outside the desired-state directory, `hosts = ["web-1", ...]`:
the host ids of the fleet, so that `validate` checks every host's view (`read_inventory`).
"""

from __future__ import annotations

import fnmatch
import re
import socket
import tomllib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from reconciler.desired.aliases import written_aliases
from reconciler.desired.files import read_file
from reconciler.desired.locate import key_lines
from reconciler.desired.problems import FileReport, LoadFailure, Path_, Problem, decode_utf8, dotted
from reconciler.desired.references import referenced
from reconciler.model import DesiredState, Spec

Place = Callable[[Spec, Path_, str], Problem]

_GLOB = re.compile(r"[*?\[]")
_TOML_LINE = re.compile(r"\s*\(at line (\d+), column \d+\)$")


def default_host_id() -> str:
    """This host's id when none is given: its host name up to the first dot (`web-1.example.org`
    is `web-1`)."""
    return socket.gethostname().split(".")[0]


def matches(patterns: Sequence[str], host_id: str) -> bool:
    """Whether a resource with these `hosts` patterns is for `host_id`: no pattern means every host."""
    return not patterns or any(fnmatch.fnmatchcase(host_id, pattern) for pattern in patterns)


def select(state: DesiredState, host_id: str) -> DesiredState:
    """The view of `host_id`: the resources whose `hosts` match it. When it leaves out a container,
    the view records `host_id` (`DesiredState.selected_for`), so that an empty view is refused
    naming the host rather than as an emptied directory."""
    def kept(specs):
        return {name: spec for name, spec in specs.items() if matches(spec.hosts, host_id)}

    containers = kept(state.containers)
    narrowed = len(containers) < len(state.containers)
    return DesiredState(containers, kept(state.networks), kept(state.volumes), host_id if narrowed else None,
                        secrets=kept(state.secrets), configs=kept(state.configs), secret_values=state.secret_values)


def named_hosts(state: DesiredState) -> tuple[str, ...]:
    """The host ids written literally (without a glob character) in some resource's `hosts`, sorted."""
    return tuple(sorted({p for spec in state.specs() for p in spec.hosts if not _GLOB.search(p)}))


def check_view(state: DesiredState, host_id: str, place: Place) -> list[Problem]:
    """The references of `host_id`'s view that name a resource the files declare but leave out on
    that host: each placed at the reference (`place(spec, key path, message)`, as the loader's
    checks do). `state` is the whole, valid desired state."""
    view = select(state, host_id)
    declared = {"network": state.networks, "volume": state.volumes, "container": state.containers,
                "secret": state.secrets, "config": state.configs}
    selected = {"network": view.networks, "volume": view.volumes, "container": view.containers,
                "secret": view.secrets, "config": view.configs}
    problems = []
    for spec in view.containers.values():
        for kind, path, name in referenced(spec):
            target = declared[kind].get(name)
            if target is not None and name not in selected[kind]:
                patterns = ", ".join(f'"{p}"' for p in target.hosts)
                problems.append(place(spec, ("container", spec.name, *path),
                                      f"on host {host_id!r}: {kind} '{name}' is not for this host "
                                      f"(hosts = [{patterns}], at {target.source})"))
    return problems


def placer(root: Path) -> Place:
    """A `Place` for the files of the directory `root`: each problem at the line of its key path
    (or of the Compose alias the file wrote for it: `aliases.written_aliases`), the file read again
    when a problem is first placed in it (without a line if it cannot be)."""
    reports: dict[str, FileReport] = {}

    def place(spec: Spec, at: Path_, message: str) -> Problem:
        file = spec.source.file
        if file not in reports:
            try:
                lines = key_lines(decode_utf8(read_file(root, file), file))
                reports[file] = FileReport(file, lines, renamed=written_aliases(lines))
            except LoadFailure:
                reports[file] = FileReport(file)
        return reports[file].problem(at, message)

    return place


def unmatched(state: DesiredState, inventory: Iterable[str]) -> list[Spec]:
    """The resources with `hosts` that match no host of the inventory (they would run nowhere)."""
    hosts = tuple(inventory)
    return [spec for spec in state.specs() if spec.hosts and not any(matches(spec.hosts, h) for h in hosts)]


def read_inventory(path: str) -> tuple[str, ...]:
    """The host ids of the inventory file at `path`: a TOML document `hosts = ["web-1", "db-1"]`
    (ids without glob characters, each once). Raises LoadFailure with the problem at FILE:LINE."""
    data = read_file(Path("."), path)
    text = decode_utf8(data, path)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        at = _TOML_LINE.search(str(error))  # else the error is at the end of the document
        line = int(at.group(1)) if at else text.count("\n") + (not text.endswith("\n"))
        message = f"TOML syntax: {str(error)[: at.start()] if at else error}"
        raise LoadFailure(Problem(path, line, "", message)) from None
    lines = key_lines(text)

    def fail(key: Path_, message: str) -> LoadFailure:
        return LoadFailure(Problem(path, lines.get(key) or lines.get(key[:1]), dotted(key), message))

    unknown = sorted(document.keys() - {"hosts"})
    if unknown:
        raise fail((unknown[0],), 'unknown key: an inventory holds only hosts = ["HOST-ID", ...]')
    hosts = document.get("hosts")
    if not isinstance(hosts, list):
        raise fail(("hosts",), 'missing or not a list: write hosts = ["web-1", "db-1"]')
    seen: set[str] = set()
    for index, host in enumerate(hosts):
        if not isinstance(host, str) or not host or _GLOB.search(host):
            raise fail(("hosts", index), "a host id is a non-empty string without * ? or [")
        if host in seen:
            raise fail(("hosts", index), f"{host!r} is listed twice")
        seen.add(host)
    return tuple(hosts)
