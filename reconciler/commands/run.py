"""`reconciler run`: the agent. Converges on start, then on every change, until SIGTERM/SIGINT."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from reconciler.agent.lock import Locked, acquire, lock_path
from reconciler.agent.loop import Agent
from reconciler.agent.status import Status, StatusServer, default_status_file
from reconciler.commands.context import setup
from reconciler.desired.units import duration
from runtime import connect


def run(args) -> int:
    setup(args)
    try:
        interval = duration(args.interval)
    except ValueError as error:
        print(f"error: --interval: {error}", file=sys.stderr)
        return 1
    try:
        acquire(lock_path(args.namespace, args.engine))
    except (Locked, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    status = Status(args.namespace, args.dir, interval, args.status_file or default_status_file(args.namespace))
    try:
        server = StatusServer(status, args.status_addr)
    except (OSError, ValueError) as error:
        print(f"error: --status-addr {args.status_addr}: {error}", file=sys.stderr)
        return 1
    agent = Agent(Path(args.dir), connect(args.engine), args.namespace, status, interval, args.env_file,
                  args.allow_empty)
    signal.signal(signal.SIGTERM, lambda *_: agent.stop("SIGTERM"))
    signal.signal(signal.SIGINT, lambda *_: agent.stop("SIGINT"))
    signal.signal(signal.SIGHUP, lambda *_: agent.trigger.fire("SIGHUP"))
    server.start()
    try:
        return agent.run()
    finally:
        server.stop()
