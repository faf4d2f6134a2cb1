"""`reconciler run --target swarm`: the agent's Swarm side (reconciler.agent.swarm_passes), made
from the command line: the manager at `--engine`, the lease of the namespace held as this process
(`lease.holder_id`), and the Swarm pipeline's passes with the registry credentials of each image
(`--registry-config`, else Docker's default config file), read at each pass."""

from __future__ import annotations

import sys
from collections.abc import Callable

from reconciler.agent.swarm_passes import SwarmPasses
from reconciler.images.credentials import credentials_for
from reconciler.model import DesiredState
from reconciler.swarm import converge as swarm_converge
from reconciler.swarm.lease import Leases, holder_id
from reconciler.swarm.options import SwarmOptions
from runtime.base import EngineError, RegistryAuth
from runtime.swarm import connect_swarm
from runtime.swarm_base import NotManager


def swarm_passes(args) -> SwarmPasses | None:
    """The Swarm passes of `run --target swarm`, or None after saying that the engine is not a
    Swarm manager (an engine out of reach is not refused: the agent's passes wait for it)."""
    runtime = connect_swarm(args.engine)
    try:
        runtime.manager()
    except NotManager as error:
        print(f"error: engine {args.engine or 'at the local socket'} is not a Swarm manager: {error}", file=sys.stderr)
        return None
    except EngineError:  # out of reach now: the agent's passes report it and back off
        pass
    auth = _auth(args.registry_config)
    return SwarmPasses(
        runtime, Leases(runtime, args.namespace, holder_id()),
        lambda rt, desired, ns, options, should_stop: swarm_converge.converge(rt, desired, ns, options, should_stop,
                                                                              auth=auth(desired)),
        lambda rt, desired, ns, options: swarm_converge.preview(rt, desired, ns, options, auth=auth(desired)),
        SwarmOptions)


def _auth(config: str | None) -> Callable[[DesiredState], dict[str, RegistryAuth]]:
    """The registry credentials of each image `desired` declares, read afresh (a rotated token is
    used from the next pass on). Raises CredentialsError for an unreadable config."""
    def found(desired: DesiredState) -> dict[str, RegistryAuth]:
        return {ref: auth for ref in sorted({c.image for c in desired.containers.values()})
                if (auth := credentials_for(ref, config)) is not None}
    return found
