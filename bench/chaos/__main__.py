"""python -m bench.chaos --seed N --duration S [--json]: the fault campaign against `reconciler run`
(docs/chaos.md). Exit 0 on a valid run without violations, 1 otherwise."""

from __future__ import annotations

import argparse
import json
import signal
import sys

import docker

from bench.chaos import oracle, report
from bench.chaos.campaign import Campaign, Options, SetupFailed


def parse(argv: list[str]) -> tuple[Options, bool]:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of faults (default 600)")
    parser.add_argument("--min-per-kind", type=int, default=5,
                        help="fewer faults of any kind make the run invalid (default 5)")
    parser.add_argument("--grace", type=float, default=oracle.GRACE,
                        help="seconds after a file breaks in which a create or destroy is not counted")
    parser.add_argument("--keep", action="store_true", help="keep the files and the agent's log")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    return Options(args.seed, args.duration, args.min_per_kind, args.grace, args.keep), args.json


def interrupted(*_) -> None:
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    options, as_json = parse(argv)
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)  # also where a shell started it with SIGINT ignored
    campaign = Campaign(options, docker.from_env(timeout=60))
    try:
        campaign.run()
    except SetupFailed as error:
        print(f"chaos: setup failed: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("chaos: interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        campaign.close()
    result = report.build(campaign)
    print(json.dumps(result, indent=2) if as_json else report.text(result))
    return 0 if result["passed"] else 1


sys.exit(main(sys.argv[1:]))
