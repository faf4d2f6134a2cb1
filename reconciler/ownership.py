"""What this namespace owns, and how an owned resource is recognised: labels, nothing else."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping

from reconciler.model import (
    FORM,
    LABEL_FORM,
    LABEL_MANAGED,
    LABEL_NAME,
    LABEL_SOURCE,
    LABEL_SPEC_HASH,
    LABEL_SPEC_KEYS,
    Spec,
    hash_matches,
    spec_hash_at,
    spec_keys,
)
from runtime.base import ObservedContainer

NEXT_SUFFIX = "--next-"
PREV_SUFFIX = "--prev-"


def owned_labels(spec: Spec, namespace: str, form: int = FORM) -> dict[str, str]:
    """The labels every resource this project creates carries; its spec hash and keys as canonical
    form `form` computes them (an older one on an engine without an update call: see `model`)."""
    return {
        LABEL_MANAGED: namespace,
        LABEL_NAME: spec.name,
        LABEL_SPEC_HASH: spec_hash_at(spec, form),
        LABEL_SPEC_KEYS: json.dumps(spec_keys(spec, form), sort_keys=True, separators=(",", ":")),
        LABEL_SOURCE: spec.source.file,
        LABEL_FORM: str(form),
    }


def logical_name(labels: Mapping[str, str], engine_name: str) -> str:
    """The desired name a resource stands for, even while it carries a temporary name."""
    return labels.get(LABEL_NAME) or engine_name


def recorded_keys(labels: Mapping[str, str], label: str = LABEL_SPEC_KEYS) -> dict[str, str]:
    """The JSON object a label holds (by default the spec's keys and their short hashes); {} when
    it is missing or not an object."""
    try:
        keys = json.loads(labels.get(label, "{}"))
    except ValueError:
        return {}
    return keys if isinstance(keys, dict) else {}


def next_name(name: str, replaced_id: str) -> str:
    """The temporary name of a replacement while the container it replaces still holds `name`."""
    return f"{name}{NEXT_SUFFIX}{replaced_id[:12]}"


def prev_name(name: str, container_id: str) -> str:
    """The temporary name of a replaced container until the replacement is confirmed."""
    return f"{name}{PREV_SUFFIX}{container_id[:12]}"


def image_volume_name(container: str, path: str) -> str:
    """The owned volume that holds an image-declared `VOLUME` path of a container: the container's
    name and the path, e.g. `db` and `/var/lib/data` -> `db_var_lib_data` (as Compose names a
    project's volumes `project_name`). Characters a volume name cannot hold become `-`."""
    slug = re.sub(r"[^a-zA-Z0-9_.-]", "-", path.strip("/").replace("/", "_")) or "root"
    return f"{container}_{slug}"


def winner(candidates: Iterable[ObservedContainer], desired: Spec | None) -> ObservedContainer:
    """Among several containers standing for one name, the one to keep: the stable rule is
    spec hash match first (as the form each was made at hashes `desired`), then the newest, then
    the highest id; never the engine's list order."""
    return max(
        candidates,
        key=lambda c: (desired is not None and hash_matches(c.labels, desired), c.created, c.id),
    )
