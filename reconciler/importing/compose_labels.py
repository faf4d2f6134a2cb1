"""A Compose `labels` value (a service's, a network's, a volume's) carried into a file, the keys
a desired-state file may not declare left out with a note: the reconciler's `io.reconciler.` and
Swarm's `com.docker.swarm.` (`reconciler.desired.resource.reserved_label`), which validate refuses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.desired.resource import reserved_label
from reconciler.importing.compose_values import Scope
from reconciler.importing.project import ModelPath


def carry_labels(scope: Scope, path: ModelPath, value: Any, node: Mapping[str, Any]) -> Any:
    """`value` (Compose's mapping or its list of "KEY=VALUE") through `scope.carry` (clear: the
    engine shows labels to anyone who inspects), each reserved key skipped with the reason validate
    would give; None when nothing is left."""
    if isinstance(value, Mapping):
        kept = {key: item for key, item in value.items() if not _reserved(scope, (*path, key), str(key))}
        return scope.carry(path, kept, node, clear=True) if kept else None
    if isinstance(value, list):
        kept_at = [index for index, item in enumerate(value)
                   if not _reserved(scope, (*path, index), str(item).partition("=")[0])]
        carried = [scope.carry((*path, index), value[index], clear=True) for index in kept_at]  # strings
        return [item for item in carried if item is not None] or None
    return scope.carry(path, value, node, clear=True)


def _reserved(scope: Scope, path: ModelPath, key: str) -> bool:
    if (why := reserved_label(key)) is None:
        return False
    scope.skip(path, why)
    return True

