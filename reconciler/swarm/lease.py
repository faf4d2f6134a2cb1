"""The lease that lets one agent per cluster and namespace change a Swarm (docs/swarm.md).

Two agents against one cluster would fight over every service; the one holding the lease acts,
the others plan and change nothing. The lease is the Swarm config `reconciler-lease-<namespace>`:
only a config's labels can change, so its holder and expiry live there
(`io.reconciler.lease-holder`, `io.reconciler.lease-expires`, unix seconds), written with the
config's version index (`SwarmRuntime.read_lease` / `write_lease`): two agents writing at once,
one wins and the other gets Conflict. The holder renews it every RENEW_EVERY seconds by pushing
its expiry to now + TTL; another agent takes it over only once that expiry has passed, that is
TTL seconds after the last renewal. A stopped agent releases nothing: its lease simply expires.

`decide` is the rule, pure; `Leases` keeps it on an engine, for one holder.
"""

from __future__ import annotations

import enum
import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from runtime.base import Conflict, EngineError
from runtime.swarm_base import Lease, SwarmRuntime

log = structlog.get_logger()

TTL = 30.0  # seconds a lease lasts after its last renewal
RENEW_EVERY = 10.0  # seconds between two renewals by its holder


class Move(enum.Enum):
    TAKE = "take"  # nobody holds it (none yet, or expired): write it with us as holder
    RENEW = "renew"  # ours, and a renewal is due: push its expiry forward
    KEEP = "keep"  # ours, renewed recently enough: nothing to write
    WAIT = "wait"  # another agent holds it until `until`


@dataclass(frozen=True)
class Decision:
    move: Move
    holder: str = ""  # who holds it (WAIT)
    until: float = 0.0  # when its hold expires, unix seconds (WAIT)


def decide(lease: Lease | None, me: str, now: float, ttl: float = TTL, renew_every: float = RENEW_EVERY) -> Decision:
    """What holder `me` does at `now` (unix seconds) about `lease` (None: there is none yet):
    TAKE it when there is none or its expiry has passed; RENEW our own once `renew_every` seconds
    have gone since its last renewal (its expiry minus `ttl`), else KEEP it; WAIT while another
    holds it unexpired."""
    if lease is None:
        return Decision(Move.TAKE)
    if lease.holder == me:
        return Decision(Move.RENEW if now >= lease.expires - ttl + renew_every else Move.KEEP)
    if now >= lease.expires:
        return Decision(Move.TAKE)
    return Decision(Move.WAIT, lease.holder, lease.expires)


def lease_name(namespace: str) -> str:
    """The config that holds the lease of `namespace`."""
    return f"reconciler-lease-{namespace}"


def holder_id() -> str:
    """This process as a lease holder: host name, pid and a random suffix (two agents started on
    one host with the same pid, in two containers, still differ)."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}"


def waiting(holder: str, until: float) -> str:
    """Why an agent that does not hold the lease changes nothing: 'lease held by H until T' (UTC)."""
    return f"lease held by {holder} until {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(until))}"


class Leases:
    """The lease of `namespace` on a Swarm manager, for `holder`; `clock` gives unix seconds (the
    expiry is compared across hosts, so it is wall time, not a monotonic clock)."""

    def __init__(self, runtime: SwarmRuntime, namespace: str, holder: str, clock: Callable[[], float] = time.time,
                 ttl: float = TTL, renew_every: float = RENEW_EVERY) -> None:
        self.runtime = runtime
        self.name = lease_name(namespace)
        self.holder = holder
        self.clock = clock
        self.ttl = ttl
        self.renew_every = renew_every
        self._mine: Lease | None = None  # the lease as we last wrote it
        self._until = 0.0  # when another holder's hold expires, as last read
        self._why_not: str | None = None  # why we do not hold it, as last learned ("lease held by ...")
        # told after each hold that read the lease (taken, renewed, kept or another's), also in the
        # middle of a pass: the agent's status shows the lease as it is now (Agent._note_lease)
        self.on_change: Callable[[Leases], None] | None = None

    def hold(self) -> str | None:
        """Take or renew the lease when due. None: we hold it now; else why not ("lease held by
        HOLDER until T"). Reads the config only when its own last write says a renewal is due
        (one read and one write per `renew_every` while held), then tells `on_change`. Raises what
        the runtime raises, but Conflict: another agent wrote it first, so we wait."""
        now = self.clock()
        if self._mine is not None and self._decide(self._mine, now).move is Move.KEEP:
            return None
        why_not = self._hold(now)
        if self.on_change is not None:
            self.on_change(self)
        return why_not

    def _hold(self, now: float) -> str | None:
        """`hold` once a renewal is due: read the lease, then take, renew or wait."""
        lease = self.runtime.read_lease(self.name)
        decision = self._decide(lease, now)
        if decision.move is Move.WAIT:
            self._mine, self._until = None, decision.until
            log.info("lease.waiting", lease=self.name, holder=decision.holder, until=decision.until)
            self._why_not = waiting(decision.holder, decision.until)
            return self._why_not
        self._why_not = None
        if decision.move is Move.KEEP:
            self._mine = lease
            return None
        try:
            self._mine = self.runtime.write_lease(self.name, lease, self.holder, now + self.ttl)
        except Conflict:
            self._mine = None
            return self._lost()
        if decision.move is Move.TAKE:
            log.info("lease.taken", lease=self.name, holder=self.holder, previous=lease.holder if lease else None)
        return None

    def keep(self) -> bool:
        """Asked during a long pass (before each task, and at each poll of a rolling update it
        follows): renews the lease when due; False once another holder has taken it, so nothing
        more is started. An engine error leaves the answer to the pass's own engine calls (True)."""
        try:
            return self.hold() is None
        except EngineError:
            return True

    def _decide(self, lease: Lease | None, now: float) -> Decision:
        return decide(lease, self.holder, now, self.ttl, self.renew_every)

    def _lost(self) -> str:
        """Why we wait after another agent's write won the race: it holds the lease now."""
        lease = self.runtime.read_lease(self.name)
        holder, until = (lease.holder, lease.expires) if lease is not None else ("another agent", self.clock())
        self._until = until
        log.info("lease.waiting", lease=self.name, holder=holder, until=until)
        self._why_not = waiting(holder, until)
        return self._why_not

    def held(self) -> Lease | None:
        """The lease as this holder last wrote it while holding it; None when it does not."""
        return self._mine

    def why_not(self) -> str | None:
        """Why this holder does not hold the lease, as `hold` or `keep` last learned it ("lease held
        by HOLDER until T"); None while it holds it (or has not asked yet)."""
        return self._why_not

    def next_check(self) -> float:
        """Seconds until `hold` next has something to do: our renewal when we hold it, else the
        other holder's expiry as last read; the agent wakes for it."""
        now = self.clock()
        if self._mine is not None:
            return max(0.0, self._mine.expires - self.ttl + self.renew_every - now)
        return max(0.0, self._until - now)
