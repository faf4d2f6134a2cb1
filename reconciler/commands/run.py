"""`reconciler run`."""

import sys


def run(args) -> int:
    print("reconciler run: not implemented yet", file=sys.stderr)
    return 1
