"""A rendered ServiceSpec against the one the engine holds: which of the paths the rendering sets
differ. Pure.

Swarm hands a spec back as it was given, with its own additions (`TaskTemplate.ForceUpdate`,
`EndpointSpec.Mode`, `ContainerSpec.Isolation`, ...) and with Go's `omitempty` dropping zero
values (`UpdateConfig.Delay: 0` comes back absent). So only the paths the rendering sets are
compared, and null, "", 0, false, [] and {} all mean "not set" on either side.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Maps whose keys are the user's (labels, sysctls, driver options): compared whole, so that a key
# added by hand is a difference; the service's own `Labels` are compared key by key (other tools
# may label a service; the spec-hash label already tells an edit of the user's labels).
_WHOLE = frozenset({"Labels", "Sysctls", "Options"})


def differences(rendered: Mapping[str, Any], observed: Mapping[str, Any]) -> list[str]:
    """Dotted paths (`Mode.Replicated.Replicas`, `TaskTemplate.ContainerSpec.Mounts[0].Source`,
    `Labels.io.reconciler.spec-hash`) where `observed` differs from `rendered`, in rendering order."""
    return _walk(rendered, observed, "", top=True)


def _walk(rendered: Mapping[str, Any], observed: Any, prefix: str, top: bool = False) -> list[str]:
    have = observed if isinstance(observed, Mapping) else {}
    found: list[str] = []
    for key, want in rendered.items():
        path = f"{prefix}{key}"
        if top and key == "Labels":
            found += [f"{path}.{k}" for k, v in want.items() if not _same(v, (have.get(key) or {}).get(k))]
        else:
            found += _differ(want, have.get(key), path, key)
    return found


def _differ(want: Any, have: Any, path: str, key: str) -> list[str]:
    if want == have:  # (most of a converged service: nothing below can differ)
        return []
    if isinstance(want, Mapping) and key not in _WHOLE and not _empty(want):
        return _walk(want, have, path + ".")
    if _records(want) and _records(have) and len(want) == len(have):
        return [p for i, (w, h) in enumerate(zip(want, have, strict=True)) for p in _walk(w, h, f"{path}[{i}].")]
    return [] if _same(want, have) else [path]


def _records(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _empty(value: Any) -> bool:
    return value is None or value is False or value == 0 or (isinstance(value, str | list | tuple | Mapping)
                                                             and not value)


def _plain(value: Any) -> Any:
    """`value` with every unset part (see `_empty`) dropped: what equality is judged on."""
    if _empty(value):
        return None
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items() if not _empty(v)}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _same(want: Any, have: Any) -> bool:
    return _plain(want) == _plain(have)
