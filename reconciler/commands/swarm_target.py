"""`plan --target swarm` and `apply --target swarm`: the same files as Swarm services, networks,
secrets and configs on the Swarm manager at `--engine` (docs/swarm.md).

The desired state is loaded as for the host target, then checked for what Swarm cannot run
(`context.swarm_view`: `hosts` become placement constraints, not a host filter) and narrowed to
the profiles given. The engine must be a Swarm manager: otherwise `error: engine URL is not a
Swarm manager: WHY`, exit 1. `apply` takes the local lock of the engine and namespace, as the
host target's apply does, and the cluster's lease (`reconciler.swarm.lease`) for its pass, as
`apply@HOST`: while another holds it, every task is blocked with "lease held by HOLDER until T".
Neither writes anything while the files fail a check; `plan` writes nothing at all (not even the
cluster's key of secrets' hashes: `swarm.cluster_key`).
"""

from __future__ import annotations

import socket
import sys

from reconciler.commands.context import colour, load_desired, profile_view, setup, swarm_view
from reconciler.commands.control import writer
from reconciler.commands.render import plan_json, plan_text, problems_json, report_text
from reconciler.images.credentials import CredentialsError, credentials_for
from reconciler.model import DesiredState
from reconciler.swarm.cluster_key import ClusterKey, key_name
from reconciler.swarm.converge import converge, preview
from reconciler.swarm.lease import Leases
from reconciler.swarm.options import SwarmOptions
from runtime.base import EngineError, RegistryAuth
from runtime.swarm import connect_swarm
from runtime.swarm_base import NotManager, SwarmRuntime


def plan(args) -> int:
    """What `apply --target swarm` would change, and why. Exit 0, 1 on error; with
    --detailed-exitcode 2 when something would run, 3 when only conflicts or blocked items remain.
    Read-only: a cluster without a key of secrets' hashes gets none (`_provisional_note`)."""
    ready = _prepare(args, as_json=args.json)
    if ready is None:
        return 1
    desired, runtime, auth = ready
    try:
        report = preview(runtime, desired, args.namespace, SwarmOptions(allow_empty=args.allow_empty), auth)
    except EngineError as error:
        return _failed(str(error), args.json)
    current = report.plan
    print(plan_json(current) if args.json else plan_text(current, colour(), steps=not args.brief))
    if not args.detailed_exitcode:
        return 0
    return 2 if current.runnable else 3 if current.blocked else 0


def apply(args) -> int:
    """Converge the swarm once, when no agent runs for the engine and namespace (`commands.apply`
    asked it first). Refused while the namespace's agent is suspended (its state directory says
    so), as the host target's apply is. Exit 0 when the swarm matches the files, 1 when not (or on error)."""
    if not writer(args):
        return 1
    ready = _prepare(args, store_key=True)
    if ready is None:
        return 1
    desired, runtime, auth = ready
    leases = Leases(runtime, args.namespace, apply_holder())
    try:
        options = SwarmOptions(allow_empty=args.allow_empty, not_leader=leases.hold())
        report = converge(runtime, desired, args.namespace, options, should_stop=lambda: not leases.keep(), auth=auth)
    except EngineError as error:
        return _failed(str(error), as_json=False)
    print(report_text(report, colour()))
    return 0 if report.converged else 1


def apply_holder() -> str:
    """The lease holder `apply` writes: one per host, so that this host's next `apply` (the local
    lock makes them one at a time) renews the lease rather than waiting out its expiry."""
    return f"apply@{socket.gethostname()}"


def _prepare(args, as_json: bool = False,
             store_key: bool = False) -> tuple[DesiredState, SwarmRuntime, dict[str, RegistryAuth]] | None:
    """The desired state for Swarm (profiles applied), the manager reached, and the registry
    credentials of each declared image (`--registry-config`, else Docker's default config file);
    None after printing why not. The manager is reached first: secrets are hashed with the
    cluster's key (`swarm.cluster_key`), not the state directory's. Without one on the manager,
    with a provisional key that `store_key` (apply) writes there only once the files passed every
    check and declare a secret or config; nothing is written before, nor ever without `store_key`."""
    setup(args)
    runtime = connect_swarm(args.engine)
    where = args.engine or "at the local socket"
    key = ClusterKey(runtime, args.namespace, create=False)
    try:
        runtime.manager()
        key()
    except NotManager as error:
        _failed(f"engine {where} is not a Swarm manager: {error}", as_json)
        return None
    except EngineError as error:
        _failed(f"engine {where} unreachable: {error}", as_json)
        return None
    desired = _desired(args, as_json, key)
    try:
        if desired is not None and store_key and (desired.secrets or desired.configs) and not key.store():
            desired = _desired(args, as_json, key)  # another stored the cluster's key first: hash with it
    except EngineError as error:
        _failed(f"engine {where} unreachable: {error}", as_json)
        return None
    if desired is None:
        return None
    if key.provisional and (desired.secrets or desired.configs):
        _provisional_note(args.namespace)
    try:
        auth = {ref: found for ref in sorted({c.image for c in desired.containers.values()})
                if (found := credentials_for(ref, args.registry_config)) is not None}
    except CredentialsError as error:
        _failed(f"registry credentials: {error}", as_json)
        return None
    return desired, runtime, auth


def _desired(args, as_json: bool, key: ClusterKey) -> DesiredState | None:
    """The files loaded with `key`, checked for Swarm and narrowed to the profiles; None after printing why not."""
    desired = load_desired(args, as_json, key)
    desired = swarm_view(args, desired, as_json) if desired is not None else None
    return profile_view(args, desired, as_json) if desired is not None else None


def _provisional_note(namespace: str) -> None:
    """`plan` on a cluster without a key of secrets' hashes: the names shown are provisional."""
    print(f"note: the cluster has no key of secrets' hashes yet (config {key_name(namespace)}); plan creates "
          "none: the first apply does, so the NAME-HASH of each new secret and config differs from this plan's",
          file=sys.stderr)


def _failed(message: str, as_json: bool) -> int:
    print(f"error: {message}", file=sys.stderr)
    if as_json:
        print(problems_json(message, []))
    return 1
