"""One Swarm pass (`--target swarm`): observe, plan, execute, observe again. Used by `apply` and
the agent; `preview` is the pass that changes nothing (`plan`, an agent without the lease).

The steps are the Swarm pipeline's own functions (`reconciler.swarm.plan`,
`reconciler.swarm.execute`); this module only strings them together.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import structlog

from reconciler.converge import Outcome
from reconciler.execute import TaskResult
from reconciler.model import DesiredState
from reconciler.swarm.execute import execute
from reconciler.swarm.options import DEFAULT, SwarmOptions
from reconciler.swarm.plan import make_plan
from reconciler.swarm.service_spec import object_name
from reconciler.tasks import Plan
from runtime.base import RegistryAuth
from runtime.swarm_base import SwarmRuntime, SwarmState

log = structlog.get_logger("reconciler.swarm.converge")


@dataclass(frozen=True)
class SwarmReport(Outcome):
    """What a pass planned, what ran, and what a fresh observation still finds to do, with the
    swarm as last observed (its services' task counts are what `status` shows)."""

    plan: Plan
    results: tuple[TaskResult, ...]
    remaining: Plan
    observed: SwarmState
    followed: tuple[Plan, ...] = ()  # as `converge.PassReport` has it: a Swarm pass plans once


def observe(runtime: SwarmRuntime, namespace: str, desired: DesiredState,
            auth: Mapping[str, RegistryAuth] | None = None) -> SwarmState:
    """The swarm as the plan needs it: what `namespace` owns, the nodes, the unowned holders of
    the declared names (services: the containers' names; overlay networks; secrets and configs by
    their Swarm names, `NAME-<digest>`), and the registry digest of each declared image (with the
    credentials per reference in `auth`)."""
    names = {
        "service": tuple(desired.containers),
        "network": tuple(desired.networks),
        "secret": tuple(object_name(spec) for spec in desired.secrets.values()),
        "config": tuple(object_name(spec) for spec in desired.configs.values()),
    }
    images = frozenset(spec.image for spec in desired.containers.values())
    return runtime.observe_swarm(namespace, names, images, auth)


def preview(runtime: SwarmRuntime, desired: DesiredState, namespace: str, options: SwarmOptions = DEFAULT,
            auth: Mapping[str, RegistryAuth] | None = None) -> SwarmReport:
    """A pass that changes nothing: observe and plan; the plan is what remains."""
    observed = observe(runtime, namespace, desired, auth)
    current = make_plan(desired, observed, namespace, options)
    return SwarmReport(current, (), current, observed)


def converge(runtime: SwarmRuntime, desired: DesiredState, namespace: str, options: SwarmOptions = DEFAULT,
             should_stop: Callable[[], bool] = lambda: False,
             auth: Mapping[str, RegistryAuth] | None = None) -> SwarmReport:
    """One pass; raises EngineUnavailable when the engine cannot be reached. A task that failed
    is in the report's failures; the next pass, observing afresh, plans it again."""
    observed = observe(runtime, namespace, desired, auth)
    current = make_plan(desired, observed, namespace, options)
    results = execute(current, runtime, desired, namespace, should_stop)
    if any(r.task.runnable for r in results):
        observed = observe(runtime, namespace, desired, auth)
        remaining = make_plan(desired, observed, namespace, options)
    else:  # nothing was done: the swarm is as last observed, and the plan is what remains
        remaining = current
    report = SwarmReport(current, results, remaining, observed)
    log.debug("pass.done", target="swarm", converged=report.converged, actions=len(report.ran),
              failures=len(report.failures), remaining=[str(c) for c in remaining.changes if c.kind.pending])
    return report
