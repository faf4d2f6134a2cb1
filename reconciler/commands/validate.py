"""`reconciler validate [DIR] [--env-file FILE]`: exit 0 when DIR is a valid desired state, 1 if not.

Problems go to stderr as FILE:LINE: key.path: message (warnings prefixed "warning: "); a valid
directory gets a one-line summary on stdout.
"""

from __future__ import annotations

import sys
from pathlib import Path

from reconciler.desired.loader import load


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def run(args) -> int:
    result = load(Path(args.dir), env_file=args.env_file)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for error in result.errors:
        print(error, file=sys.stderr)
    if result.state is None:
        print(f"invalid: {_plural(len(result.errors), 'error')}", file=sys.stderr)
        return 1
    state = result.state
    print(f"ok: {_plural(len(state.containers), 'container')}, {_plural(len(state.networks), 'network')}, "
          f"{_plural(len(state.volumes), 'volume')} in {_plural(len(result.files), 'file')}")
    return 0
