"""diff for the Swarm target: from (desired, SwarmState, options) to the changes, each with its
reasons. Pure: no I/O.

Each declared container is a service, each network an overlay network, each `[secret.NAME]` and
`[config.NAME]` a Swarm object named by its value's digest (`service_spec.object_name`). A
service is compared by rendering it and comparing every path the rendering sets with the spec the
engine holds (`compare.differences`); its labels tell an edit of the files (the spec hash, the
unhashed keys it renders) from a change made by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.changes import Cause, Change, ChangeKind, Reason, spec_changed
from reconciler.model import (
    LABEL_NAME,
    LABEL_SOURCE,
    LABEL_SPEC_HASH,
    ContainerSpec,
    DesiredState,
    NetworkSpec,
    SecretSpec,
    VolumeSpec,
    hash_matches,
    resource_key,
)
from reconciler.ownership import recorded_keys
from reconciler.swarm.compare import differences
from reconciler.swarm.options import DEFAULT, SwarmOptions
from reconciler.swarm.rollout import LABEL_ROLLED_BACK_WHY, NOT_OVER, failed_labels
from reconciler.swarm.service_spec import LABEL_SERVICE_KEYS, constraints, mode_name, object_name, render, service_keys
from runtime.swarm_base import ObservedObject, ObservedService, SwarmState

_IMAGE = "TaskTemplate.ContainerSpec.Image"
_PLACEMENT = "TaskTemplate.Placement.Constraints"
_KEPT = (ChangeKind.BLOCKED, ChangeKind.WARN, ChangeKind.CONFLICT)  # a service these leave as it is


def diff(desired: DesiredState, observed: SwarmState, namespace: str, options: SwarmOptions = DEFAULT) -> list[Change]:
    """Every change that makes the swarm match `desired`: networks, secrets, configs, the declared
    volumes (a warning each), services; in a stable order (`plan` orders the tasks)."""
    services = _services(desired, observed, namespace, options)
    settled = {c.name for c in services if c.kind not in _KEPT}
    kept = [s for s in observed.services if s.name not in settled]  # their secrets and configs stay
    return [
        *_networks(desired, observed),
        *_objects("secret", desired.secrets, observed.secrets, observed, kept, _holds("secret", observed, services)),
        *_objects("config", desired.configs, observed.configs, observed, kept, _holds("config", observed, services)),
        *(Change(ChangeKind.WARN, "volume", name, (Cause(Reason.PER_NODE),), source=spec.source.file)
          for name, spec in sorted(desired.volumes.items())),
        *services,
    ]


def _services(desired: DesiredState, observed: SwarmState, namespace: str, options: SwarmOptions) -> list[Change]:
    """A change per declared service that differs, and a removal per owned one no longer declared
    (refused when the files declare none, unless `allow_empty`)."""
    owned = {s.name: s for s in observed.services}
    held = observed.unowned.get("service", frozenset())
    changes = [c for name, spec in sorted(desired.containers.items())
               if (c := _service(spec, owned.get(name), name in held, observed, namespace, desired.volumes))
               is not None]
    refused = () if desired.containers or options.allow_empty else (Cause(Reason.EMPTY_REFUSED),)
    for name in sorted(owned.keys() - desired.containers.keys()):
        have = owned[name]
        profiles = desired.inactive.get(name)
        why = Cause(Reason.PROFILE_INACTIVE, ", ".join(profiles)) if profiles else Cause(Reason.NOT_DECLARED)
        changes.append(Change(ChangeKind.REMOVE, "service", name, (why, *refused), current=(have.id,),
                              source=have.labels.get(LABEL_SOURCE)))
    return changes


def _service(spec: ContainerSpec, have: ObservedService | None, taken: bool, observed: SwarmState,
             namespace: str, volumes: Mapping[str, VolumeSpec]) -> Change | None:
    """The change one declared service needs, or None when the swarm runs it as declared. A service
    that runs as declared but still carries the record of a rollback from another spec is updated
    to its rendered spec (labels only: no task replaced), which drops the record, so that putting
    that spec back later is tried again."""
    def change(kind: ChangeKind, *causes: Cause, body=None) -> Change:
        current = (have.id,) if have is not None else ()
        version = have.version if have is not None else None
        return Change(kind, "service", spec.name, causes, spec, current, source=spec.source.file, body=body,
                      version=version)

    if have is None and taken:
        return change(ChangeKind.CONFLICT, Cause(Reason.NAME_TAKEN))
    if have is not None and LABEL_SPEC_HASH not in have.labels:
        return Change(ChangeKind.WARN, "service", spec.name, (Cause(Reason.NO_SPEC_HASH),))
    if have is not None and _quarantined(have, spec, volumes):
        return change(ChangeKind.BLOCKED, Cause(Reason.ROLLED_BACK, have.labels.get(LABEL_ROLLED_BACK_WHY, "")))
    digest = _digest(spec, observed, have)
    if constraints(spec.hosts, observed.nodes) is None:
        return change(ChangeKind.BLOCKED, Cause(Reason.NO_NODE, ", ".join(spec.hosts)))
    if digest is None:
        error = observed.digest_errors.get(spec.image)
        ref = f"{spec.image} ({error})" if error else spec.image
        return change(ChangeKind.BLOCKED, Cause(Reason.NO_DIGEST, f"{ref}: push it to a registry the nodes can pull "
                                                                  f"from (`docker push {spec.image}`)"))
    body = render(spec, namespace, digest, observed.nodes, volumes)
    if have is None:
        return change(ChangeKind.CREATE, Cause(Reason.MISSING), body=body)
    was, now = mode_name(have.spec.get("Mode")), mode_name(body["Mode"])
    if was != now:
        return change(ChangeKind.RECREATE, Cause(Reason.MODE_CHANGED, f"{was} -> {now}"), body=body)
    causes = _causes(spec, have, body, volumes)
    if not causes and have.update_state in NOT_OVER:
        return change(ChangeKind.BLOCKED, Cause(Reason.ROLLOUT_NOT_OVER, have.update_state))
    if not causes and failed_labels(have.labels):
        causes = (Cause(Reason.ROLLBACK_CLEARED, "the files no longer declare the spec Swarm rolled back"),)
    return change(ChangeKind.UPDATE, *causes, body=body) if causes else None


def _causes(spec: ContainerSpec, have: ObservedService, body: Mapping[str, Any],
            volumes: Mapping[str, VolumeSpec]) -> tuple[Cause, ...]:
    """Why a service whose rendered `body` differs from the engine's is updated: the keys of the
    file that changed (the spec hash's, and the unhashed ones it renders: `replicas: 2 -> 3`
    alone), else what moved without an edit (the image at its registry, the nodes `hosts`
    match), else the paths changed by hand. () when nothing differs."""
    recorded, declared = recorded_keys(have.labels, LABEL_SERVICE_KEYS), service_keys(spec, volumes)
    keys = [k for k in sorted(declared.keys() | recorded.keys()) if recorded.get(k) != declared.get(k)]
    edited = None if hash_matches(have.labels, spec) else spec_changed(have.labels, spec)
    if edited is None and keys == ["replicas"]:
        return (Cause(Reason.REPLICAS, f"{recorded.get('replicas', '?')} -> {declared['replicas']}"),)
    if edited is not None and edited.reason is not Reason.SPEC_CHANGED:
        return (edited, *([Cause(Reason.SPEC_CHANGED, ", ".join(keys))] if keys else []))
    if edited is not None or keys:
        named = {*keys, *(edited.detail.split(", ") if edited is not None and edited.detail else ())}
        return (Cause(Reason.SPEC_CHANGED, ", ".join(sorted(named))),)
    paths = differences(body, have.spec)
    causes = []
    if _IMAGE in paths:
        causes.append(Cause(Reason.IMAGE_MOVED, f"{spec.image}: {_short(_pinned(have.spec))} -> "
                                                f"{_short(_pinned(body))}"))
    if _PLACEMENT in paths:
        causes.append(Cause(Reason.NODES_CHANGED))
    by_hand = [p for p in paths if p not in (_IMAGE, _PLACEMENT)]
    return (*causes, *([Cause(Reason.CHANGED_BY_HAND, ", ".join(by_hand))] if by_hand else []))


def _pinned(spec: Mapping[str, Any]) -> str:
    """The image reference a ServiceSpec's tasks run ("" when it names none)."""
    return str(((spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Image") or "")


def _short(image: str) -> str:
    """The first 12 hex of the digest an image reference is pinned to ("(none)" when it is not)."""
    return image.rpartition("@sha256:")[2][:12] if "@sha256:" in image else "(none)"


def _quarantined(have: ObservedService, spec: ContainerSpec, volumes: Mapping[str, VolumeSpec]) -> bool:
    """Swarm rolled back an update to exactly this spec (its spec hash and rendered keys): it is
    not tried again until the files change. No state file: the executor labelled the service with
    the spec that failed (`rollout.rollback_labels`; Swarm's rollback empties PreviousSpec)."""
    previous = failed_labels(have.labels)
    if not previous or not hash_matches(previous, spec):
        return False
    recorded = recorded_keys(previous, LABEL_SERVICE_KEYS)
    return LABEL_SERVICE_KEYS not in previous or recorded == service_keys(spec, volumes)


def _digest(spec: ContainerSpec, observed: SwarmState, have: ObservedService | None) -> str | None:
    """The registry digest to pin `spec.image` to: the manager's answer, else (the registry out of
    reach) the one the running service is pinned to, when it runs that reference."""
    if spec.image in observed.digests:
        return observed.digests[spec.image]
    ref, _, digest = (_pinned(have.spec) if have is not None else "").partition("@")
    return digest if digest and ref == spec.image.partition("@")[0] else None


def _attached(service: ObservedService) -> frozenset[str]:
    """The networks (by name, as the adapter normalises them) a service's tasks attach to."""
    return frozenset(n.get("Target", "") for n in (service.spec.get("TaskTemplate") or {}).get("Networks") or ())


def _networks(desired: DesiredState, observed: SwarmState) -> list[Change]:
    """Overlay networks: created when missing, made again when their spec changed, removed when no
    longer declared. Swarm refuses to remove a network a service uses: made again only when no
    service uses it, removed only after the owned services on it are; a service this namespace
    does not own on it blocks either (`_in_use`)."""
    held = observed.unowned.get("network", frozenset())
    owned = {n.name: n for n in observed.networks}
    changes = []
    for name, spec in sorted(desired.networks.items()):
        have = owned.get(name)
        users = frozenset(resource_key("service", s.name) for s in observed.services if name in _attached(s))
        if have is None:
            changes.append(_absent("network", name, spec, held))
        elif LABEL_SPEC_HASH not in have.labels:
            changes.append(Change(ChangeKind.WARN, "network", name, (Cause(Reason.NO_SPEC_HASH),)))
        elif not hash_matches(have.labels, spec):
            in_use = _in_use(users, observed.network_users.get(name, frozenset()))
            kind = ChangeKind.BLOCKED if in_use else ChangeKind.RECREATE
            changes.append(Change(kind, "network", name, (spec_changed(have.labels, spec), *in_use), spec, (have.id,),
                                  source=spec.source.file, users=users))
    for name in sorted(owned.keys() - desired.networks.keys()):
        have = owned[name]
        users = frozenset(resource_key("service", s.name) for s in observed.services if name in _attached(s))
        in_use = _in_use(frozenset(), observed.network_users.get(name, frozenset()))
        changes.append(Change(ChangeKind.BLOCKED if in_use else ChangeKind.REMOVE, "network", name,
                              (Cause(Reason.NOT_DECLARED), *in_use), current=(have.id,),
                              source=have.labels.get(LABEL_SOURCE), users=users))
    return changes


def _in_use(owned: frozenset[str], unowned: frozenset[str]) -> tuple[Cause, ...]:
    """Why a network cannot be removed this pass: the services on it (`owned`: their keys;
    `unowned`: the names of services this namespace does not own), or () when none is."""
    if not owned and not unowned:
        return ()
    named = [*sorted(owned), *(f"service/{name} (not this namespace's)" for name in sorted(unowned))]
    return (Cause(Reason.IN_USE, f"by {', '.join(named)}: Swarm cannot remove it; remove them first"),)


def _absent(kind: str, name: str, spec: NetworkSpec | SecretSpec, held: frozenset[str]) -> Change:
    """A declared network, secret or config the swarm lacks: created, unless another holds the name."""
    if name in held:
        return Change(ChangeKind.CONFLICT, kind, name, (Cause(Reason.NAME_TAKEN),), spec, source=spec.source.file)
    return Change(ChangeKind.CREATE, kind, name, (Cause(Reason.MISSING),), spec, source=spec.source.file)


def _references(spec: Mapping[str, Any] | None, kind: str) -> frozenset[str]:
    """The Swarm secrets (or configs) a service spec (normalised: `ObservedService.spec`) references, by name."""
    container = ((spec or {}).get("TaskTemplate") or {}).get("ContainerSpec") or {}
    field = kind.capitalize()
    return frozenset(r.get(f"{field}Name", "") for r in container.get(f"{field}s") or ())


def _holds(kind: str, observed: SwarmState, services: list[Change]) -> dict[str, tuple[ChangeKind, Cause]]:
    """Secrets (or configs) by Swarm name that a service may still use though the files no longer
    do, and how their removal waits: BLOCKED while the service's rolling update is not over (Swarm
    may still start tasks of the spec before it, and roll back to it), RETAIN while its
    PreviousSpec names them (`docker service rollback` goes back to PreviousSpec). A service this
    pass updates holds what its spec names now, its PreviousSpec once updated (Swarm's update
    copies Spec there): what only its PreviousSpec names is removed after the update (`_objects`'
    users). A service this pass removes or makes again holds none."""
    changed = {c.name: c.kind for c in services}
    holds: dict[str, tuple[ChangeKind, Cause]] = {}
    for service in sorted(observed.services, key=lambda s: s.name):
        if changed.get(service.name) in (ChangeKind.REMOVE, ChangeKind.RECREATE):
            continue
        current, previous = _references(service.spec, kind), _references(service.previous_spec, kind)
        if service.update_state in NOT_OVER:
            why = Cause(Reason.ROLLOUT_NOT_OVER, f"service {service.name}, {service.update_state}")
            holds.update(dict.fromkeys(current | previous, (ChangeKind.BLOCKED, why)))
            continue
        names, when = ((current, "will name it once updated") if changed.get(service.name) is ChangeKind.UPDATE
                       else (previous, "names it"))
        why = Cause(Reason.ROLLBACK_TARGET, f"the previous spec of service {service.name} {when}")
        holds.update({name: (ChangeKind.RETAIN, why) for name in names
                      if holds.get(name, (None,))[0] is not ChangeKind.BLOCKED})
    return holds


def _objects(kind: str, declared: Mapping[str, SecretSpec], have: tuple[ObservedObject, ...],
             observed: SwarmState, kept: list[ObservedService],
             holds: Mapping[str, tuple[ChangeKind, Cause]]) -> list[Change]:
    """Swarm secrets or configs: one per declared value, created when missing (a new value is a
    new object); an owned one no longer declared, or an older value, is removed once no service
    left as it is uses it (after the updates that move services off it), unless a service may
    still use it (`holds`: its removal is blocked or it is retained, with why)."""
    held = observed.unowned.get(kind, frozenset())
    owned = {o.name: o for o in have}
    wanted = {object_name(spec): spec for spec in declared.values()}
    changes = []
    for name, spec in sorted(wanted.items()):
        if name not in owned:
            changes.append(_absent(kind, name, spec, held))
    in_use = frozenset().union(*(_references(s.spec, kind) for s in kept))
    for name in sorted(owned.keys() - wanted.keys() - in_use):
        obj = owned[name]
        why = Cause(Reason.SUPERSEDED if obj.labels.get(LABEL_NAME) in declared else Reason.NOT_DECLARED)
        users = frozenset(resource_key("service", s.name) for s in observed.services
                          if name in _references(s.spec, kind) | _references(s.previous_spec, kind))
        verb, hold = holds.get(name, (ChangeKind.REMOVE, None))
        changes.append(Change(verb, kind, name, (why, *([hold] if hold else [])), current=(obj.id,),
                              source=obj.labels.get(LABEL_SOURCE), users=users))
    return changes
