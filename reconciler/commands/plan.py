"""`reconciler plan`."""

import sys


def run(args) -> int:
    print("reconciler plan: not implemented yet", file=sys.stderr)
    return 1
