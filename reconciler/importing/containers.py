"""`reconciler import containers`: running containers -> desired-state files.

The tables come from `runtime.docker_import` (inspect -> our keys, image and engine defaults left
out); this module names the env variables, marks what must be adopted and groups the files:
one `<container>.toml` per container, `networks.toml` and `volumes.toml` for the user networks
and named volumes they use. Every env value goes to the env file, referred to as `${VAR}`, with
VAR the container's name and the variable's in upper snake case (`web` + `DB_PASSWORD` ->
`WEB_DB_PASSWORD`), since any of them may be a secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reconciler.importing.emit import Resource, Skipped
from reconciler.model import LABEL_MANAGED, held_by_swarm, is_owned
from runtime import Runtime
from runtime.docker_import import ImportedContainer, container_table, network_table, volume_table
from runtime.engine_defaults import engine_defaults

_NOT_A_NAME_CHARACTER = re.compile(r"[^A-Za-z0-9]+")
# the keys written before `env`: what the container runs, and as whom
_BEFORE_ENV = frozenset({"image", "entrypoint", "command", "working_dir", "user", "hostname", "domainname",
                         "mac_address", "tty", "stdin_open"})


@dataclass
class ImportedHost:
    """What an import found: files (path relative to --out -> resources), the env file's
    values, the keys it could not carry, and notes (containers left out, and why)."""

    files: dict[str, list[Resource]] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def variable(container: str, name: str) -> str:
    """The env file's variable for `name` in `container`: both in upper snake case, joined
    (`web-1`, `db.password` -> `WEB_1_DB_PASSWORD`)."""
    return "_".join(_NOT_A_NAME_CHARACTER.sub("_", part).strip("_").upper() for part in (container, name))


def _with_env(table: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """`table` with `env` (name -> reference) after the keys of `_BEFORE_ENV`."""
    before = {key: value for key, value in table.items() if key in _BEFORE_ENV}
    after = {key: value for key, value in table.items() if key not in _BEFORE_ENV}
    return {**before, **({"env": dict(env)} if env else {}), **after}


def _container(imported: ImportedContainer, found: ImportedHost) -> Resource:
    references = {}
    for name, value in sorted(imported.env.items()):
        var, n = variable(imported.name, name), 2
        while var in found.env:
            var, n = f"{variable(imported.name, name)}_{n}", n + 1
        found.env[var] = value
        references[name] = "${" + var + "}"
    found.skipped.extend(Skipped(imported.name, f"container.{imported.name}.{key}", why)
                         for key, why in imported.skipped)
    return Resource("container", imported.name, {**_with_env(imported.table, references), "adopt": True})


def _owner(labels: Mapping[str, str] | None) -> str | None:
    return (labels or {}).get(LABEL_MANAGED)


def _shared(kind: str, inspected: Mapping[str, Any], table: dict[str, Any], namespace: str,
            found: ImportedHost) -> Resource | None:
    """A network's or volume's resource, adopted; None (with a note) when this namespace owns it or Swarm made it."""
    name = inspected["Name"]
    if (swarm := held_by_swarm(inspected.get("Labels"))) is not None:
        found.notes.append(f"{kind} {name}: {swarm}: left out (Swarm owns it)")
        return None
    if is_owned(inspected.get("Labels"), namespace):
        found.notes.append(f"{kind} {name}: already this namespace's ({namespace}): not written again")
        return None
    return Resource(kind, name, {**table, "adopt": True})


def import_host(runtime: Runtime, names: Sequence[str], namespace: str) -> ImportedHost:
    """The files for the containers `names` (every running one when empty) of `runtime`'s
    engine. A container some reconciler namespace owns is left out with a note. Raises what
    `Runtime.import_source` raises (NotFound for a name the engine does not have)."""
    source = runtime.import_source(names)
    defaults = engine_defaults(source.engine, source.info)
    found = ImportedHost()
    networks: dict[str, None] = {}
    volumes: dict[str, None] = {}
    for inspected in source.containers:
        name = (inspected.get("Name") or "").lstrip("/")
        labels = (inspected.get("Config") or {}).get("Labels")
        if (swarm := held_by_swarm(labels)) is not None:
            found.notes.append(f"container {name}: {swarm}: left out (Swarm owns it)")
            continue
        owner = _owner(labels)
        if owner is not None:
            found.notes.append(f"container {name}: owned by the reconciler's namespace {owner!r}: left out")
            continue
        imported = container_table(inspected, source.images.get(inspected["Image"]) or {}, defaults, source.names)
        found.files[f"{imported.name}.toml"] = [_container(imported, found)]
        networks.update(dict.fromkeys(imported.networks))
        volumes.update(dict.fromkeys(imported.volumes))
    shared = {
        "networks.toml": [_shared("network", source.networks[n], network_table(source.networks[n]), namespace, found)
                          for n in networks if n in source.networks],
        "volumes.toml": [_shared("volume", source.volumes[v], volume_table(source.volumes[v]), namespace, found)
                         for v in volumes if v in source.volumes],
    }
    found.files.update({path: [r for r in resources if r] for path, resources in shared.items()
                        if any(resources)})
    return found
