"""The cluster's key of secrets' keyed hashes on the Swarm target (docs/swarm.md, "Secret names
across agents").

On Swarm a `[secret.NAME]` or `[config.NAME]` is the object `NAME-<12 hex of its keyed hash>`
(`service_spec.object_name`; the hash is `SecretSpec.digest`, an HMAC-SHA256 of the value). On
one host its key is the state directory's; on Swarm it must be the same for every agent and every
`apply` of the cluster (each with its own state directory), or a lease takeover would rename,
and so rotate, every secret. It is kept in the Swarm config `reconciler-key-<namespace>`: 32
random bytes, created by the first that needs it; of two creating it at once, the loser uses the
winner's (`SwarmRuntime.create_cluster_key`). `plan` creates nothing: without a key on the
manager it hashes with a provisional one (`ClusterKey(create=False)`), and `apply` stores that key
only once the files loaded and passed every check (`ClusterKey.store`). The config carries no
ownership label, so no Swarm diff ever lists or removes it, and host mode never sees Swarm configs
at all.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

import structlog

from runtime.swarm_base import SwarmRuntime

log = structlog.get_logger("reconciler.swarm")

KEY_BYTES = 32  # as the state directory's key (StateDir.hash_key)


def key_name(namespace: str) -> str:
    """The config that holds the key of `namespace`: `reconciler-key-<namespace>`."""
    return f"reconciler-key-{namespace}"


class ClusterKey:
    """A key source (`desired.loader.HashKey`): called, it returns the cluster's key of
    `namespace`, read from the manager once (created there when there is none) and then kept for
    the life of this object. With `create=False` nothing is written: a cluster without a key gets
    a provisional one of this object (`provisional`), which `store` writes once wanted. Raises the
    runtime's EngineError (EngineUnavailable, ...) while the manager cannot give it; the next call
    asks again."""

    def __init__(self, runtime: SwarmRuntime, namespace: str,
                 random: Callable[[int], bytes] = os.urandom, create: bool = True) -> None:
        self._runtime = runtime
        self._name = key_name(namespace)
        self._random = random
        self._create = create
        self._key: bytes | None = None
        self.provisional = False  # the key given is not (yet) the cluster's: no key was on the manager
        self._lock = threading.Lock()

    def __call__(self) -> bytes:
        with self._lock:
            if self._key is None:
                self._key = self._read_or_create()
            return self._key

    def store(self) -> bool:
        """Write a provisional key on the manager as the cluster's. True when the key given so far
        is the cluster's (it was read there, or is now stored); False when another creator stored
        one first: this object gives that one from now on, and what was hashed must be hashed
        again. Raises the runtime's EngineError."""
        with self._lock:
            if not self.provisional or self._key is None:
                return True
            key = self._created(self._key)
            same, self._key, self.provisional = key == self._key, key, False
            return same

    def _read_or_create(self) -> bytes:
        found = self._runtime.cluster_key(self._name)
        if found is not None:
            return found
        mine = self._random(KEY_BYTES)
        if not self._create:
            self.provisional = True
            return mine
        return self._created(mine)

    def _created(self, mine: bytes) -> bytes:
        """The cluster's key after creating it as `mine` (another creator's, when first)."""
        key = self._runtime.create_cluster_key(self._name, mine)
        if key == mine:
            log.info("cluster_key.created", config=self._name)
        return key
