"""Adoption (docs/adoption.md): taking over resources this namespace does not own. Pure: no I/O.

A declared name held by an unowned resource is a conflict, unless the resource is adopted:
`adopt = true` in its file, or `apply --adopt NAME` (`PlanOptions.adopt`).
- A container cannot be relabelled: it is replaced, stop-first, by an owned container of the
  declared spec (`plan` makes the steps). Its volumes' data stays: a declared mount at the same
  path works as declared, an anonymous volume at a path no declared mount covers is mounted into
  the new container at that path, as in every later replacement (`diff_containers.data_mounts`).
  The plan line names what differs from the declared spec.
- A volume or network cannot be relabelled either: it is adopted by a record in the state
  directory (`PlanOptions.adopted`: "kind/name" -> the engine id it was adopted as; a volume has
  none, and its CreatedAt is no identity either: Docker's local driver reports the time a volume
  with options was last mounted, so a volume's record is its driver and name, `local:NAME`).
  From then on it counts as ours: never recreated, emptied or removed; a spec difference is a
  warning. A volume no longer declared stays adopted (kept, as owned volumes
  are); a network no longer declared is released (the record dropped, the network left in place).
  A record whose id no longer matches the resource holding the name is void: a conflict, unless
  `--adopt` names it again.
- A resource another namespace owns is never adopted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from reconciler.changes import Cause, Change, ChangeKind, Reason
from reconciler.fields import Mount
from reconciler.model import LABEL_MANAGED, ContainerSpec, DesiredState, NetworkSpec, Spec, VolumeSpec, held_by_swarm
from reconciler.options import PlanOptions
from reconciler.ownership import prev_name
from reconciler.tasks import Action, Step
from runtime.base import ObservedNetwork, ObservedState, ObservedVolume, UnownedContainer
from runtime.docker_observe import normalise_reference
from runtime.unowned import anonymous, claimed_name, port_texts

# the change reasons that carry an adopted volume's or network's id in `Change.current[0]`: the
# records a pass keeps (see `records`)
_RECORDED = frozenset({Reason.ADOPT, Reason.ADOPTED, Reason.ADOPTED_KEPT})


def requested(spec: Spec, options: PlanOptions) -> bool:
    """Whether `spec` is to be adopted: `adopt = true`, or `--adopt KIND/NAME` or `--adopt NAME`."""
    return spec.adopt or spec.key in options.adopt or spec.name in options.adopt


def asked(desired: DesiredState, options: PlanOptions) -> tuple[str, ...]:
    """The container names to adopt: observe returns their unowned holders in full (kind "adopt")."""
    return tuple(name for name, spec in desired.containers.items() if requested(spec, options))


def recorded_volumes(options: PlanOptions) -> tuple[str, ...]:
    """The names of the adopted volumes the records hold: observed even when no longer declared."""
    return tuple(key.partition("/")[2] for key in options.adopted if key.startswith("volume/"))


def holder(spec: ContainerSpec, observed: ObservedState) -> UnownedContainer | None:
    """The unowned container holding `spec`'s name, or a parked name of it (an adoption
    interrupted after it parked the container): the name itself first."""
    found = [c for c in observed.unowned_containers if claimed_name(c.observed.name) == spec.name]
    return min(found, key=lambda c: (c.observed.name != spec.name, c.observed.id), default=None)


def foreign(labels: Mapping[str, str]) -> Cause | None:
    """A resource Swarm holds (`model.held_by_swarm`) or another namespace owns is never adopted:
    the cause of its conflict."""
    if (swarm := held_by_swarm(labels)) is not None:
        return Cause(Reason.NAME_TAKEN, f"{swarm}: Swarm owns it")
    owner = labels.get(LABEL_MANAGED)
    return Cause(Reason.NAME_TAKEN, f"owned by namespace {owner!r}") if owner else None


def differences(spec: ContainerSpec, old: UnownedContainer) -> list[Cause]:
    """What the running container has that the declared spec changes, as far as its inspect
    tells: image, command, entrypoint, env keys (never values), ports, mounts, networks, restart,
    and the labels it carries that are not declared (the new container has none of them, but those
    of its image, which it inherits)."""
    found = []
    if old.image and normalise_reference(old.image) != normalise_reference(spec.image):
        found.append(f"image {old.image} -> {spec.image}")
    if spec.command is not None and tuple(spec.command) != old.command:
        found.append("command")
    if spec.entrypoint is not None and tuple(spec.entrypoint) != old.entrypoint:
        found.append("entrypoint")
    if lacking := sorted(set(spec.env) - old.env_keys):
        found.append(f"env keys added: {', '.join(lacking)}")
    if (want := port_texts(spec)) != old.ports:
        found.append(f"ports {_listed(old.ports)} -> {_listed(want)}")
    found += _mount_differences(spec, old)
    wanted = {n.name for n in spec.networks} or ({"bridge"} if spec.network_mode in (None, "bridge") else set())
    if spec.network_mode in (None, "bridge") and wanted != set(old.observed.networks):
        found.append(f"networks {_listed(old.observed.networks)} -> {_listed(wanted)}")
    if spec.restart.partition(":")[0] != old.restart:
        found.append(f"restart {old.restart} -> {spec.restart}")
    inherited = {k for k, v in old.image_labels.items() if old.observed.labels.get(k) == v}
    if dropped := sorted(set(old.observed.labels) - set(spec.labels) - inherited):
        found.append(f"labels dropped: {', '.join(dropped)}")
    return [Cause(Reason.ADOPT_DIFFERS, text) for text in found]


def _mount_differences(spec: ContainerSpec, old: UnownedContainer) -> list[str]:
    """The old container's named volumes and binds the spec mounts otherwise or not at all; a
    secret's or config's target (`/run/secrets/NAME`, where Compose binds a file secret) counts
    as declared: the new container gets the declared value there."""
    have = {**{path: f"volume {name}" for path, name in old.observed.volumes.items() if not anonymous(name)},
            **{path: f"bind {source}" for path, source in old.binds.items()}}
    want = {m.target: f"{m.type} {m.source}" for m in spec.mounts if m.type in ("volume", "bind") and m.source}
    granted = {g.target for g in (*spec.secrets, *spec.configs)}
    found = [f"{path}: {have[path]} -> {want[path]}" for path in sorted(have.keys() & want.keys())
             if have[path] != want[path]]
    found += [f"{path}: {have[path]} not declared" for path in sorted(have.keys() - want.keys() - granted)]
    return [f"mount {text}" for text in found]


def _listed(items) -> str:
    return "[" + ", ".join(sorted(items)) + "]"


def container_change(spec: ContainerSpec, old: UnownedContainer, created: Change, extra: tuple[Mount, ...]) -> Change:
    """The adoption of `old` by `spec`: `created` is the change that would create `spec` (its
    blocking causes: image missing, bind missing, not honoured), made into an `adopt`; `extra`
    what the new container mounts besides the declared mounts (`diff_containers.data_mounts`,
    the rule of every replacement: the image volumes and `old`'s other anonymous volumes)."""
    kept = [Cause(Reason.ANONYMOUS_KEPT, f"{m.target} in {m.source[:12]}") for m in extra if anonymous(m.source)]
    state = old.observed.state
    parked = old.observed.name if old.observed.name != spec.name else None
    head = Cause(Reason.ADOPT, f"unowned container {old.observed.id[:12]} ({state}), replaced stop-first")
    return Change(ChangeKind.ADOPT, "container", spec.name, (head, *differences(spec, old), *kept,
                                                                  *created.causes[1:]),
                  spec, (old.observed.id,), current_name=parked, needs_start=created.needs_start,
                  source=created.source, extra_mounts=extra, needs_build=created.needs_build,
                  adoptee=old.observed.id, adoptee_running=state == "running")


def finished(change: Change | None, spec: ContainerSpec, observed: ObservedState, keeper: str) -> Change | None:
    """An adoption interrupted after its new container (`keeper`, its id) was made: the container
    it took over, parked (`NAME--prev-ID`), is removed once the new one runs (at the end of
    `change`'s steps, or by a clean-up of its own when nothing else is to be done)."""
    old = holder(spec, observed)
    if old is None or old.observed.name == spec.name or (change is not None and change.kind in (
            ChangeKind.WARN, ChangeKind.BLOCKED, ChangeKind.CONFLICT)):
        return change
    cause = Cause(Reason.INTERRUPTED, f"adoption: removes {old.observed.id[:12]}, the container it took over")
    if change is None:
        return Change(ChangeKind.CLEANUP, "container", spec.name, (cause,), spec, (keeper,),
                      source=spec.source.file, adoptee=old.observed.id)
    return dataclasses.replace(change, causes=(*change.causes, cause), adoptee=old.observed.id)


def held_resource(spec: NetworkSpec | VolumeSpec, observed: ObservedState, options: PlanOptions) -> Change | None:
    """What a declared volume or network whose name an unowned resource holds comes to: adopted
    (recorded), to adopt, a void record's conflict, another namespace's conflict; None when the
    name is free or adoption is not asked for (the caller's plain create or conflict)."""
    found = _unowned(spec, observed)
    if found is None:
        return None
    have, id = found
    recorded = options.adopted.get(spec.key)
    if (why := foreign(have.labels)) is not None:
        return Change(ChangeKind.CONFLICT, spec.kind, spec.name, (why,), spec, source=spec.source.file)
    again = spec.key in options.adopt or spec.name in options.adopt
    if recorded is not None and recorded != id and not again:
        why = Cause(Reason.ADOPTION_VOID, f"recorded {recorded[:24]}, the name is now held by {id[:24]}")
        return Change(ChangeKind.CONFLICT, spec.kind, spec.name, (why,), spec, source=spec.source.file)
    differs = [Cause(Reason.ADOPT_DIFFERS, text) for text in _resource_differences(spec, have)]
    if recorded == id:
        kind = ChangeKind.WARN if differs else ChangeKind.RETAIN
        return Change(kind, spec.kind, spec.name, (Cause(Reason.ADOPTED), *differs), spec, (id,),
                      source=spec.source.file)
    if not requested(spec, options):
        return None
    head = Cause(Reason.ADOPT, f"unowned {spec.kind} {id[:24]}, recorded in the state directory")
    return Change(ChangeKind.ADOPT, spec.kind, spec.name, (head, *differs), spec, (id,), source=spec.source.file)


def _unowned(spec: Spec, observed: ObservedState) -> tuple[ObservedNetwork | ObservedVolume, str] | None:
    """The unowned holder of `spec`'s name and the id a record keeps for it."""
    if isinstance(spec, NetworkSpec):
        return next(((n, n.id) for n in observed.unowned_networks if n.name == spec.name), None)
    return next(((v, volume_id(v)) for v in observed.unowned_volumes if v.name == spec.name), None)


def volume_id(volume: ObservedVolume) -> str:
    """What an adoption record keeps of a volume: `DRIVER:NAME` (see the module's docstring)."""
    return f"{volume.driver or 'local'}:{volume.name}"


def _resource_differences(spec: NetworkSpec | VolumeSpec, have: ObservedNetwork | ObservedVolume) -> list[str]:
    """What an adopted volume or network lacks of its declared spec, as far as the engine's list
    tells (the driver, the declared labels); it is never recreated for them."""
    found = [f"driver {have.driver} -> {spec.driver}"] if have.driver and have.driver != spec.driver else []
    missing = sorted(k for k, v in spec.labels.items() if have.labels.get(k) != v)
    return found + ([f"labels {', '.join(missing)}"] if missing else [])


def undeclared(desired: DesiredState, observed: ObservedState, options: PlanOptions) -> list[Change]:
    """The adopted volumes and networks no longer declared: a volume is kept (still adopted), a
    network released (its record dropped, the network left in place)."""
    changes = []
    for key in sorted(options.adopted):
        kind, _, name = key.partition("/")
        if kind == "network" and name not in desired.networks:
            changes.append(Change(ChangeKind.RETAIN, "network", name, (Cause(Reason.RELEASED),)))
        elif kind == "volume" and name not in desired.volumes:
            have = next((v for v in observed.unowned_volumes if v.name == name), None)
            if have is not None and volume_id(have) == options.adopted[key]:
                changes.append(Change(ChangeKind.RETAIN, "volume", name, (Cause(Reason.ADOPTED_KEPT),),
                                      current=(options.adopted[key],)))
    return changes


def records(changes: tuple[Change, ...] | list[Change]) -> dict[str, str]:
    """"kind/name" -> id of the volumes and networks adopted after a plan's changes: those it
    adopts and those it keeps adopted; a record it does not name is dropped."""
    return {c.key: c.current[0] for c in changes if c.resource in ("volume", "network") and c.current
            and c.causes and c.causes[0].reason in _RECORDED and c.kind is not ChangeKind.CONFLICT}


def steps(change: Change, create: Action, start: list[Action], waits: list[Action]) -> tuple[list, list]:
    """(steps, rollback) of a container's adoption, stop-first: stop the old container, park it
    (`NAME--prev-ID`), `create` the new one under the name, `start` it and pass its `waits`, then
    remove the old one (re-checked unowned, by id). A failure before the new one runs removes
    the new one, gives the old one its name back and starts it again when it was running. After a
    crash at any step the next pass finds the old container holding the name (adopted again), or
    parked (adopted again: no rename), or parked beside the new one (removed: see `finished`)."""
    spec = change.spec
    assert isinstance(spec, ContainerSpec) and change.adoptee is not None
    old, name = change.adoptee, spec.name
    stop = Action(Step.STOP, old, timeout=spec.stop_timeout, gone_ok=True)
    park = [] if change.current_name else [Action(Step.RENAME, old, name=prev_name(name, old), gone_ok=True)]
    restart_old = (Action(Step.START, old, gone_ok=True),) if change.adoptee_running else ()
    restore = (Action(Step.RENAME, old, name=name, gone_ok=True), *restart_old)
    drop_new = (Action(Step.REMOVE, name, gone_ok=True),)
    remove_old = Action(Step.REMOVE_ADOPTED, old, gone_ok=True)
    ran = [*start, *waits]
    return ([stop, *park, create, *ran, remove_old],
            [(), *[restart_old] * len(park), restore, *[drop_new + restore] * len(ran), ()])
