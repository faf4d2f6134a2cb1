"""`reconciler apply`."""

import sys


def run(args) -> int:
    print("reconciler apply: not implemented yet", file=sys.stderr)
    return 1
