"""Image retention: which images this namespace pulled or built may go, so the disk does not fill up. Pure.

Images carry no ownership labels, so what this namespace pulled or built is recorded in the state
directory (`image-usage.json`, see `reconciler.agent.statedir`), per repository: each image id
with when a container of this namespace last used it and how it came (pulled or built).

The rule (`image_retention = N`, an agent option; docs/agent.md): an image is removed only when
it is recorded, no container on the engine uses it (whoever owns the container, whatever its
state), and it is not among the N most recently used unused images of any repository it is
recorded under. N counts the previous images kept for rollbacks, besides those in use, as
Kubernetes' `revisionHistoryLimit` counts old ReplicaSets besides the current one: with N = 0
every unused recorded image goes, with N = 2 two previous versions stay. An image nobody
recorded (pulled by hand, another namespace's, the base of a build) is never a candidate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

PULLED = "pulled"
BUILT = "built"
HOW = (PULLED, BUILT)


@dataclass(frozen=True)
class ImageUse:
    """One recorded image: `id` ("sha256:..."), the `repository` it came under ("reg:5000/app",
    a reference without tag or digest), the `ref` it was last pulled or built as ("reg:5000/app:2"),
    `how` it came (pulled | built) and `last_used`, unix time, when it came or a container of this
    namespace last used it."""

    repository: str
    id: str
    ref: str
    how: str
    last_used: float


def repository(ref: str) -> str:
    """The repository of an image reference, as written: "reg:5000/app:2@sha256:..." ->
    "reg:5000/app" (a ':' after the last '/' starts the tag; the distribution reference grammar)."""
    name = ref.split("@", 1)[0]
    head, slash, last = name.rpartition("/")
    return head + slash + last.split(":", 1)[0]


def recorded(uses: Iterable[ImageUse], ref: str, id: str, how: str, now: float) -> tuple[ImageUse, ...]:
    """`uses` with image `id`, just pulled or built as `ref`, recorded (or its record refreshed)
    at `now`. ValueError for a `how` that is not pulled or built."""
    if how not in HOW:
        raise ValueError(f"how an image came must be one of {', '.join(HOW)}, not {how!r}")
    new = ImageUse(repository(ref), id, ref, how, now)
    return (*(u for u in uses if (u.repository, u.id) != (new.repository, new.id)), new)


def refreshed(uses: Iterable[ImageUse], used: Iterable[str], now: float) -> tuple[ImageUse, ...]:
    """`uses` with the records of the image ids in `used` (those this namespace's containers
    run now) last used at `now`."""
    used = frozenset(used)
    return tuple(replace(u, last_used=now) if u.id in used else u for u in uses)


def to_remove(uses: Iterable[ImageUse], in_use: Iterable[str], keep: int) -> tuple[ImageUse, ...]:
    """The records of the images to remove, least recently used first (one per image id): those
    not in `in_use` (the image ids of every container on the engine) and not among the `keep`
    most recently used unused images of any repository they are recorded under. ValueError for a
    negative `keep`."""
    if keep < 0:
        raise ValueError(f"the number of images to keep must be 0 or more, not {keep}")
    in_use = frozenset(in_use)
    by_repository: dict[str, list[ImageUse]] = {}
    for use in uses:
        if use.id not in in_use:
            by_repository.setdefault(use.repository, []).append(use)
    kept: set[str] = set()
    candidates: dict[str, ImageUse] = {}
    for found in by_repository.values():
        newest_first = sorted(found, key=lambda u: (-u.last_used, u.id))
        kept.update(u.id for u in newest_first[:keep])
        for use in newest_first[keep:]:
            candidates.setdefault(use.id, use)
    return tuple(sorted((u for id, u in candidates.items() if id not in kept), key=lambda u: (u.last_used, u.id)))


def forgotten(uses: Iterable[ImageUse], ids: Iterable[str]) -> tuple[ImageUse, ...]:
    """`uses` without the records of the image ids `ids` (removed, or gone from the engine)."""
    ids = frozenset(ids)
    return tuple(u for u in uses if u.id not in ids)


def from_records(records: Mapping[str, Mapping[str, Mapping]]) -> tuple[ImageUse, ...]:
    """The uses kept in the state directory: {repository: {id: {"ref", "how", "last_used"}}}.
    Raises KeyError, TypeError or ValueError for a record that lacks a field or has a bad one."""
    uses = []
    for name, images in records.items():
        for id, record in images.items():
            how = str(record["how"])
            if how not in HOW:
                raise ValueError(f"{name} {id}: how it came is {how!r}, not one of {', '.join(HOW)}")
            uses.append(ImageUse(name, id, str(record["ref"]), how, float(record["last_used"])))
    return tuple(uses)


def as_records(uses: Iterable[ImageUse]) -> dict[str, dict[str, dict]]:
    """The uses as the state directory keeps them (see `from_records`)."""
    records: dict[str, dict[str, dict]] = {}
    for use in uses:
        records.setdefault(use.repository, {})[use.id] = {"ref": use.ref, "how": use.how, "last_used": use.last_used}
    return records
