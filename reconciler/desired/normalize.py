"""One schema-valid file document -> model specs, with defaults applied and short forms expanded:
the containers here, networks and volumes in `reconciler.desired.networks`, each built through a
`reconciler.desired.resource.Resource`.

Checks that need more than the schema but only this one resource are made here (port ranges,
addresses, conflicting keys); checks across resources are in `reconciler.desired.references`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

from reconciler.desired import aliases, filesources, forms, limits
from reconciler.desired.builds import built_image
from reconciler.desired.envfile import NUL_IN_VALUE, read_env_file
from reconciler.desired.hostkeys import check_host_keys, host_keys
from reconciler.desired.image_ref import image_reference
from reconciler.desired.inclear import refuse_env_file_values
from reconciler.desired.lifecycle import hooks
from reconciler.desired.networks import network, volume
from reconciler.desired.problems import FileReport, LoadFailure, Path_
from reconciler.desired.resource import Resource, reserved_label
from reconciler.desired.security import capability, security_option
from reconciler.desired.signals import stop_signal
from reconciler.desired.targets import HOST, host_errors
from reconciler.desired.units import INT64_MAX, duration, size
from reconciler.fields import (
    Dependency,
    Healthcheck,
    Logging,
    Mount,
    NetworkAttachment,
    Resources,
    Ulimit,
    UpdatePolicy,
)
from reconciler.model import ContainerSpec, Spec

MIN_MEMORY = 6 * 1024**2  # the engine refuses less (moby daemon/daemon_unix.go, linuxMinMemory)
_HEALTHCHECK_DEFAULTS = {"interval": "30s", "timeout": "30s", "retries": "3", "start_interval": "5s"}  # the engine's
_COPIED = ("pull", "working_dir", "network_mode", "restart", "state", "privileged", "read_only", "init", "tty")
_SWARM_COPIED = ("replicas", "mode")  # Swarm's service keys (docs/swarm.md): refused on one host by desired.targets
_CHECKED = {"image": image_reference, "command": forms.argv, "entrypoint": forms.argv, "stop_signal": stop_signal,
            "user": forms.user, "hostname": forms.hostname}


def _healthcheck_duration(value: str | int, key: str) -> float:
    """Seconds of a healthcheck duration as the engine takes them (moby daemon/container.go,
    validateHealthCheck): 0 or at least 1 ms, and 0 means the engine's default, which only
    `start_period` (default 0) may say."""
    seconds = duration(value)
    if seconds == 0 and key != "start_period":
        raise ValueError(f"0 would make the engine use its default ({_HEALTHCHECK_DEFAULTS[key]}): "
                         f"leave {key} out for that, or give at least 1ms")
    if 0 < seconds < 0.001:
        raise ValueError("must be at least 1ms: the engine refuses shorter durations")
    return seconds


def _duration(value: str | int, _key: str) -> float:
    return duration(value)


def _positive_duration(value: str | int, _key: str) -> float:
    seconds = duration(value)
    if seconds == 0:
        raise ValueError("must be more than 0")
    return seconds


def _size(value: str | int, _key: str) -> int:
    return size(value)


def _variable_files(r: Resource, key: str) -> dict[str, str]:
    """The variables of the KEY=VALUE files named at `key` (`env_file`, `label_file`: a path or a
    list, relative to the TOML file's folder, read as Compose reads `.env` files), later files
    winning; each problem reported at the file's entry."""
    variables: dict[str, str] = {}
    files = r.body.get(key, [])
    for index, name in enumerate([files] if isinstance(files, str) else files):
        at_key = (key, index) if not isinstance(files, str) else (key,)
        r.report.inputs.append(str(r.base / name))
        if r.report.escapes(str(r.base / name)):
            r.error(at_key, f"{name} leads outside the repository; refused")
            continue
        try:
            variables.update(read_env_file(str(r.base / name), nul_values=False))
        except LoadFailure as failure:
            at = f" line {failure.problem.line}" if failure.problem.line else ""
            r.error(at_key, f"{name}{at}: {failure.problem.message}")
    return variables


def _annotations(r: Resource) -> dict[str, str]:
    refuse_env_file_values(r, "annotations")
    return forms.string_map(r.body.get("annotations", {}))


def _labels(r: Resource) -> dict[str, str]:
    """`labels` over what `label_file` gives (Compose's rule: `labels` wins), the reserved prefix
    refused in both."""
    from_files = _variable_files(r, "label_file")
    for name in from_files:
        if (reserved := reserved_label(name)) is not None:
            r.error("label_file", f"{name}: {reserved}")
    return {**from_files, **r.labels()}


def _env(r: Resource) -> dict[str, str]:
    env = _variable_files(r, "env_file")
    declared = forms.string_map(r.body.get("env", {}))
    for name, value in declared.items():
        problem = _env_name_problem(name) or (f"the value {NUL_IN_VALUE}" if "\0" in value else None)
        if problem:
            r.error(("env", name), problem)
    return {**env, **declared}


def _env_name_problem(name: str) -> str | None:
    """Why the engine cannot take this variable name (moby opts.ValidateEnv refuses an empty one;
    a process environment is "NAME=value" strings, NUL-terminated), or None."""
    if not name:
        return "a variable name must not be empty: the engine refuses it"
    if "=" in name:
        return "a variable name must not hold '=': the engine would read the name up to it"
    if "\0" in name:
        return "a variable name must not hold a NUL character: no process environment can carry it"
    return None


def _mounts(r: Resource) -> tuple[Mount, ...]:
    """The mounts, each with the line it is written on (its own, or that of `mounts`). In a git
    checkout (`FileReport.confine`), a relative bind source must stay inside it."""
    mounts = []
    for index, mount in r.indexed("mounts", forms.mount, r.base):
        raw = r.body["mounts"][index]
        written = raw.split(":", 1)[0] if isinstance(raw, str) else raw.get("source") or ""
        confine = r.report.confine
        if (confine is not None and mount.type == "bind" and not written.startswith("/")
                and not Path(mount.source or "").is_relative_to(confine)):
            r.error(("mounts", index), f"{written} leads outside the repository; refused")
            continue
        mounts.append(dataclasses.replace(mount, line=r.report.line_of((*r.path, "mounts", index))))
    return tuple(mounts)


def _networks(r: Resource) -> tuple[NetworkAttachment, ...]:
    value = r.body.get("networks", [])
    if isinstance(value, list):
        return tuple(NetworkAttachment(name) for name in sorted(value))
    return tuple(
        NetworkAttachment(name, tuple(item.get("aliases", ())), item.get("ipv4_address"))
        for name, item in sorted(value.items())
    )


# Compose's names of the dependency conditions (compose-spec 05-services.md, depends_on).
_COMPOSE_CONDITIONS = {"service_started": "started", "service_healthy": "healthy",
                       "service_completed_successfully": "completed"}


def _depends_on(r: Resource) -> tuple[Dependency, ...]:
    value = r.body.get("depends_on", [])
    if isinstance(value, list):
        return tuple(Dependency(name) for name in sorted(value))
    conditions = ((name, item if isinstance(item, str) else item["condition"]) for name, item in sorted(value.items()))
    return tuple(Dependency(name, _COMPOSE_CONDITIONS.get(condition, condition)) for name, condition in conditions)


def _compose_reference(value: str) -> str:
    """A `network_mode` with Compose's `service:NAME` as `container:NAME` (every container is
    declared here, so the two mean one thing)."""
    return "container:" + value.removeprefix("service:") if value.startswith("service:") else value


def _healthcheck(r: Resource) -> Healthcheck | None:
    body = r.body.get("healthcheck")
    if body is None:
        return None
    written = r.written["healthcheck"]
    if body.get("disable"):
        if "test" in written:
            r.error(("healthcheck", "disable"), "disable = true and a test exclude each other")
        return Healthcheck(test=("NONE",))
    if body.get("retries") == 0:
        r.error(("healthcheck", "retries"), f"0 would make the engine use its default "
                f"({_HEALTHCHECK_DEFAULTS['retries']}): leave retries out for that, or give at least 1")
    timing = r.converted("healthcheck", ("interval", "timeout", "start_period", "start_interval"),
                         _healthcheck_duration)
    if "test" not in written:
        r.error("healthcheck", "missing required key 'test' (or disable = true)")
    if "test" not in body:
        return None
    test = body["test"]
    test = ("CMD-SHELL", test) if isinstance(test, str) else tuple(test)
    if test[0] != "NONE" and len(test) < 2:
        r.error(("healthcheck", "test"), f"{test[0]} needs a command after it")
    return Healthcheck(test=test, retries=body.get("retries", 3), **timing)


def _resources(r: Resource) -> Resources:
    body = r.body.get("resources", {})
    values = r.converted("resources", ("memory", "memory_reservation", "shm_size"), _size)
    memory, reservation = values.get("memory"), values.get("memory_reservation")
    if memory is not None and memory < MIN_MEMORY:
        r.error(("resources", "memory"), "must be at least 6m: the engine refuses less")
    if reservation is not None and 0 < reservation < MIN_MEMORY:
        r.error(("resources", "memory_reservation"), "must be 0 (none) or at least 6m: the engine refuses less")
    if memory is not None and reservation is not None and reservation > memory:
        r.error(("resources", "memory_reservation"), "must not be more than memory")
    return Resources(cpus=body.get("cpus"), pids_limit=body.get("pids_limit"), **values, **limits.resource_limits(r))


def _ulimits(r: Resource) -> tuple[Ulimit, ...]:
    limits = []
    for name, value in sorted(r.body.get("ulimits", {}).items()):
        soft, hard = (value, value) if isinstance(value, int) else (value["soft"], value["hard"])
        if hard != -1 and (soft == -1 or soft > hard):
            r.error(("ulimits", name), f"soft limit {soft} is more than the hard limit {hard}")
        limits.append(Ulimit(name, soft, hard))
    return tuple(limits)


def _stop_timeout(r: Resource) -> int | None:
    if "stop_timeout" not in r.body:
        return None
    seconds = r.convert("stop_timeout", duration)
    if seconds is None:
        return None
    if seconds != int(seconds):
        r.error("stop_timeout", "must be a whole number of seconds")
    return int(seconds)


def _extra_hosts(r: Resource) -> tuple[str, ...]:
    value = r.body.get("extra_hosts", [])
    if isinstance(value, dict):
        try:
            return tuple(forms.extra_host(f"{host}:{ip}") for host, ip in sorted(value.items()))
        except ValueError as error:
            r.error("extra_hosts", str(error))
            return ()
    return r.each("extra_hosts", forms.extra_host)


def _check_container(r: Resource, spec: ContainerSpec) -> None:
    mode = spec.network_mode
    if mode is not None and spec.networks:
        r.error("network_mode", "network_mode and networks exclude each other")
    if mode is not None and mode != "bridge" and spec.ports:
        r.error("ports", f"ports cannot be published with network_mode = \"{mode}\"")
    targets: set[str] = set()
    for index, mount in enumerate(spec.mounts):
        if mount.target in targets:
            r.error(("mounts", index), f"{mount.target} is already a mount target")
        targets.add(mount.target)
    for key in ("secrets", "configs"):
        for index, grant in enumerate(getattr(spec, key)):
            if grant.target in targets:
                r.error((key, index), f"{grant.target} is already a mount target")
            targets.add(grant.target)
    _, _, retries = spec.restart.partition(":")
    if retries and int(retries) > INT64_MAX:
        r.error("restart", f"the retry count must be at most {INT64_MAX} (int64)")


def _pull_interval(r: Resource) -> dict[str, float]:
    """{"pull_interval": seconds} when given; it spaces the registry checks of `pull = "newer"` and
    of a `build.pull = true` build's `FROM` images (images.bases) only."""
    if "pull_interval" not in r.body:
        return {}
    build = r.body.get("build")
    if r.body.get("pull") != "newer" and not (isinstance(build, dict) and build.get("pull") is True):
        r.error("pull_interval", 'only `pull = "newer"` and `build.pull = true` check the registry; set one, '
                'or leave pull_interval out')
        return {}
    seconds = r.convert("pull_interval", duration)
    return {} if seconds is None else {"pull_interval": seconds}


def container(r: Resource) -> ContainerSpec | None:
    body = r.body
    fields: dict[str, Any] = {key: body[key] for key in (*_COPIED, *_SWARM_COPIED) if key in body}
    if "network_mode" in fields:
        fields["network_mode"] = _compose_reference(fields["network_mode"])
    fields["image"] = None  # until it is checked; the schema reported it if it is missing
    for key, check in _CHECKED.items():
        if key in body:
            fields[key] = r.convert(key, check)
    if "dns" in body:
        fields["dns"] = r.each("dns", forms.ip_address) if isinstance(body["dns"], list) \
            else (r.convert("dns", forms.ip_address),)
    update = body.get("update", {})
    logging = body.get("logging")
    fields.update(built_image(r, fields["image"]))
    fields.update(limits.oom(r))
    spec = ContainerSpec(
        name=r.path[-1],
        source=r.source(),
        env=_env(r),
        labels=_labels(r),
        annotations=_annotations(r),
        ports=r.each("ports", forms.port),
        mounts=_mounts(r),
        networks=_networks(r),
        depends_on=_depends_on(r),
        update=UpdatePolicy(order=update.get("order", "stop-first"),
                            **r.converted("update", ("timeout",), _positive_duration),
                            **r.converted("update", ("monitor", "delay"), _duration),
                            **{key: update[key] for key in ("parallelism", "failure_action") if key in update}),
        healthcheck=_healthcheck(r),
        resources=_resources(r),
        extra_hosts=_extra_hosts(r),
        cap_add=r.each("cap_add", capability),
        cap_drop=r.each("cap_drop", capability),
        security_opt=r.each("security_opt", security_option),
        devices=r.each("devices", forms.device),
        sysctls=forms.string_map(body.get("sysctls", {})),
        ulimits=_ulimits(r),
        stop_timeout=_stop_timeout(r),
        **hooks(r, _env_name_problem),
        logging=Logging(logging["driver"], forms.string_map(logging.get("options", {}))) if logging else None,
        volumes_from=tuple(re.sub(r"^(service|container):", "", entry) for entry in body.get("volumes_from", ())),
        secrets=filesources.grants(r, "secrets"),
        configs=filesources.grants(r, "configs"),
        hosts=r.hosts(),
        profiles=tuple(body.get("profiles", ())),
        adopt=body.get("adopt", False),
        drift=body.get("drift", "revert"),
        **_pull_interval(r),
        **host_keys(r),
        **fields,
    )
    _check_container(r, spec)
    check_host_keys(r, spec)
    if r.report.target == HOST:
        for key, message in host_errors(spec):
            r.error(key, message)
    return spec if r.ok else None


_BUILDERS = {"container": container, "network": network, "volume": volume,
             "secret": filesources.declaration, "config": filesources.declaration}


def build(document: dict, report: FileReport, base: Path, failed: Collection[Path_] = ()) -> list[Spec]:
    """The specs of a schema-checked document. `failed` are the paths of the problems already
    reported (schema, interpolation): the rest of each resource is still checked, so that every
    problem is reported, but a resource with any problem gives no spec."""
    specs = []
    for kind, resources in document.items():
        if kind not in _BUILDERS or not isinstance(resources, dict):
            continue
        for name, body in resources.items():
            if not isinstance(body, dict):
                continue
            inside = [at[2:] for at in failed if at[:2] == (kind, name)]
            if kind == "container":
                body, inside = aliases.resolve(report, (kind, name), body, inside)
            spec = _BUILDERS[kind](Resource(report, (kind, name), body, base, inside))
            if spec is not None:
                specs.append(spec)
    return specs
