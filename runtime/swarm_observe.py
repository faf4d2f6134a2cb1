"""Pure parsing of the Swarm engine's answers (Engine API 1.41) into runtime.swarm_base's observed
types: services with their spec normalised for comparison, tasks counted per service as
`docker service ls` counts them, nodes, swarm networks, secrets and configs.

Nothing here calls the engine; `runtime.swarm` fetches the JSON and hands it over."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from reconciler.model import LABEL_MANAGED, made_by_swarm_target
from runtime.base import ObservedNetwork
from runtime.capabilities import probe
from runtime.swarm_base import ObservedNode, ObservedObject, ObservedService, ObservedTasks

# Task states (swarm.TaskState) that end a task with an error: its Status.Err says why
FAILED_STATES = frozenset({"failed", "rejected"})
# Desired states of a task the service still wants: running, or for a job's task, complete
WANTED_STATES = frozenset({"running", "complete"})
# Task states past which an Err says nothing about why the task does not run now
SETTLED_STATES = frozenset({"running", "complete", "shutdown", "orphaned", "remove"})
# the task an update's UpdateStatus.Message blames: "... due to failure or early termination of task ID"
_NAMED_TASK = re.compile(r"\bof task ([0-9a-z]+)\b")
_EARLIEST = datetime.min.replace(tzinfo=UTC)


def count_tasks(tasks: Iterable[Mapping[str, Any]], services: Iterable[Mapping[str, Any]]) -> dict[str, ObservedTasks]:
    """Service id -> its tasks counted, for each of the `GET /services` items `services`, from
    `GET /tasks` items: running (Status.State running), desired (`desired_tasks`), completed
    (Status.State complete), and the last error (`last_error`)."""
    by_service: dict[str, list[Mapping[str, Any]]] = {}
    for task in tasks:
        by_service.setdefault(task.get("ServiceID", ""), []).append(task)
    return {item["ID"]: _counted(item, by_service.get(item["ID"], [])) for item in services}


def _counted(item: Mapping[str, Any], tasks: list[Mapping[str, Any]]) -> ObservedTasks:
    """The tasks of one service (`item`, a `GET /services` item) counted."""
    states = [(task.get("Status") or {}).get("State") for task in tasks]
    return ObservedTasks(running=states.count("running"), desired=desired_tasks(item, tasks),
                         completed=states.count("complete"), last_error=last_error(item, tasks))


def last_error(item: Mapping[str, Any], tasks: Iterable[Mapping[str, Any]]) -> str | None:
    """Why a service (`item`, a `GET /services` item) does not run as it should, from its `GET
    /tasks` items, or None: the error (`task_error`) of the task Swarm names in its
    UpdateStatus.Message ("update rolled back due to failure or early termination of task ID",
    swarmkit's updater) while that task is listed; else the most recent error of the tasks the
    service still wants (a pending task's "no suitable node ..." first), then of the tasks created
    since its rolling update started (CreatedAt not before UpdateStatus.StartedAt): a task that
    failed in an earlier update says nothing of this one."""
    update = item.get("UpdateStatus") or {}
    since = _moment(update.get("StartedAt"))
    failed = [(task, error) for task in tasks if (error := task_error(task)) is not None]
    named = _NAMED_TASK.search(update.get("Message") or "")
    blamed = [error for task, error in failed if named and task.get("ID") == named.group(1)]
    current = [(task.get("DesiredState") in WANTED_STATES, _moment((task.get("Status") or {}).get("Timestamp")), error)
               for task, error in failed
               if task.get("DesiredState") in WANTED_STATES or _moment(task.get("CreatedAt")) >= since]
    return blamed[0] if blamed else max(current)[2] if current else None


def _moment(text: str | None) -> datetime:
    """An Engine API timestamp (RFC 3339 with nanoseconds, UTC) as a datetime; the earliest one when absent."""
    return datetime.fromisoformat(text) if text else _EARLIEST


def desired_tasks(item: Mapping[str, Any], tasks: Iterable[Mapping[str, Any]]) -> int:
    """How many tasks a service (`item`, a `GET /services` item) wants, as `docker service ls`
    counts them (swarmkit's ListServiceStatuses): a replicated service's spec `Mode.Replicated.Replicas`
    (not its tasks whose desired state is running: a start-first update runs an old and a new one
    per slot for a while), a replicated job's `TotalCompletions`; a global service (or job) has one
    task per eligible node, so its tasks whose DesiredState is running (or, for a job, complete)."""
    mode = (item.get("Spec") or {}).get("Mode") or {}
    if "Replicated" in mode:
        return int((mode["Replicated"] or {}).get("Replicas", 1))
    if "ReplicatedJob" in mode:
        job = mode["ReplicatedJob"] or {}
        return int(job.get("TotalCompletions") or job.get("MaxConcurrent") or 1)
    return sum(task.get("DesiredState") in WANTED_STATES for task in tasks)


def task_error(task: Mapping[str, Any]) -> str | None:
    """Why a `GET /tasks` item does not run, or None: a failed or rejected task's Status.Err (else
    its Message, else its state), or the Status.Err of a task still short of running that Swarm
    could not place or start (a pending task's "no suitable node (host-mode port already in use
    on 1 node)"; its Message alone, "pending task scheduling", is no error). Status.Timestamp (RFC
    3339, UTC) tells the most recent."""
    status = task.get("Status") or {}
    state = status.get("State")
    if state in FAILED_STATES:
        return status.get("Err") or status.get("Message") or state
    if state in SETTLED_STATES:
        return None
    return status.get("Err") or None


def normalised_spec(spec: Mapping[str, Any], network_names: Mapping[str, str]) -> dict[str, Any]:
    """A service's inspected `Spec` as `reconciler.swarm.service_spec` renders one: each network
    attachment's Target is the network's name (`network_names`: id -> name; an id not in it stays),
    and secret and config references keep their SecretName/ConfigName without the engine's ids.
    The deprecated top-level `Networks` (API < 1.25 clients) is moved into the task template."""
    result = copy.deepcopy(dict(spec))
    template = result.setdefault("TaskTemplate", {})
    legacy = result.pop("Networks", None)
    if legacy and not template.get("Networks"):
        template["Networks"] = legacy
    for attachment in template.get("Networks") or ():
        attachment["Target"] = network_names.get(attachment.get("Target", ""), attachment.get("Target"))
    container = template.get("ContainerSpec") or {}
    for reference in container.get("Secrets") or ():
        reference.pop("SecretID", None)
    for reference in container.get("Configs") or ():
        reference.pop("ConfigID", None)
    return result


def service(item: Mapping[str, Any], network_names: Mapping[str, str], tasks: ObservedTasks) -> ObservedService:
    """An ObservedService from one `GET /services` item (or `GET /services/{id}`)."""
    spec = item.get("Spec") or {}
    previous = item.get("PreviousSpec")
    update = item.get("UpdateStatus") or {}
    return ObservedService(
        id=item["ID"],
        name=spec.get("Name", ""),
        version=int((item.get("Version") or {}).get("Index", 0)),
        labels=dict(spec.get("Labels") or {}),
        spec=normalised_spec(spec, network_names),
        previous_spec=normalised_spec(previous, network_names) if previous is not None else None,
        update_state=update.get("State") or None,
        update_message=update.get("Message", ""),
        tasks=tasks,
    )


def network_targets(spec: Mapping[str, Any]) -> list[str]:
    """The network ids (or names) a service spec attaches its tasks to."""
    attachments = (spec.get("TaskTemplate") or {}).get("Networks") or spec.get("Networks") or ()
    return [attachment["Target"] for attachment in attachments if attachment.get("Target")]


def owned_service(item: Mapping[str, Any], namespace: str) -> bool:
    """Whether a `GET /services` item belongs to `namespace` (its Spec.Labels' io.reconciler.managed,
    the label the observation's filter matches when it lists only the owned services)."""
    return ((item.get("Spec") or {}).get("Labels") or {}).get(LABEL_MANAGED) == namespace


def network_users(items: Iterable[Mapping[str, Any]], networks: Iterable[Mapping[str, Any]],
                  namespace: str) -> dict[str, frozenset[str]]:
    """Network name -> the names of the services `namespace` does not own that attach to it, for
    each of the `GET /networks` items `networks`, from `GET /services` items (a Target is the
    network's id, or its name). Swarm refuses to remove a network a service uses ("network ... is
    in use by service ..."); only networks some such service uses are keys."""
    names = {ref: item["Name"] for item in networks for ref in (item["Id"], item["Name"])}
    users: dict[str, set[str]] = {}
    for item in items:
        if owned_service(item, namespace):
            continue
        for target in network_targets(item.get("Spec") or {}):
            if target in names:
                users.setdefault(names[target], set()).add((item.get("Spec") or {}).get("Name") or item["ID"])
    return {name: frozenset(found) for name, found in users.items()}


def node(item: Mapping[str, Any]) -> ObservedNode:
    """An ObservedNode from one `GET /nodes` item."""
    spec = item.get("Spec") or {}
    return ObservedNode(
        id=item["ID"],
        hostname=(item.get("Description") or {}).get("Hostname", ""),
        role=spec.get("Role", "worker"),
        availability=spec.get("Availability", "active"),
        state=(item.get("Status") or {}).get("State", "unknown"),
    )


def swarm_network(item: Mapping[str, Any], namespace: str) -> bool:
    """Whether a `GET /networks` item is an overlay network of the swarm the Swarm target made for
    `namespace` (`model.made_by_swarm_target`: a host-target overlay network of the namespace is not).
    Just after its create the engine lists a swarm network with Driver "" (until Swarm's allocator
    has run): that is still the overlay network made."""
    return (item.get("Driver") in ("overlay", "") and item.get("Scope") == "swarm"
            and made_by_swarm_target(item.get("Labels"), namespace))


def network(item: Mapping[str, Any]) -> ObservedNetwork:
    """An ObservedNetwork from one `GET /networks` item."""
    return ObservedNetwork(id=item["Id"], name=item["Name"], labels=dict(item.get("Labels") or {}),
                           driver=item.get("Driver") or "overlay")


def swarm_object(item: Mapping[str, Any]) -> ObservedObject:
    """An ObservedObject from one `GET /secrets` or `GET /configs` item: `name` is the engine's
    name (`NAME-<digest>`), the logical name is in its labels. The data is never kept."""
    spec = item.get("Spec") or {}
    return ObservedObject(id=item["ID"], name=spec.get("Name", ""), labels=dict(spec.get("Labels") or {}),
                          version=int((item.get("Version") or {}).get("Index", 0)))


def held_names(items: Iterable[Mapping[str, Any]], asked: Iterable[str], owned_ids: Iterable[str],
               name_of=lambda item: (item.get("Spec") or {}).get("Name")) -> frozenset[str]:
    """Which of the `asked` names an item that is not one of `owned_ids` holds (the engine's name
    filters match prefixes: the names are compared here exactly)."""
    wanted, ours = set(asked), set(owned_ids)
    return frozenset(name_of(item) for item in items
                     if name_of(item) in wanted and (item.get("ID") or item.get("Id")) not in ours)


def engine(version: Mapping[str, Any], info: Mapping[str, Any]) -> dict[str, Any]:
    """What the agent's status shows under `engine` for a Swarm manager, from its `GET /version` and
    `GET /info` answers: the fields one host shows (`runtime.capabilities.probe`: kind, version,
    api_version, ...) and `swarm`: {"role": "manager", "node_id", "cluster_id", "nodes", "managers"}
    from Info.Swarm (NodeID, Cluster.ID, Nodes, Managers; docs/swarm.md, "The agent on Swarm")."""
    swarm = info.get("Swarm") or {}
    return {**probe(version, info=info).describe(),
            "swarm": {"role": "manager" if swarm.get("ControlAvailable") else "worker",
                      "node_id": str(swarm.get("NodeID") or ""),
                      "cluster_id": str((swarm.get("Cluster") or {}).get("ID") or ""),
                      "nodes": int(swarm.get("Nodes") or 0), "managers": int(swarm.get("Managers") or 0)}}
