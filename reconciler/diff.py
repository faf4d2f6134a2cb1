"""diff: from (desired, observed, options) to the list of changes, each with its reasons. Pure: no I/O.

Besides containers, networks and volumes, images are resources of a plan: a pull for an image a
create needs and the host lacks (`pull = "missing"`), a check for `pull = "always"`. Conditions
that hold a change back (a dependency not ready, a crash loop the engine runs) are causes here;
`plan` turns them into blocked tasks. Containers are compared in `diff_containers`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from reconciler import adoption
from reconciler.changes import Cause, Change, ChangeKind, Reason, changed_key_list, spec_changed
from reconciler.diff_containers import diff_containers, image_volumes
from reconciler.images import pushes
from reconciler.model import (
    LABEL_SOURCE,
    LABEL_SPEC_HASH,
    ContainerSpec,
    DesiredState,
    NetworkSpec,
    Spec,
    VolumeSpec,
    resource_key,
    spec_hash,
)
from reconciler.options import DEFAULT, PlanOptions
from reconciler.ownership import logical_name
from runtime.base import ObservedNetwork, ObservedState, ObservedVolume


def diff(desired: DesiredState, observed: ObservedState, options: PlanOptions = DEFAULT) -> list[Change]:
    """Every change needed to make `observed` match `desired`, in a stable order."""
    networks = _diff_networks(desired.networks, observed, options)
    recreated = frozenset(c.name for c in networks if c.kind is ChangeKind.RECREATE)
    containers = diff_containers(desired, observed, recreated, options)
    volumes = {**image_volumes(desired, observed), **desired.volumes}
    building = {c.spec.image for c in containers if c.needs_build and isinstance(c.spec, ContainerSpec)}
    return [
        *_diff_images(desired, observed, containers, options),
        *pushes.pending(desired, observed, building, options.pushed, options.pulled),
        *networks,
        *_diff_volumes(volumes, observed, options),
        *adoption.undeclared(desired, observed, options),
        *containers,
    ]



def _diff_images(
    desired: DesiredState, observed: ObservedState, containers: list[Change], options: PlanOptions
) -> list[Change]:
    """A pull for each image a create or replacement needs and the host lacks (unless `pull =
    "never"`) and for each `pull = "newer"` image the host lacks; a check for each `pull =
    "always"` image not pulled yet this pass, and one for each `pull = "newer"` image the host
    has, when it is due (not in `options.not_due`) and not pinned by digest (a digest never
    moves)."""
    wanted = {c.spec.image for c in containers if c.kind in (ChangeKind.CREATE, ChangeKind.RECREATE)
              and isinstance(c.spec, ContainerSpec) and c.spec.pull != "never" and c.spec.build is None}
    # a `newer` image the host lost (untagged by hand) is pulled again, as `missing` would: its
    # containers then compare with what the tag names now
    wanted |= {s.image for s in desired.containers.values() if s.pull == "newer" and s.build is None
               and s.image not in observed.images}
    # a digest names one image for good: once here it is never pulled again, `always` or not
    always = {s.image for s in desired.containers.values() if s.pull == "always"
              and not ("@" in s.image and s.image in observed.images)}
    newer = {s.image for s in desired.containers.values() if s.pull == "newer" and "@" not in s.image
             and s.image in observed.images} - options.not_due - always
    changes = []
    for ref in sorted((wanted | always | newer) - options.pulled):
        if ref not in observed.images and ref in wanted:
            changes.append(Change(ChangeKind.PULL, "image", ref, (Cause(Reason.PULL_MISSING),)))
        elif ref in always or ref in newer:
            why = Reason.PULL_ALWAYS if ref in always else Reason.PULL_NEWER
            changes.append(Change(ChangeKind.CHECK, "image", ref, (Cause(why),)))
    return changes


def _absent(spec: Spec, held: frozenset[str]) -> Change:
    """A declared resource that this namespace does not have: create it, unless the name is taken."""
    if spec.name in held:
        return Change(ChangeKind.CONFLICT, spec.kind, spec.name, (Cause(Reason.NAME_TAKEN),), spec,
                      source=spec.source.file)
    return Change(ChangeKind.CREATE, spec.kind, spec.name, (Cause(Reason.MISSING),), spec, source=spec.source.file)


def _diff_networks(desired: Mapping[str, NetworkSpec], observed: ObservedState, options: PlanOptions) -> list[Change]:
    changes = []
    held = observed.unowned.get("network", frozenset())
    owned: dict[str, ObservedNetwork] = {n.name: n for n in observed.networks}
    for name, spec in sorted(desired.items()):
        have = owned.get(name)
        refused = observed.refused.get(spec.key)
        why = (Cause(Reason.UNSUPPORTED, refused),) if refused else ()
        if have is None and (adopted := adoption.held_resource(spec, observed, options)) is not None:
            changes.append(adopted)
        elif have is None:
            absent = _absent(spec, held)
            changes.append(dataclasses.replace(absent, causes=(*absent.causes, *why))
                           if absent.kind is ChangeKind.CREATE else absent)
        elif LABEL_SPEC_HASH not in have.labels:
            changes.append(Change(ChangeKind.WARN, "network", name, (Cause(Reason.NO_SPEC_HASH),)))
        elif have.labels[LABEL_SPEC_HASH] != spec_hash(spec):
            cause = spec_changed(have.labels, spec)
            attached = tuple(sorted(c.id for c in observed.containers if name in c.networks))
            changes.append(Change(ChangeKind.RECREATE, "network", name, (cause, *why), spec, (have.id,), attached,
                                  source=spec.source.file))
    for name, have in sorted(owned.items()):
        if name not in desired:
            users = frozenset(resource_key("container", logical_name(c.labels, c.name))
                              for c in observed.containers if name in c.networks)
            changes.append(Change(ChangeKind.REMOVE, "network", name, (Cause(Reason.NOT_DECLARED),),
                                  current=(have.id,), source=have.labels.get(LABEL_SOURCE), users=users))
    return changes


def _diff_volumes(desired: Mapping[str, VolumeSpec], observed: ObservedState, options: PlanOptions) -> list[Change]:
    changes = []
    held = observed.unowned.get("volume", frozenset())
    owned: dict[str, ObservedVolume] = {v.name: v for v in observed.volumes}
    for name, spec in sorted(desired.items()):
        have = owned.get(name)
        if have is None and (adopted := adoption.held_resource(spec, observed, options)) is not None:
            changes.append(adopted)
        elif have is None:
            changes.append(_absent(spec, held))
        elif have.labels.get(LABEL_SPEC_HASH) not in (None, spec_hash(spec)):
            cause = Cause(Reason.VOLUME_CHANGED, changed_key_list(have.labels, spec))
            changes.append(Change(ChangeKind.RETAIN, "volume", name, (cause,)))
    for name in sorted(owned.keys() - desired.keys()):
        source = owned[name].labels.get(LABEL_SOURCE)
        if options.prune_volumes:
            changes.append(Change(ChangeKind.REMOVE, "volume", name, (Cause(Reason.PRUNE),), current=(name,),
                                  source=source))
        else:
            changes.append(Change(ChangeKind.RETAIN, "volume", name, (Cause(Reason.KEEP_VOLUME),), source=source))
    return changes
