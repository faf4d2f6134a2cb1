"""Compose's names for our keys: a container may write `pull_policy`, `stop_grace_period`,
`mem_limit`, `mem_reservation`, `cpus`, `pids_limit`, `shm_size`, `environment` and `volumes`
(Compose's service keys) for `pull`/`pull_interval`, `stop_timeout`, `resources.*`, `env` and
`mounts`. `resolve` rewrites a container body to our names before it is normalised, so the rest
of the loader sees one name per key; the problems found later at our name are placed at the alias
the file wrote (`FileReport.renamed`).

Rules: both names of one key in one container is an error at the alias naming both lines; every
problem in an alias's value is reported at the alias's key path and line; a value the schema or
interpolation already refused at the alias is not checked again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.desired.problems import FileReport, Path_, dotted
from reconciler.desired.units import duration, is_duration

_DAY = 24 * 3600
# compose-spec schema/compose-spec.json, pull_policy: every_([0-9]+[wdhms])+
_COMPOSE_INTERVAL = re.compile(r"([0-9]+[wdhms])+")
_INTERVAL_PART = re.compile(r"([0-9]+)([wdhms])")
_UNIT = {"w": 7 * _DAY, "d": _DAY, "h": 3600, "m": 60, "s": 1}


def pull_policy(value: str, body: dict) -> dict[Path_, Any]:
    """Compose's `pull_policy` -> {("pull",): ..., ("pull_interval",): ...}. `always`, `never`,
    `missing` are ours; `if_not_present` is `missing`; `build` (needs `build`) builds and never
    pulls: `never`; `daily`, `weekly` and `every_<duration>` (Compose's form `every_([0-9]+[wdhms])+`,
    weeks and days among its units: `every_2w`, `every_1d12h`; or one of our durations; more than
    0) ask the registry for a newer image at most that often: `pull = "newer"` with `pull_interval`.
    `refresh` is in Compose's schema but not in its specification's text (05-services.md defines
    no meaning for it), so it is refused with that reason. Raises ValueError naming the problem."""
    simple = {"always": "always", "never": "never", "missing": "missing", "if_not_present": "missing"}
    if value in simple:
        return {("pull",): simple[value]}
    if value == "build":
        if "build" not in body:
            raise ValueError('"build" needs a build table: it builds the image and never pulls it')
        return {("pull",): "never"}
    if value in ("daily", "weekly"):
        return {("pull",): "newer", ("pull_interval",): _DAY * (1 if value == "daily" else 7)}
    if value == "refresh":
        raise ValueError('"refresh" has no meaning yet: Compose\'s specification names it in its schema only. '
                         'Write pull_policy = "every_<duration>" (or pull = "newer" with pull_interval)')
    interval = value.removeprefix("every_")
    if interval == value:
        raise ValueError(f'"{value}" is not a pull policy')
    written = _every(interval)
    if written is None:
        raise ValueError(f'"{value}": every_ needs a duration after it, e.g. every_12h, every_1d or every_1h30m')
    if duration(written) == 0:
        raise ValueError(f'"{value}": the interval must be more than 0')
    return {("pull",): "newer", ("pull_interval",): written}


def _every(interval: str) -> int | str | None:
    """The `pull_interval` of `every_<duration>`: whole seconds in Compose's form (whole numbers of
    w, d, h, m, s: "2w", "1d12h"), else one of our durations as written ("1.5h"); None for neither."""
    if _COMPOSE_INTERVAL.fullmatch(interval):
        return sum(int(number) * _UNIT[unit] for number, unit in _INTERVAL_PART.findall(interval))
    return interval if is_duration(interval) else None


@dataclass(frozen=True)
class Alias:
    """Compose's name `name` for our key(s) `targets`. A rename (one target, `convert` None) moves
    the value as written; otherwise `convert(value, body)` gives the value of each target."""

    name: str
    targets: tuple[Path_, ...]
    convert: Callable[[Any, dict], dict[Path_, Any]] | None = None

    @property
    def rename(self) -> bool:
        return self.convert is None


ALIASES = {alias.name: alias for alias in (
    Alias("pull_policy", (("pull",), ("pull_interval",)), pull_policy),
    Alias("stop_grace_period", (("stop_timeout",),)),
    Alias("mem_limit", (("resources", "memory"),)),
    Alias("mem_reservation", (("resources", "memory_reservation"),)),
    Alias("cpus", (("resources", "cpus"),)),
    Alias("pids_limit", (("resources", "pids_limit"),)),
    Alias("shm_size", (("resources", "shm_size"),)),
    Alias("environment", (("env",),)),
    Alias("volumes", (("mounts",),)),
)}


def _present(body: dict, path: Path_) -> bool:
    for key in path:
        if not isinstance(body, dict) or key not in body:
            return False
        body = body[key]
    return True


def _put(body: dict, path: Path_, value: Any) -> None:
    """Set `value` at `path` of `body`, copying each table on the way (the document is not changed)."""
    if len(path) == 1:
        body[path[0]] = value
        return
    current = body.get(path[0])
    inner = dict(current) if isinstance(current, dict) else {}  # not a table: the schema reported it
    body[path[0]] = inner
    _put(inner, path[1:], value)


def _below(path: Path_, prefix: Path_) -> bool:
    return path[: len(prefix)] == prefix


def resolve(report: FileReport, at: Path_, body: dict, failed: Collection[Path_]) -> tuple[dict, list[Path_]]:
    """(the container body at `at` with each alias replaced by our key(s), the `failed` paths (within
    the container) moved along). An alias written next to a key it names is reported at the alias
    and left out (and so are the keys next to a converted alias that it names: `pull_interval` next
    to `pull_policy` means nothing without it); so is a value `convert` refuses. A value that failed before (schema,
    interpolation) stays reported at the alias: a rename moves it to our key as failed, so it is
    left out and not checked twice. Each rename applied is recorded in `report.renamed`."""
    body, failed = dict(body), list(failed)
    for alias in (ALIASES[key] for key in list(body) if key in ALIASES):
        value = body.pop(alias.name)
        both = [target for target in alias.targets if _present(body, target)]
        if both:
            written = report.line_of((*at, *both[0]))
            line = f" (line {written})" if written else ""
            report.error((*at, alias.name), f"{alias.name} and {dotted(both[0])}{line} are two names of one key: "
                                            "keep one")
            failed.append((alias.name,))
            if not alias.rename:  # what it names means something only with the alias's value: unchecked
                failed.extend(both)
            continue
        if alias.rename:
            target = alias.targets[0]
            failed = [(*target, *path[1:]) if _below(path, (alias.name,)) else path for path in failed]
            _put(body, target, value)
            report.renamed[(*at, *target)] = (*at, alias.name)
            continue
        if any(_below(path, (alias.name,)) for path in failed):
            continue
        assert alias.convert is not None
        try:
            converted = alias.convert(value, body)
        except ValueError as error:
            report.error((*at, alias.name), str(error))
            failed.append((alias.name,))
            continue
        for target, item in converted.items():
            _put(body, target, item)
            report.renamed[(*at, *target)] = (*at, alias.name)
    return body, failed


def written_aliases(lines: Mapping[Path_, int]) -> dict[Path_, Path_]:
    """Our key path -> the alias's, for each alias a file wrote (`lines`: its key paths, as
    `locate.key_lines` finds them), as `resolve` records them in `FileReport.renamed`: so a problem
    found later at our key (`resources.shm_size`) is placed at the alias the file wrote (`shm_size`)."""
    renamed: dict[Path_, Path_] = {}
    for path in lines:
        if len(path) == 3 and path[0] == "container" and path[2] in ALIASES:
            renamed.update({(*path[:2], *target): path for target in ALIASES[path[2]].targets})
    return renamed
