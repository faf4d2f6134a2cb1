"""Compose's profiles: which containers are active for the profiles a command or the agent is given.

A container may carry `profiles = ["debug", "tools"]`: it is active only when one of them is given
(`--profile NAME`, repeatable, or `$RECONCILER_PROFILES`, comma-separated). One without profiles
is always active; networks and volumes have none (as in Compose). The view of some profiles
(`select`) is the desired state with the inactive containers left out and recorded
(`DesiredState.inactive`), so that the plan removes what exists of them with its own reason.
`check_view` finds each active container's reference to an inactive one (`depends_on`,
`volumes_from`, `network_mode`/`ipc`/`pid` = "container:NAME"): Compose refuses it ("service X is
required by Y but is disabled"), and so does the loader, at the reference.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Iterator

from reconciler.desired.problems import Path_, Problem
from reconciler.desired.references import referenced
from reconciler.model import ContainerSpec, DesiredState, Spec

Place = Callable[[Spec, Path_, str], Problem]

ENV = "RECONCILER_PROFILES"
GRAMMAR = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")  # Compose's (compose-spec, `profiles`)


def parse(value: str) -> str:
    """A profile name as given on the command line; raises ValueError when it is not Compose's
    grammar (`[a-zA-Z0-9][a-zA-Z0-9_.-]+`)."""
    if not GRAMMAR.fullmatch(value):
        raise ValueError(f"{value!r} is not a profile name: a letter or digit, then letters, digits, '_', '.' or '-'")
    return value


def from_environment(value: str | None) -> tuple[str, ...]:
    """The profiles of `$RECONCILER_PROFILES`: names separated by commas (blanks around them and
    empty entries ignored). Raises ValueError naming a malformed one."""
    return tuple(parse(name.strip()) for name in (value or "").split(",") if name.strip())


def active(spec: ContainerSpec, profiles: Iterable[str]) -> bool:
    """Whether the container is active with these profiles given: it has none, or one of them."""
    return not spec.profiles or not set(spec.profiles).isdisjoint(profiles)


def select(state: DesiredState, profiles: Iterable[str]) -> DesiredState:
    """The view of `profiles`: the active containers, every network and volume; the containers
    left out are recorded in `inactive` (name -> its profiles). Keeps `selected_for`."""
    given = frozenset(profiles)
    containers = {name: spec for name, spec in state.containers.items() if active(spec, given)}
    inactive = {name: spec.profiles for name, spec in state.containers.items() if name not in containers}
    return dataclasses.replace(state, containers=containers, inactive={**state.inactive, **inactive})


def declared(state: DesiredState) -> tuple[str, ...]:
    """Every profile some container names, sorted."""
    return tuple(sorted({name for spec in state.containers.values() for name in spec.profiles}))


def unknown(state: DesiredState, profiles: Iterable[str]) -> tuple[str, ...]:
    """The profiles given that no container names (a typo activates nothing), sorted."""
    return tuple(sorted(set(profiles) - set(declared(state))))


def _containers_named(spec: ContainerSpec) -> Iterator[tuple[Path_, str]]:
    """(key path, name) of each container this one names: its references (`references.referenced`)
    and its `ipc`/`pid` = "container:NAME", each path once."""
    seen = set()
    found = [(path, name) for kind, path, name in referenced(spec) if kind == "container"]
    for key in ("ipc", "pid"):
        mode = getattr(spec, key) or ""
        if mode.startswith("container:"):
            found.append(((key,), mode.removeprefix("container:")))
    for path, name in found:
        if path not in seen:
            seen.add(path)
            yield path, name


def check_view(state: DesiredState, profiles: Iterable[str], place: Place) -> list[Problem]:
    """The references of the view of `profiles` to a container it leaves out, each placed at the
    reference (`place(spec, key path, message)`). `state` is the whole, valid desired state."""
    given = frozenset(profiles)
    problems = []
    for spec in state.containers.values():
        if not active(spec, given):
            continue
        for path, name in _containers_named(spec):
            target = state.containers.get(name)
            if target is not None and not active(target, given):
                wanted = ", ".join(f'"{p}"' for p in target.profiles)
                shown = ", ".join(sorted(given)) or "none"
                problems.append(place(spec, ("container", spec.name, *path),
                                      f"container '{name}' is not active: it is in profiles [{wanted}] (at "
                                      f"{target.source}), and the profiles given are {shown}; give --profile "
                                      f"{target.profiles[0]}, or leave the reference out"))
    return problems


def views(state: DesiredState) -> list[tuple[str, ...]]:
    """The views `validate` checks when no profile is given: none given, then each declared
    profile alone."""
    return [(), *((name,) for name in declared(state))]
