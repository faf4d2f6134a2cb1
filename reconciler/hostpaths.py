"""What the host lacks for a pass: long-form bind sources that do not exist (an observation, I/O).

Compose's long syntax (`{ type = "bind", source, target }`) asks the engine to refuse a missing
host path, where the short form (`"/host:/ctr"`) has it created. When the engine runs on this
host (a unix socket), the missing path is found here, before anything runs, and the plan blocks
the container with FILE:LINE; on a remote engine the host is not ours to look at, and the
engine's own refusal comes at apply (with the file and line of the container).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from reconciler.model import ContainerSpec
from runtime.host_cgroups import is_local


def missing_bind_sources(containers: Iterable[ContainerSpec], engine: str | None) -> frozenset[str]:
    """Host paths of long-form binds that do not exist, when the engine is local; else empty."""
    if not is_local(engine):
        return frozenset()
    sources = {m.source for spec in containers for m in spec.mounts
               if m.type == "bind" and m.source and not m.create_host_path}
    return frozenset(path for path in sources if not os.path.exists(path))
