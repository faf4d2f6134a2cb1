"""`reconciler status`."""

import sys


def run(args) -> int:
    print("reconciler status: not implemented yet", file=sys.stderr)
    return 1
