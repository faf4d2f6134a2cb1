"""Drift: what changed on a container outside the desired state, and what a pass does about it. Pure.

A container drifted when someone or something outside the reconciler changed it while its spec
did not change (its `io.reconciler.spec-hash` label is still the spec's hash): it was stopped or
killed (exit 137 or 143), paused, disconnected from a declared network or connected to another,
started while declared stopped, or recreated by hand with our labels copied and another env,
command, entrypoint, user or working directory (`changed_fields`, compared with what its inspect
says, `runtime.base.ObservedConfig`). A container recreated without our labels is not ours: a
conflict, not drift. A container that exits by itself (another exit code), dies, or is removed is
not drift here: it is restarted, replaced or created again under every policy.

The `drift` key of a container says what a pass does with its drift (Flux's and Argo CD's choice
per resource): `revert` (the default) undoes it, as the reconciler always did; `alert` reports it
(a `? warn` line with the drift and `drift = "alert"`, status `drifted`, the `drift_found`
notification) and changes nothing; `ignore` does not look at it. Under every policy a change of
the declared spec still applies (the replacement it makes also undoes the drift).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from reconciler import inplace
from reconciler.changes import Cause, Change, ChangeKind, Reason
from reconciler.fielddiff import AppliedRecords
from reconciler.model import LABEL_SPEC_HASH, ContainerSpec, hash_matches
from runtime.base import ObservedConfig, ObservedContainer

REVERT, ALERT, IGNORE = "revert", "alert", "ignore"
POLICIES = (REVERT, ALERT, IGNORE)

# what an engine adds to Config.Env by itself, whatever was asked: Podman's `container=podman`
# (for systemd's detection) and `TERM=xterm` at create, and `HOME` (the user's) and `HOSTNAME` (the
# container's) once started, whose values vary (None: any value); not drift unless declared
ENGINE_ENV: dict[str, str | None] = {"container": "podman", "TERM": "xterm", "HOME": None, "HOSTNAME": None}

# the causes of a change that only undo what was done out of band
OUT_OF_BAND = frozenset({Reason.STOPPED, Reason.PAUSED, Reason.NETWORK_DETACHED, Reason.NETWORK_ATTACHED,
                         Reason.WANT_STOPPED, Reason.CHANGED_BY_HAND})
# causes that only say more about a change (what it lacks, how it is made): no reason to make it
_REMARKS = frozenset({Reason.IMAGE_MISSING, Reason.BIND_MISSING, Reason.UNSUPPORTED, Reason.DATA_VOLUMES,
                      Reason.ANONYMOUS_KEPT, Reason.NOT_READY})


def env_drift(declared: Mapping[str, str], config: ObservedConfig) -> list[str]:
    """The names of the variables that differ, sorted: one declared that the container lacks or
    has with another value, and one the container has undeclared that is neither its image's
    (with the image's value: the image's env is not drift) nor the engine's own (`ENGINE_ENV`)."""
    drifted = []
    for key in sorted(declared.keys() | config.env.keys()):
        have = config.env.get(key)
        if key in declared:
            differs = have != declared[key]
        elif key in ENGINE_ENV and ENGINE_ENV[key] is None:
            differs = False
        else:
            differs = have not in (config.image_env.get(key), ENGINE_ENV.get(key))
        if differs:
            drifted.append(key)
    return drifted


def changed_fields(spec: ContainerSpec, config: ObservedConfig) -> list[str]:
    """The paths of what differs between `spec` and what the container was created with:
    `env.NAME` (see `env_drift`), then `command`, `entrypoint`, `user`, `working_dir`, each
    compared only when declared (undeclared, the image's value stands, whatever it is). An
    empty list the engine shows as null and one it shows as [] are the same."""
    paths = [f"env.{key}" for key in env_drift(spec.env, config)]
    if spec.command is not None and (config.command or ()) != spec.command:
        paths.append("command")
    if spec.entrypoint is not None and (config.entrypoint or ()) != spec.entrypoint:
        paths.append("entrypoint")
    if spec.user is not None and config.user != spec.user:
        paths.append("user")
    if spec.working_dir is not None and config.working_dir != spec.working_dir:
        paths.append("working_dir")
    return paths


def out_of_band(spec: ContainerSpec, have: ObservedContainer) -> list[Cause]:
    """"changed out of band: env.GREETING, command" when `have` differs from `spec` though its
    spec-hash label is the spec's; nothing when the label differs (the spec changed: it is
    replaced anyway), when its config was not read, or under `drift = "ignore"`."""
    if spec.drift == IGNORE or have.config is None or not hash_matches(have.labels, spec):
        return []
    paths = changed_fields(spec, have.config)
    return [Cause(Reason.CHANGED_BY_HAND, ", ".join(paths))] if paths else []


