"""`reconciler validate`."""

import sys


def run(args) -> int:
    print("reconciler validate: not implemented yet", file=sys.stderr)
    return 1
