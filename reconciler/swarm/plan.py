"""plan for the Swarm target: from changes to ordered tasks of single engine calls. Pure.

Networks and new secrets and configs come before the services that use them; removals of
services come first among removals, and a network, secret or config is removed after the
services that used it moved off it. The Actions carry the request bodies (`Action.body`: the
rendered ServiceSpec, a network's create options), never a secret's value: the executor takes it
from the desired state by the action's `name`.
"""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.changes import Change, ChangeKind, Reason
from reconciler.model import LABEL_MANAGED, LABEL_NAME, ContainerSpec, DesiredState, NetworkSpec, resource_key
from reconciler.ownership import owned_labels
from reconciler.plan import block_successors
from reconciler.swarm import rollout
from reconciler.swarm.diff import diff
from reconciler.swarm.options import DEFAULT, SwarmOptions
from reconciler.swarm.service_spec import LABEL_SECRET_DIGEST, marked, versioned_name
from reconciler.tasks import Action, Plan, Step, Task
from runtime.swarm_base import SwarmState

_KIND_ORDER = {"network": 0, "secret": 1, "config": 2, "volume": 3, "service": 4}
_CREATE = {"secret": Step.CREATE_SECRET, "config": Step.CREATE_CONFIG}
_REMOVE = {"service": Step.REMOVE_SERVICE, "network": Step.REMOVE_NETWORK, "secret": Step.REMOVE_SECRET,
           "config": Step.REMOVE_CONFIG}


def make_plan(desired: DesiredState, observed: SwarmState, namespace: str, options: SwarmOptions = DEFAULT) -> Plan:
    """diff, then plan: what one Swarm pass would do."""
    return plan(diff(desired, observed, namespace, options), namespace, options)


def plan(changes: Iterable[Change], namespace: str, options: SwarmOptions = DEFAULT) -> Plan:
    """Order `changes` into tasks and decide what is blocked this pass and why (no lease, held by
    the agent, a frozen file, removals held back, an empty desired state, a prerequisite that
    cannot proceed)."""
    changes = tuple(sorted(changes, key=_order))
    by_key = {c.key: c for c in changes}
    tasks = {}
    for change in changes:
        steps = _steps(change, namespace)
        if steps:
            tasks[change.key] = Task(change, steps, after=_after(change, by_key, changes),
                                     blocked=_blocked(change, by_key, options))
    return Plan(changes, block_successors(tasks))


def _order(change: Change) -> tuple[bool, int, str]:
    """Networks, secrets, configs, then services; removals last, of services first."""
    removing = change.kind is ChangeKind.REMOVE
    return removing, -1 if removing and change.resource == "service" else _KIND_ORDER[change.resource], change.name


def _prerequisites(change: Change) -> set[str]:
    """Keys of the networks, secrets and configs (by their Swarm names) a service uses."""
    spec = change.spec
    if change.resource != "service" or not isinstance(spec, ContainerSpec):
        return set()
    return ({resource_key("network", n.name) for n in spec.networks}
            | {resource_key("secret", versioned_name(g.source, g.digest)) for g in spec.secrets}
            | {resource_key("config", versioned_name(g.source, g.digest)) for g in spec.configs})


def _after(change: Change, by_key: dict[str, Change], changes: tuple[Change, ...]) -> frozenset[str]:
    """A service runs after what it uses is made; a removal of a network, secret or config runs
    after the services that used it (`users`) and after every service removal."""
    if change.kind is ChangeKind.REMOVE and change.resource != "service":
        return frozenset(c.key for c in changes if c.resource == "service"
                         and (c.kind is ChangeKind.REMOVE or c.key in change.users))
    return frozenset(k for k in _prerequisites(change) if k in by_key)


def _blocked(change: Change, by_key: dict[str, Change], options: SwarmOptions) -> str | None:
    """Why this change cannot run this pass, or None: the first rule that holds it, in this order."""
    invalid = options.invalid_files
    if options.not_leader:
        return options.not_leader
    if change.key in options.held:
        return options.held[change.key]
    if change.source in invalid:
        return f"its file {change.source} is invalid; the last valid content stays in force"
    if change.kind is ChangeKind.REMOVE and invalid:
        return f"removal held back while {', '.join(sorted(invalid))} is invalid"
    if any(cause.reason is Reason.EMPTY_REFUSED for cause in change.causes):
        return ("refused: the desired state declares no container (an emptied directory or a wrong path?); "
                "pass --allow-empty to remove every service")
    for key in sorted(_prerequisites(change)):
        if key in by_key and by_key[key].kind in (ChangeKind.CONFLICT, ChangeKind.BLOCKED):
            return f"{key} is {'in conflict' if by_key[key].kind is ChangeKind.CONFLICT else 'blocked'}"
    return None


def _steps(change: Change, namespace: str) -> tuple[Action, ...]:
    """The engine calls of one change (none for what is only reported: conflicts, warnings, blocked)."""
    if change.kind is ChangeKind.REMOVE:
        return (Action(_REMOVE[change.resource], change.current[0], name=change.name),)
    if change.kind not in (ChangeKind.CREATE, ChangeKind.UPDATE, ChangeKind.RECREATE):
        return ()
    spec = change.spec
    if change.resource in _CREATE:
        labels = marked({LABEL_MANAGED: namespace, LABEL_NAME: spec.name, LABEL_SECRET_DIGEST: spec.digest})
        return (Action(_CREATE[change.resource], change.name, name=spec.name, labels=tuple(sorted(labels.items()))),)
    if isinstance(spec, NetworkSpec):
        create = Action(Step.CREATE_NETWORK, change.name, spec=spec, body=_network_options(spec),
                        labels=tuple(sorted(marked(owned_labels(spec, namespace)).items())))
        remove = (Action(Step.REMOVE_NETWORK, change.current[0], name=change.name),) if change.current else ()
        return (*remove, create)
    assert isinstance(spec, ContainerSpec)
    create = Action(Step.CREATE_SERVICE, change.name, name=change.name, spec=spec, body=change.body)
    if change.kind is ChangeKind.CREATE:
        return (create,)
    if change.kind is ChangeKind.RECREATE:  # Swarm cannot change a service's mode: removed, then made again
        return Action(Step.REMOVE_SERVICE, change.current[0], name=change.name), create
    # a job's update has no rolling update to follow (Swarm sets no UpdateStatus for it): the call runs it again
    timeout = None if spec.state == "completed" else rollout.bound(spec)
    return (Action(Step.UPDATE_SERVICE, change.current[0], name=change.name, spec=spec, body=change.body,
                   version=change.version, timeout=timeout),)


def _network_options(spec: NetworkSpec) -> dict:
    """`SwarmRuntime.create_network`'s keyword arguments: an overlay network (a declared bridge
    becomes one; Swarm has no swarm-scoped bridge), always attachable."""
    driver = "overlay" if spec.driver == "bridge" else spec.driver
    return {"driver": driver, "attachable": True, "internal": spec.internal, "subnet": spec.subnet,
            "gateway": spec.gateway, "ip_range": spec.ip_range, "options": dict(spec.options)}
