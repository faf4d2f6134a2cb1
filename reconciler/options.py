"""The rules of one pass, as one value: everything `diff` and `plan` decide with beyond the
desired and observed state. Built by `apply`, `plan` and the agent; read only by the planner."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from reconciler.fielddiff import AppliedRecords
from reconciler.model import FORM, ContainerSpec


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
    - `not_due`: `pull = "newer"` image references whose `pull_interval` has not passed since
      their last registry check: not checked this pass.
    - `moved`: image reference -> "OLD -> NEW" digests, for the `newer` images this pass found
      moved at their registry and pulled: the reason their containers are replaced.
    - `rebuild`: build tag -> "base REF moved OLD -> NEW", for the `build.pull = true` builds whose
      `FROM` image moved at its registry since they were built (`images.bases`): built again, and
      their containers replaced with the reason "image rebuilt: ...".
    - `pushed`: image reference -> the image id last pushed there, for `push = true` builds (the
      state directory's push records, see `images.pushes`): a built image not pushed as that id is
      pushed by a change of its own.
    - `missing_paths`: long-form bind sources this host lacks (see `hostpaths`): a create or
      replacement that needs one is blocked.
    - `revision`: the git revision (a full sha) the desired state was read at: what is created
      carries it in a label, outside the spec hash (None in directory mode).
    - `quarantined`: "container/web" -> why its replacement is quarantined ("revision abc123 failed
      for web: ...; running the previous container"): the replacement is blocked with that reason
      and the container that serves stays untouched (see `agent.quarantine`).
    - `last_applied`: "container/web" -> the spec its serving container was created with, for the
      quarantined keys whose record could be restored: when nothing holds the name any more (removed
      by hand), it is that spec that is created again, not the quarantined one; a quarantined key
      missing here is not healed (blocked).
    - `retired`: "container/web" -> the last spec known of a container no longer declared: its
      pre_stop hooks run before it is removed (none when it is missing here).
    - `adopt`: what `--adopt` names, "kind/name" or a bare name (any kind): taken over when an
      unowned resource holds the name, as `adopt = true` asks (reconciler.adoption).
    - `adopted`: "volume/data" -> the engine id it was adopted as (a volume's CreatedAt), from the
      state directory's adoption records: the volumes and networks that count as ours.
    - `applied_records`: the last-applied records by container id, with the secret values and key to
      hide the desired specs' secrets with: a replacement whose container has one carries its
      per-field diff (`Change.diff`); None (or no record): only the changed keys are known.
    - `form`: the canonical form the containers a pass creates are hashed and labelled at:
      `model.FORM`, or `model.FORM_WITHOUT_UPDATE` on an engine without an update call (set by
      `converge.make_plan` from the observation; see `reconciler.inplace`).
    """

    prune_volumes: bool = False
    allow_empty: bool = False
    held: Mapping[str, str] = field(default_factory=dict)
    invalid_files: frozenset[str] = frozenset()
    completed: Mapping[str, str] = field(default_factory=dict)
    pulled: frozenset[str] = frozenset()
    missing_paths: frozenset[str] = frozenset()
    not_due: frozenset[str] = frozenset()
    moved: Mapping[str, str] = field(default_factory=dict)
    rebuild: Mapping[str, str] = field(default_factory=dict)
    pushed: Mapping[str, str] = field(default_factory=dict)
    revision: str | None = None
    quarantined: Mapping[str, str] = field(default_factory=dict)
    last_applied: Mapping[str, ContainerSpec] = field(default_factory=dict)
    # the folder secret and config files are written to (`grantfiles`); None: none can be, and
    # `files_refused` says why (a container that mounts one is blocked)
    files_folder: str | None = None
    files_refused: str | None = None
    # the uid and gid every file must have (a process that is not root cannot chown); None: any
    files_owner: tuple[int, int] | None = None
    retired: Mapping[str, ContainerSpec] = field(default_factory=dict)
    adopt: frozenset[str] = frozenset()
    adopted: Mapping[str, str] = field(default_factory=dict)
    # the last-applied records a replacement's per-field diff is computed from (reconciler.fielddiff)
    applied_records: AppliedRecords | None = None
    form: int = FORM


DEFAULT = PlanOptions()
