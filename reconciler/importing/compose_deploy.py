"""Compose's `deploy` section (but `resources`, which `compose_services` writes) as keys of the
container itself: `replicas`, `mode` (and `state = "completed"` for a job), `update`, `restart`.

The keys and their defaults are the Compose specification's (compose-spec deploy.md); how they
become a service is `docker stack deploy`'s (docker/cli cli/compose/convert/service.go:
convertDeployMode, convertUpdateConfig, convertRestartPolicy), which the Swarm target follows
(docs/swarm.md). What has no key here is skipped with why (docs/import.md); so is, when converting
for the host target (the default), what only `--target swarm` runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from reconciler.desired.compose_only import compose_hint
from reconciler.importing.compose_values import NO_EQUIVALENT, Scope, schema_node
from reconciler.importing.project import ModelPath

Entry = tuple[str, Any, str]  # (our key, its value, the note written beside it)

_GLOBAL = ("global", "global-job")
_JOB = ("replicated-job", "global-job")
_UPDATE_KEYS = ("order", "parallelism", "delay", "failure_action", "monitor")
# Compose's restart conditions (deploy.md: none, on-failure, any; Compose v2 also takes the engine's names,
# compose pkg/compose/create.go mapRestartPolicyCondition) -> our restart
_CONDITIONS = {"none": "no", "no": "no", "any": "always", "always": "always", "on-failure": "on-failure",
               "unless-stopped": "unless-stopped"}
_SWARM_DEFAULT = "Swarm's default applies on --target swarm"
_NOT_CARRIED: dict[tuple[str, ...], str] = {
    ("rollback_config",): "no key here: `update` is both Swarm's update and its rollback configuration "
                          "(docs/swarm.md), so a rollback runs as the update did",
    ("endpoint_mode",): f"no key here: a service is reached by a virtual IP (vip), {_SWARM_DEFAULT}; "
                        "DNS round robin (dnsrr) has no form",
    ("labels",): "no key here: on Swarm the service's own labels are the reconciler's ownership labels and the "
                 "container's `labels` (docs/swarm.md); write them under `labels` to put them on the containers",
    ("placement", "constraints"): "no key here: `hosts` are node-name globs (docs/format.md, Hosts), resolved "
                                  "against the nodes when planning; a constraint on a node's role, labels or "
                                  'platform has no form: write hosts = ["NODE", ...] to name the nodes',
    ("placement", "preferences"): f"no key here: Swarm spreads the tasks over the nodes, {_SWARM_DEFAULT}",
    ("placement", "max_replicas_per_node"): f"no key here: {_SWARM_DEFAULT} (no limit)",
    ("update_config", "max_failure_ratio"): "no key here: an update fails at its first failed task "
                                            "(Swarm's MaxFailureRatio 0, docs/swarm.md)",
    ("restart_policy", "delay"): "no key here: on one host the engine restarts with its own growing back-off; "
                                 f"{_SWARM_DEFAULT} (5s)",
    ("restart_policy", "window"): f"no key here: {_SWARM_DEFAULT} (0s: a restart is taken as a success at once)",
}


def deploy_keys(scope: Scope, path: ModelPath, key: str, value: Any, deploy: Mapping[str, Any]) -> list[Entry]:
    """What `deploy.KEY` (`value`, at `path`; `deploy` the whole section) is written as: our keys,
    each with its value and note. A key or part of one with no form here is skipped on `scope`
    with why; so is one whose value a conversion needs but a variable gives (it is never written
    resolved: it may come from the env file)."""
    if (key,) in _NOT_CARRIED:
        scope.skip(path, _NOT_CARRIED[(key,)])
        return []
    convert = _KEYS.get(key)
    if convert is None:
        scope.skip(path, compose_hint("container", "deploy") or NO_EQUIVALENT)
        return []
    return [] if value is None else convert(scope, path, value, deploy)


def _host_skips(scope: Scope, path: ModelPath, what: str) -> bool:
    """On the host target, the value at `path` (`what`: as the note shows it) that only Swarm runs
    is skipped, saying so and that `--target swarm` carries it, and listed in `scope.swarm_skipped`;
    True then. The host target runs one container per [container.NAME] (desired.targets): it
    refuses `replicas` other than 1 and `mode = "global"`."""
    if scope.target != "host":
        return False
    scope.skip(path, f"{what}: the host target runs one container per [container.NAME]; import with --target swarm "
                     "to carry it (docs/swarm.md)")
    scope.swarm_skipped.append(".".join(str(part) for part in path))
    return True


def _interpolated(scope: Scope, path: ModelPath) -> bool:
    """Whether the value at `path` held an interpolation, which a conversion cannot write as written:
    skipped, with why."""
    if path not in scope.project.written:
        return False
    scope.skip(path, f"read from a variable ({scope.project.written[path]}), which this conversion would have to "
                     "write resolved: write the value itself")
    return True


def _replicas(scope: Scope, path: ModelPath, value: Any, deploy: Mapping[str, Any]) -> list[Entry]:
    """`replicas` as written; not with a global mode, which docker stack deploy refuses
    ("replicas can only be used with replicated or replicated-job mode"), nor on the host target
    when other than 1 or read from a variable (`_host_skips`), nor on Swarm when read from a
    variable (`_interpolated`: the key takes a number, never `${N}`)."""
    if deploy.get("mode") in _GLOBAL:
        scope.skip(path, f"replicas is for a replicated service: mode {deploy['mode']} runs one task on each node "
                         "(docker stack deploy refuses both)")
        return []
    written = scope.project.written.get(path)
    if (value != 1 or written is not None) and _host_skips(scope, path, f"replicas {written or value}"):
        return []
    if _interpolated(scope, path):
        return []
    return [("replicas", scope.carry(path, value), "from deploy.replicas")]


def _mode(scope: Scope, path: ModelPath, value: Any, deploy: Mapping[str, Any]) -> list[Entry]:
    """`replicated`, `global` as written; a job (`replicated-job`, `global-job`) is `state =
    "completed"` (run to completion: a Swarm job, docs/swarm.md) with the mode. On the host target
    a global mode is skipped (`_host_skips`); a global job is then one run to completion."""
    if _interpolated(scope, path):
        return []
    if value not in ("replicated", *_GLOBAL, *_JOB):
        scope.skip(path, "not a Compose mode: replicated, global, replicated-job or global-job")
        return []
    note = f"from deploy.mode: {value}"
    mode = value.removesuffix("-job")
    entries: list[Entry] = []
    if value != "replicated-job" and not (mode == "global" and _host_skips(scope, path, f"mode {value}")):
        entries.append(("mode", mode, note))
    if value in _JOB:
        entries.append(("state", "completed", note + " (a Swarm job: run to completion)"))
    return entries


def _update_config(scope: Scope, path: ModelPath, value: Mapping[str, Any], deploy: Mapping[str, Any]) -> list[Entry]:
    """`update_config` as `update` (the same names and forms: order, parallelism, delay,
    failure_action, monitor)."""
    schema = schema_node("container", "update")["properties"]
    update = {}
    for key, item in value.items():
        where = (*path, key)
        if key in _UPDATE_KEYS:
            carried = scope.carry(where, item, schema[key])
            if carried is not None:
                update[key] = carried
        else:
            scope.skip(where, _NOT_CARRIED.get(("update_config", key), NO_EQUIVALENT))
    return [("update", update, "from deploy.update_config")] if update else []


def _restart_policy(scope: Scope, path: ModelPath, value: Mapping[str, Any], deploy: Mapping[str, Any]) -> list[Entry]:
    """`restart_policy` as `restart`: condition none -> no, any (the default) -> always,
    on-failure with max_attempts N -> on-failure:N (0: no limit, as the engine and Swarm read it)."""
    for key in [key for key in value if key not in ("condition", "max_attempts")]:
        scope.skip((*path, key), _NOT_CARRIED.get(("restart_policy", key), NO_EQUIVALENT))
    condition_at, attempts_at = (*path, "condition"), (*path, "max_attempts")
    if _interpolated(scope, condition_at):
        return []
    restart = _CONDITIONS.get(value.get("condition", "any"))
    if restart is None:
        scope.skip(condition_at, "not a restart condition: none, on-failure or any (Compose's deploy.md)")
        return []
    attempts = value.get("max_attempts")
    if attempts is not None and not _interpolated(scope, attempts_at):
        if restart != "on-failure":
            scope.skip(attempts_at, f'restart counts attempts only with on-failure (restart = "on-failure:N"); '
                                    f"the condition here is {value.get('condition', 'any')}")
        elif attempts:
            restart = f"on-failure:{attempts}"
    return [("restart", restart, "from deploy.restart_policy")]


def _placement(scope: Scope, path: ModelPath, value: Mapping[str, Any], deploy: Mapping[str, Any]) -> list[Entry]:
    """Nothing: each key of `placement` is skipped with why."""
    for key in value:
        scope.skip((*path, key), _NOT_CARRIED.get(("placement", key), NO_EQUIVALENT))
    return []


_KEYS: dict[str, Callable[[Scope, ModelPath, Any, Mapping[str, Any]], list[Entry]]] = {
    "replicas": _replicas,
    "mode": _mode,
    "update_config": _update_config,
    "restart_policy": _restart_policy,
    "placement": _placement,
}