def set_by_hand(spec: ContainerSpec, have: ObservedContainer, found: tuple[tuple[str, Any, Any], ...],
                records: AppliedRecords | None) -> frozenset[str]:
    """The paths of the in-place differences `found` (`inplace.differences`: the limits inspect
    shows against the declared ones) that were set out of band (`docker update`): those the file
    did not change since the container's last-applied record, which holds their declared values.
    None without a record of `have` at its spec hash (nothing tells a change by hand from an edit)."""
    if not found or records is None:
        return frozenset()
    entry = records.records.get(have.id)
    if entry is None or entry.get("spec_hash") != have.labels.get(LABEL_SPEC_HASH):
        return frozenset()
    declared = [d.path for d in records.diff(have.id, have.labels.get(LABEL_SPEC_HASH), spec)]
    return frozenset(path for path, _old, _new in found if not any(
        p == key or p.startswith(f"{key}.") or key.startswith(f"{p}.") for p in declared
        for key in (inplace.file_key(path),)))


def limits(spec: ContainerSpec, found: tuple[tuple[str, Any, Any], ...],
           hand: frozenset[str]) -> tuple[tuple[tuple[str, Any, Any], ...], list[Cause]]:
    """The in-place differences `found` split into what to update and what to report: under
    `revert` everything is updated (a limit set by hand, of `hand` (`set_by_hand`), is set back).
    Under `alert` and `ignore` the limits set by hand are not updated, and `alert` reports
    "changed out of band: resources.memory"; those the file changed are updated."""
    if spec.drift == REVERT or not hand:
        return found, []
    keys = [inplace.file_key(path) for path, _old, _new in found if path in hand]
    update = tuple(item for item in found if item[0] not in hand)
    return update, ([Cause(Reason.CHANGED_BY_HAND, ", ".join(keys))] if spec.drift == ALERT else [])


def limit_causes(found: tuple[tuple[str, Any, Any], ...], hand: frozenset[str]) -> list[Cause]:
    """Why the limits `found` are updated: "resources changed: resources.memory" for those the file
    changed, "changed out of band: resources.cpus" for those set by hand (`hand`, `set_by_hand`)."""
    declared = tuple(item for item in found if item[0] not in hand)
    by_hand = [inplace.file_key(path) for path, _old, _new in found if path in hand]
    return [*([inplace.resources_changed(declared)] if declared else []),
            *([Cause(Reason.CHANGED_BY_HAND, ", ".join(by_hand))] if by_hand else [])]


def left_alone(spec: ContainerSpec, recreate: list[Cause]) -> list[Cause]:
    """The causes of a replacement that its drift policy leaves alone when the declared change is
    an in-place update: all of `recreate` under `alert` and `ignore` when each is drift
    (`OUT_OF_BAND`: changed out of band, disconnected, paused), else none. The update is then made
    on the container as it is, its drift reported (`alert`) or not looked at (`ignore`)."""
    if spec.drift == REVERT or not recreate or any(c.reason not in OUT_OF_BAND for c in recreate):
        return []
    return list(recreate)


def governed(spec: ContainerSpec, change: Change | None) -> Change | None:
    """`change` (diff's, for the container of `spec`) as its drift policy has it. `revert`: as
    it is. When nothing but drift calls for the change, `alert` makes it a report (`? warn`,
    with what drifted and `drift = "alert"`: no engine call) and `ignore` drops it (None). When
    something else calls for it too (a spec change, an image moved, a replacement left half
    done, an in-place update), it is made, without the drift's start or stop under both policies,
    and without the drift's causes under `ignore` (an update under `alert` names them)."""
    if change is None or spec.drift == REVERT:
        return change
    drifted = tuple(c for c in change.causes if c.reason in OUT_OF_BAND)
    if not drifted:
        return change
    rest = tuple(c for c in change.causes if c.reason not in OUT_OF_BAND)
    if all(c.reason in _REMARKS for c in rest):
        if spec.drift == IGNORE:
            return None
        return Change(ChangeKind.WARN, "container", change.name, (*drifted, Cause(Reason.DRIFT_ALERT)), spec,
                      change.current, source=change.source)
    if change.kind in (ChangeKind.START, ChangeKind.STOP):
        return dataclasses.replace(change, kind=ChangeKind.CLEANUP, causes=rest, needs_start=False)
    if change.kind is ChangeKind.UPDATE:  # the update alone: no start or stop of the drift's (plan._update)
        start = change.needs_start and all(c.reason is not Reason.STOPPED for c in drifted)
        return dataclasses.replace(change, causes=change.causes if spec.drift == ALERT else rest, needs_start=start)
    return dataclasses.replace(change, causes=rest) if spec.drift == IGNORE else change


def alerted(change: Change) -> bool:
    """Whether `change` is a drift reported under `drift = "alert"` (see `governed`)."""
    return change.kind is ChangeKind.WARN and Cause(Reason.DRIFT_ALERT) in change.causes


def drifted(change: Change) -> str:
    """What drifted, as a report says it: "stopped by hand; changed out of band: env.GREETING"."""
    return "; ".join(str(c) for c in change.causes if c.reason in OUT_OF_BAND)
