"""`build.pull = true`: a build is made again when an image it is built `FROM` moved at its registry.

The build's tag names its files and options (`images.builds.build_tag`), not what its `FROM` tags
stood for when it was built, so that is kept in the state directory (`builds.json`), by build tag:
{"checked_at": unix time, "bases": {REF: the digest the image was built from}, "latest": {REF:
the digest its registry gave at the last check}}. A check (each pass, or each `pull_interval`, the
shortest of the containers using the build) asks the registry for each base's digest with a manifest
HEAD (`runtime.registry`, credentials as for `pull = "newer"`), and a build whose `bases` differ
from `latest` is built again and its containers replaced, with the reason
`image rebuilt: base REF moved OLD -> NEW`; a successful build makes `latest` its `bases`.

As with `pull = "newer"`, the first check of a build records what the registry says and never
rebuilds. A base the registry cannot answer is logged (`build.base_check_failed`) and triggers
nothing; a base named `localhost/NAME` (no port: Podman's name for an image made on the host, never
in a registry) is not checked at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping

import structlog

from reconciler.images.newer import DUE_EARLY, NewerChecks, due
from reconciler.model import DesiredState
from runtime.registry import RegistryError, parse_name

log = structlog.get_logger("reconciler.images")

LOCAL_REGISTRY = "localhost"  # Podman's prefix of images made on the host (`localhost/NAME:TAG`)

_FLAG = re.compile(r"--[A-Za-z-]+(=\S*)?")


def from_images(text: str, target: str | None = None) -> tuple[str, ...]:
    """The images a Dockerfile's `FROM` lines name, in order, each once: not a stage an earlier
    `FROM ... AS NAME` made (matched without case, as Docker's parser does), not `scratch`, not a
    reference holding a `$` (a build argument: only the builder knows its value); with `target`,
    only the stages up to that one (the classic builder builds no later stage). Lines continued
    with a backslash are joined and comment lines left out (Dockerfile reference, "Format")."""
    images: list[str] = []
    stages: set[str] = set()
    for words in _instructions(text):
        if words[0].upper() != "FROM":
            continue
        words = [w for w in words[1:] if not _FLAG.fullmatch(w)]
        if not words:
            continue
        image = words[0]
        if "$" not in image and image.lower() not in stages | {"scratch"} and image not in images:
            images.append(image)
        stage = words[2].lower() if len(words) >= 3 and words[1].upper() == "AS" else None
        if stage:
            stages.add(stage)
        if target is not None and stage == target.lower():
            break
    return tuple(images)


def _instructions(text: str) -> Iterator[list[str]]:
    """Each instruction of a Dockerfile as its words, continuation lines joined; blank lines and
    comment lines are skipped, inside a continued instruction too (Docker's parser does so)."""
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        yield (pending + stripped).split()
        pending = ""
    if pending.strip():
        yield pending.split()


def checked(ref: str) -> bool:
    """Whether a base is asked about at its registry: not a digest-pinned one (it cannot move),
    not one named `localhost/NAME` without a port (Podman's local images)."""
    return "@" not in ref and parse_name(ref).registry != LOCAL_REGISTRY


def moved(bases: Mapping[str, str], latest: Mapping[str, str]) -> str | None:
    """The reason detail of a rebuild, "base REF moved OLD -> NEW" (several joined with ", ") for
    each base whose latest digest is not the one built from; None when none moved."""
    found = [f"base {ref} moved {old} -> {latest[ref]}" for ref, old in sorted(bases.items())
             if ref in latest and latest[ref] != old]
    return ", ".join(found) or None


def pending(records: Mapping[str, Mapping]) -> dict[str, str]:
    """Build tag -> reason detail (`moved`) of each recorded build whose base moved since it was built."""
    found = {tag: moved(r.get("bases", {}), r.get("latest", {})) for tag, r in records.items()}
    return {tag: detail for tag, detail in found.items() if detail}


def pulled_builds(desired: DesiredState) -> dict[str, tuple[tuple[str, ...], float]]:
    """Build tag -> (the bases checked, the check interval in seconds) of each `build.pull = true`
    build: the shortest `pull_interval` of the containers it is built for."""
    found: dict[str, tuple[tuple[str, ...], float]] = {}
    for spec in desired.containers.values():
        if spec.build is not None and spec.build.pull:
            bases = tuple(ref for ref in spec.build.bases if checked(ref))
            _, interval = found.get(spec.build.tag, (bases, spec.pull_interval))
            found[spec.build.tag] = (bases, min(interval, spec.pull_interval))
    return found


def next_due_in(checks: NewerChecks, desired: DesiredState) -> float | None:
    """Seconds until the next base check of a `build.pull = true` build with a `pull_interval`
    comes due (0: now); None: none. The agent wakes for it as for `newer` checks."""
    records, now = checks.records.build_bases(), checks.clock()
    waits = [max(0.0, float(records.get(tag, {}).get("checked_at", 0.0)) + interval - DUE_EARLY - now)
             for tag, (bases, interval) in pulled_builds(desired).items() if bases and interval > 0]
    return min(waits, default=None)


class BaseChecks:
    """One pass's base checks, through the registry client, credentials, clock and records of the
    pass's `NewerChecks` (its `records` keep `build_bases`)."""

    def __init__(self, checks: NewerChecks) -> None:
        self.checks = checks

    def check(self, desired: DesiredState) -> dict[str, str]:
        """Ask the registry about the bases of each due build of `desired` and record the answers;
        returns build tag -> reason detail for each build to make again (whether checked now or
        found moved earlier and not built since). Records of builds no longer declared are dropped."""
        builds = pulled_builds(desired)
        if not builds:
            return {}
        records = {tag: r for tag, r in self.checks.records.build_bases().items() if tag in builds}
        now, answers = self.checks.clock(), {}
        for tag, (bases, interval) in builds.items():
            record = records.get(tag)
            if not bases or not due(record, interval, now):
                continue
            found = {ref: digest for ref in bases if (digest := self._digest(ref, answers))}
            built_from = dict(record.get("bases", {})) if record else {}
            records[tag] = {"checked_at": now, "bases": {**found, **built_from},
                            "latest": {**(record or {}).get("latest", {}), **found}}
        self.checks.records.save_build_bases(records)
        rebuild = pending(records)
        for tag, detail in rebuild.items():
            log.info("build.base_moved", build=tag, moved=detail)
        return rebuild

    def built(self, tags: Iterable[str]) -> None:
        """After builds of `tags` succeeded (and their containers with them): each was built from
        its bases' latest digests."""
        records = self.checks.records.build_bases()
        made = [tag for tag in tags if tag in records]
        for tag in made:
            record = records[tag]
            records[tag] = {**record, "bases": {**record.get("bases", {}), **record.get("latest", {})}}
        if made:
            self.checks.records.save_build_bases(records)

    def _digest(self, ref: str, answers: dict[str, str | None]) -> str | None:
        """The registry's digest for `ref` (asked once a pass), or None when it could not answer."""
        if ref not in answers:
            try:
                answers[ref] = self.checks.client.digest(ref, self.checks.credentials(ref))
            except RegistryError as error:
                log.warning("build.base_check_failed", ref=ref, error=str(error))
                answers[ref] = None
        return answers[ref]
