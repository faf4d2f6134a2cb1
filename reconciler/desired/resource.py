"""The builder of one resource of a file: its body with the values that already failed left out,
and the means to convert the rest key by key, reporting each problem at its FILE:LINE: key and
carrying on. Used by `normalize` (containers) and `networks` (networks and volumes)."""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Collection, Iterable, Iterator
from pathlib import Path
from typing import Any

from reconciler.desired import forms
from reconciler.desired.inclear import refuse_env_file_values
from reconciler.desired.problems import FileReport, Path_
from reconciler.model import LABEL_PREFIX, SWARM_LABEL_PREFIX, Source

# Lists converted item by item (with `Resource.each`): a failed item is skipped, the rest checked.
_ITEMWISE = frozenset({"ports", "mounts", "devices", "dns", "extra_hosts", "cap_add", "cap_drop", "security_opt",
                       "secrets", "configs", "post_start", "pre_stop", "dns_search", "dns_opt", "expose", "group_add",
                       "gpus", "tmpfs", "device_cgroup_rules"})
# Tables left out whole when anything in them failed: logging needs its driver, and nothing in it
# is checked here.
_WHOLE = frozenset({"logging"})


def checkable(body: dict, failed: Iterable[Path_]) -> dict:
    """The body without the values that failed the schema or interpolation (already reported), so
    that everything else in the resource is still checked: a failed entry of a table is left out
    of the table, a failed item of an `_ITEMWISE` list stays (`each` skips it), and any other
    failed value is left out whole."""
    body = dict(body)
    for at in failed:
        if not at or at[0] not in body:
            continue
        value = body[at[0]]
        if len(at) > 1 and isinstance(value, dict) and at[0] not in _WHOLE:
            body[at[0]] = {key: item for key, item in value.items() if key != at[1]}
        elif not (len(at) > 1 and isinstance(value, list) and at[0] in _ITEMWISE):
            del body[at[0]]
    return body


# The label prefixes a file may not declare, and whose they are: the reconciler's own labels, and
# Swarm's (Docker reserves com.docker.* for its own use: docs.docker.com, "Docker object labels";
# what carries a `com.docker.swarm.` label is Swarm's, `model.held_by_swarm`).
RESERVED_LABEL_PREFIXES = {LABEL_PREFIX: "the reconciler", SWARM_LABEL_PREFIX: "Swarm"}


def reserved_label(key: str) -> str | None:
    """Why a declared label key is refused ("the label prefix 'P' is reserved for OWNER"), or None."""
    for prefix, owner in RESERVED_LABEL_PREFIXES.items():
        if key.startswith(prefix):
            return f"the label prefix '{prefix}' is reserved for {owner}"
    return None


class Resource:
    """Builds one resource, reporting every problem at its key and carrying on with the rest.

    `failed` are the paths (within the resource) of the problems found before normalisation
    (schema, interpolation): those values are left out of `body`, and the resource is not ok."""

    def __init__(self, report: FileReport, path: Path_, body: dict, base: Path, failed: Collection[Path_] = ()):
        self.report, self.path, self.written, self.base = report, path, body, base
        self.body = checkable(body, failed)
        self.failed_items = frozenset(at[:2] for at in failed if len(at) > 1 and isinstance(at[1], int))
        self.failed_before = bool(failed)
        self.errors_before = len(report.errors)

    @property
    def ok(self) -> bool:
        return not self.failed_before and len(self.report.errors) == self.errors_before

    def error(self, key: str | Path_, message: str) -> None:
        self.report.error((*self.path, *((key,) if isinstance(key, str) else key)), message)

    def convert(self, key: str | Path_, function: Callable[..., Any], *args: Any) -> Any:
        """function(the value at key, *args), or None (reported at key) when it raises ValueError.
        A tuple key is a path into the body: `("healthcheck", "interval")`."""
        path = (key,) if isinstance(key, str) else key
        try:
            return function(functools.reduce(operator.getitem, path, self.body), *args)
        except ValueError as error:
            self.error(path, str(error))
            return None

    def converted(self, table: str, keys: tuple[str, ...], function: Callable[..., Any]) -> dict[str, Any]:
        """{key: function(value)} for each of `keys` present in the table `table` of the body, as
        `convert` does it; a key whose value fails is left out (and reported)."""
        present = [key for key in keys if key in self.body.get(table, {})]
        values = {key: self.convert((table, key), function, key) for key in present}
        return {key: value for key, value in values.items() if value is not None}

    def indexed(self, key: str, function: Callable[..., Any], *args: Any) -> Iterator[tuple[int, Any]]:
        """(index, function(item, *args)) for each item of the list at key, reporting each failure
        at its index; items that failed before normalisation are skipped."""
        for index, item in enumerate(self.body.get(key, ())):
            if (key, index) in self.failed_items:
                continue
            try:
                yield index, function(item, *args)
            except ValueError as error:
                self.error((key, index), str(error))

    def each(self, key: str, function: Callable[..., Any], *args: Any) -> tuple:
        """function(item, *args) for each item of the list at key, as `indexed` does it."""
        return tuple(result for _, result in self.indexed(key, function, *args))

    def labels(self) -> dict[str, str]:
        refuse_env_file_values(self, "labels")
        labels = forms.string_map(self.body.get("labels", {}))
        for key in labels:
            if (reserved := reserved_label(key)) is not None:
                self.error(("labels", key), reserved)
        return labels

    def source(self) -> Source:
        return Source(self.report.file, self.report.line_of(self.path))

    def hosts(self) -> tuple[str, ...]:
        """The host id patterns it is for (the schema checked them); () is every host."""
        return tuple(self.body.get("hosts", ()))
