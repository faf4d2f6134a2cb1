"""Loading and validation: desired-state files in, a `DesiredState` or located problems out.

The face of this package is the loader's: `load(root)` reads a whole directory, `load_file` and
`combine` let the agent keep last-known-good content per file. The other modules are its stages:
discover, parse (`locate` for line numbers), interpolate, schema, normalise (`forms`, `units`,
`envfile`), references; `problems` is the error vocabulary they share.
"""

from reconciler.desired.loader import (
    FileDecl,
    LoadResult,
    combine,
    discover,
    environment,
    is_desired_file,
    load,
    load_file,
)
from reconciler.desired.problems import LoadFailure, Problem

__all__ = [
    "FileDecl",
    "LoadFailure",
    "LoadResult",
    "Problem",
    "combine",
    "discover",
    "environment",
    "is_desired_file",
    "load",
    "load_file",
]
