"""`push = true`: a built image is pushed until its registry has it, not only right after its build.

A push that failed (refused credentials, a registry down) leaves the built image on the host, so
the next pass builds nothing; what was pushed is therefore its own record, kept in the state
directory (`pushed.json`, by image reference: {"image_id": "sha256:...", "pushed_at": unix time}).
A built image that is on the host as its build's tag and its `image`, and was not pushed as that
image id, is pushed by an image change of its own (`@ push image REF (not pushed yet)`), before
its containers are created or replaced. Pure: the record is read and written by `images.usage`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from reconciler.changes import Cause, Change, ChangeKind, Reason
from reconciler.model import DesiredState
from reconciler.tasks import Step
from runtime.base import ObservedState


def pending(desired: DesiredState, observed: ObservedState, building: Iterable[str],
            pushed: Mapping[str, str], handled: Iterable[str] = ()) -> list[Change]:
    """A push change for each `push = true` built image whose built image is on the host (its
    build's tag and its `image` name the same id) and was not pushed as that id (`pushed`: image
    reference -> the image id last pushed). Not for an image in `building` (the references a
    container task builds this pass, and pushes right after) nor in `handled` (an image change of
    this pass already ran for it)."""
    skip = set(building) | set(handled)
    changes = {}
    for spec in desired.containers.values():
        if not spec.push or spec.build is None or spec.image in skip:
            continue
        built = observed.images.get(spec.build.tag)
        if built is not None and observed.images.get(spec.image) == built and pushed.get(spec.image) != built:
            changes[spec.image] = Change(ChangeKind.PUSH, "image", spec.image, (Cause(Reason.NOT_PUSHED),))
    return [changes[ref] for ref in sorted(changes)]


def refs(results: Iterable) -> frozenset[str]:
    """The image references pushed by `results` (`execute.TaskResult`s): a push step in a task
    that succeeded."""
    return frozenset(a.target for r in results if r.ok for a in r.task.steps if a.step is Step.PUSH)


def pushed(results: Iterable, observed: ObservedState) -> dict[str, str]:
    """Image reference -> image id of each image `results` pushed (see `refs`) that the engine,
    observed after the push, has."""
    return {ref: observed.images[ref] for ref in sorted(refs(results)) if ref in observed.images}


def recorded(records: Mapping[str, Mapping]) -> dict[str, str]:
    """Image reference -> image id pushed, from the state directory's push records."""
    return {ref: record["image_id"] for ref, record in records.items() if isinstance(record, Mapping)
            and isinstance(record.get("image_id"), str)}
