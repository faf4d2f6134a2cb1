"""A Compose project as desired-state files: `<service>.toml` per service, plus `networks.toml`,
`volumes.toml`, `secrets.toml`, `configs.toml` where the project has any (docs/import.md).

The result behaves as `docker compose up` would: Compose's implicit behaviour (the default
network, the service name as an alias, the names Compose gives) is written out. Every key that
cannot be carried is in `skipped` with its origin and why; no value an interpolation took from
`.env`/`--env-file` is written in the TOML: those go to `env`, for the env file beside the output.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from reconciler.desired.compose_only import compose_hint
from reconciler.importing.compose_names import Naming
from reconciler.importing.compose_resources import names, resources
from reconciler.importing.compose_services import service
from reconciler.importing.compose_values import NO_EQUIVALENT, Scope
from reconciler.importing.emit import Resource, Skipped
from reconciler.importing.project import ComposeProject

_ELEMENTS = ("services", "networks", "volumes", "secrets", "configs")


@dataclass(frozen=True)
class Conversion:
    """`files`: path relative to the output -> its tables; `env`: the env file's variables (name ->
    value); `skipped`: what was not carried; `environ`: the variables the output reads from the
    process environment, sorted; `required`: those of them read somewhere without a default (the
    agent must have them set), sorted; `target`: the target converted for, "host" or "swarm";
    `swarm_skipped`: the keys skipped on the host target that `--target swarm` carries (`key.path`)."""

    project: str
    files: dict[str, list[Resource]]
    env: dict[str, str] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    environ: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    target: str = "host"
    swarm_skipped: tuple[str, ...] = ()

    def header(self, env_path: Path | None, build_allow: Path | None = None) -> str:
        """The comment on top of every file: where it came from, the target it was converted for
        (said on the host target when something only Swarm runs was skipped), and how to run it."""
        lines = [f"Imported from the Compose project {self.project} by `reconciler import compose`."]
        if self.target == "swarm":
            lines.append("Converted for --target swarm (Compose's deploy carried): validate, plan, apply and run with "
                         "--target swarm")
        elif self.swarm_skipped:
            lines.append("Converted for the host target: Compose's replicas or global mode skipped (one container per "
                         "[container.NAME]); import with --target swarm to carry them")
        if self.env and env_path is not None:
            lines.append(f"Values from the Compose env files are kept outside: run with --env-file {env_path}")
        if build_allow is not None:
            lines.append(f"A build context lies outside this folder: run with --build-allow {build_allow}")
        return "\n".join(lines)

    def names(self) -> dict[str, set[str]]:
        """Kind ("container", "network", "volume", ...) -> the names of the resources written."""
        found: dict[str, set[str]] = {}
        for tables in self.files.values():
            for resource in tables:
                found.setdefault(resource.kind, set()).add(resource.name)
        return found

    def adopting(self, held: Mapping[str, Iterable[str]]) -> Conversion:
        """The conversion with `adopt = true` on each resource whose name (by kind) is in `held`:
        names an engine resource this namespace does not own holds."""
        taken = {kind: set(found) for kind, found in held.items()}
        files = {
            path: [replace(r, table={**r.table, "adopt": True}) if r.name in taken.get(r.kind, ()) else r
                   for r in tables]
            for path, tables in self.files.items()
        }
        return replace(self, files=files)


def convert(project: ComposeProject, out: Path, naming: Naming | None = None, keep_profiles: bool = True,
            target: str = "host") -> Conversion:
    """Convert `project` for the output folder `out` (paths are written relative to it), naming
    resources by `naming` (default: not running). `keep_profiles` False (profiles were given):
    only the active services were read, and are written without `profiles`. `target` ("host" or
    "swarm"): on "host", what only Swarm runs (`replicas` other than 1, a global mode) is skipped."""
    scope = Scope(project, out, naming or Naming(project.name))
    scope.keep_profiles = keep_profiles
    scope.target = target
    services = project.model.get("services") or {}
    for name in [*services, *project.inactive]:
        body = services.get(name) or {}
        scope.containers[name] = scope.naming.container(name, body.get("container_name"))
    for key in project.model:
        if key not in _ELEMENTS:
            scope.skip((key,), compose_hint("", key) or NO_EQUIVALENT)
    names(scope)
    files = {f"{name}.toml": [service(scope, name, body or {})] for name, body in services.items()}
    files.update(resources(scope))
    env = {name: project.dotenv[name] for name in sorted(scope.dotenv_used)}
    return Conversion(project.name, files, env, scope.skipped, tuple(sorted(scope.environ_used)),
                      tuple(sorted(scope.environ_required)), target, tuple(scope.swarm_skipped))


def build_contexts(conversion: Conversion) -> list[str]:
    """The build contexts of the conversion, as written (relative to the output folder)."""
    return [r.table["build"]["context"] for tables in conversion.files.values() for r in tables
            if r.kind == "container" and "build" in r.table]
