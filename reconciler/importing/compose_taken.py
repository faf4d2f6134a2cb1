"""The engine resources that already hold the names an import writes, sorted by what the import
may do with them: a resource no reconciler namespace owns can be adopted (`adopt = true`, or
`apply --adopt`, docs/adoption.md); one another namespace owns never is (it stays a conflict).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reconciler.model import LABEL_MANAGED
from runtime.base import ObservedState


@dataclass(frozen=True)
class Taken:
    """kind ("container", "network", "volume") -> names: `adoptable` held by a resource no
    namespace owns; `owned` held by one another namespace owns (name -> that namespace)."""

    adoptable: dict[str, set[str]] = field(default_factory=dict)
    owned: dict[str, dict[str, str]] = field(default_factory=dict)

    def notes(self, adoptable: bool) -> list[str]:
        """One line per name: how to take it over (when `adoptable`: the import did not mark it),
        or why it cannot be."""
        lines = []
        for kind, names in sorted(self.adoptable.items() if adoptable else ()):
            for name in sorted(names):
                handle = name if kind == "container" else f"{kind}/{name}"
                lines.append(f"{kind} {name} exists and no namespace owns it: `apply --adopt {handle}` takes it "
                             "over (docs/adoption.md); apply refuses the name otherwise")
        for kind, owners in sorted(self.owned.items()):
            for name, owner in sorted(owners.items()):
                lines.append(f"{kind} {name} is owned by namespace {owner!r}: it cannot be adopted; rename it here")
        return lines


def taken(observed: ObservedState) -> Taken:
    """The names `observed.unowned` lists, split by whether another namespace owns the holder."""
    holders = {("container", c.observed.name): c.observed.labels for c in observed.unowned_containers}
    holders |= {("network", n.name): n.labels for n in observed.unowned_networks}
    holders |= {("volume", v.name): v.labels for v in observed.unowned_volumes}
    found = Taken()
    for kind, names in observed.unowned.items():
        for name in names:
            owner = holders.get((kind, name), {}).get(LABEL_MANAGED)
            if owner:
                found.owned.setdefault(kind, {})[name] = owner
            else:
                found.adoptable.setdefault(kind, set()).add(name)
    return found
