"""The rules of one pass, as one value: everything `diff` and `plan` decide with beyond the
desired and observed state. Built by `apply`, `plan` and the agent; read only by the planner."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class PlanOptions:
    """What a pass may do and what it must hold back.

    - `prune_volumes`: remove owned volumes no longer declared (`--prune-volumes`).
    - `allow_empty`: allow removing every owned container when none is declared (`--allow-empty`).
    - `held`: "kind/name" -> why the agent holds it back this pass ("backoff until 12:03:04Z",
      "crash loop: ..."); a held resource and whatever comes after it are shown blocked and skipped.
    - `invalid_files`: desired files (relative paths) that exist but do not validate. While any is
      invalid no removal runs, and every resource whose file (declared source, or the `source`
      label of what the engine holds) is invalid is frozen (DESIGN section 6).
    - `completed`: container name -> the spec hash it last ran to completion with (exit 0), from the
      state directory: a `state = "completed"` container with that hash is done even when the
      engine no longer holds it.
    - `pulled`: image references already pulled or checked in this pass, not to be pulled again.
    - `missing_paths`: long-form bind sources this host lacks (see `hostpaths`): a create or
      replacement that needs one is blocked.
    """

    prune_volumes: bool = False
    allow_empty: bool = False
    held: Mapping[str, str] = field(default_factory=dict)
    invalid_files: frozenset[str] = frozenset()
    completed: Mapping[str, str] = field(default_factory=dict)
    pulled: frozenset[str] = frozenset()
    missing_paths: frozenset[str] = frozenset()


DEFAULT = PlanOptions()
