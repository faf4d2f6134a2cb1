"""Specs -> Engine API request bodies.

Pure functions: the body of `POST /containers/create` (Engine API field names, so it reads like
the API reference and works on any Docker-compatible engine), and the arguments of the network
and volume create calls. No I/O here, so every mapping is unit-tested without an engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.fields import Device, Mount, NetworkAttachment
from reconciler.model import ContainerSpec, NetworkSpec, VolumeSpec
from runtime.docker_host_keys import bind_suffix, config_fields, exposed_ports, host_fields, mount_options
from runtime.docker_limits import limit_fields

NANOS = 1_000_000_000
# The first API version that accepts several networks in the create call's NetworkingConfig.
MULTI_ENDPOINT_API = (1, 44)


def api_version_tuple(version: str) -> tuple[int, ...]:
    """"1.41" -> (1, 41); an engine that said no version is () (older than any)."""
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def restart_policy(restart: str) -> dict[str, Any]:
    name, _, count = restart.partition(":")
    policy: dict[str, Any] = {"Name": name}
    if name == "on-failure" and count:
        policy["MaximumRetryCount"] = int(count)
    return policy


def _nanos(seconds: float) -> int:
    return int(round(seconds * NANOS))


def _bind(mount: Mount) -> str:
    """A short-form bind as HostConfig.Binds takes it, "source:target[:ro,propagation]": the engine creates a
    missing host path as a folder (what Compose's short syntax sends), where a Mount is refused."""
    return f"{mount.source}:{mount.target}" + bind_suffix(mount)


def _is_bind(mount: Mount) -> bool:
    """Whether the mount goes in HostConfig.Binds: a short-form bind (the engine creates its missing
    host path), or a bind relabelled for SELinux (`z`/`Z`, which only Binds can ask for)."""
    return mount.create_host_path or mount.selinux is not None


def _mount(mount: Mount) -> dict[str, Any]:
    body: dict[str, Any] = {"Type": mount.type, "Target": mount.target, "ReadOnly": mount.read_only}
    if mount.source is not None:
        body["Source"] = mount.source
    if mount.type == "tmpfs" and mount.tmpfs_size is not None:
        body["TmpfsOptions"] = {"SizeBytes": mount.tmpfs_size}
    for key, options in mount_options(mount).items():
        body[key] = {**body.get(key, {}), **options}
    return body


def _device(device: Device) -> dict[str, str]:
    return {"PathOnHost": device.host, "PathInContainer": device.container,
            "CgroupPermissions": device.permissions}


def _ports(spec: ContainerSpec) -> tuple[dict[str, dict], dict[str, list[dict[str, str]]]]:
    exposed: dict[str, dict] = {}
    bindings: dict[str, list[dict[str, str]]] = {}
    for port in spec.ports:
        key = f"{port.container_port}/{port.protocol}"
        exposed[key] = {}
        binding = {"HostIp": port.host_ip or "", "HostPort": str(port.host_port or "")}
        bindings.setdefault(key, []).append(binding)
    return exposed, bindings


def endpoint_config(attachment: NetworkAttachment) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if attachment.aliases:
        body["Aliases"] = list(attachment.aliases)
    if attachment.ipv4_address:
        body["IPAMConfig"] = {"IPv4Address": attachment.ipv4_address}
    return body


def _host_config(spec: ContainerSpec, network_mode: str, bindings: dict[str, list]) -> dict[str, Any]:
    res = spec.resources
    host: dict[str, Any] = {
        "NetworkMode": network_mode,
        "RestartPolicy": restart_policy(spec.restart),
        "PortBindings": bindings,
        "Binds": [_bind(m) for m in spec.mounts if _is_bind(m)],
        "Mounts": [_mount(m) for m in spec.mounts if not _is_bind(m)],
        "Privileged": spec.privileged,
        "ReadonlyRootfs": spec.read_only,
        "Init": spec.init,
        "CapAdd": list(spec.cap_add),
        "CapDrop": list(spec.cap_drop),
        "SecurityOpt": list(spec.security_opt),
        "Devices": [_device(d) for d in spec.devices],
        "Sysctls": dict(spec.sysctls),
        "Ulimits": [{"Name": u.name, "Soft": u.soft, "Hard": u.hard} for u in spec.ulimits],
        "ExtraHosts": list(spec.extra_hosts),
        "Dns": list(spec.dns),
        "VolumesFrom": list(spec.volumes_from),
    }
    if spec.annotations:
        host["Annotations"] = dict(spec.annotations)
    if spec.logging is not None:
        host["LogConfig"] = {"Type": spec.logging.driver, "Config": dict(spec.logging.options)}
    optional = {
        "Memory": res.memory,
        "MemoryReservation": res.memory_reservation,
        "NanoCpus": None if res.cpus is None else int(round(res.cpus * NANOS)),
        "PidsLimit": res.pids_limit,
        "ShmSize": res.shm_size,
        **limit_fields(spec),
    }
    host.update({key: value for key, value in optional.items() if value is not None})
    host.update(host_fields(spec))
    return host


def _healthcheck(spec: ContainerSpec) -> dict[str, Any] | None:
    check = spec.healthcheck
    if check is None:
        return None
    body = {
        "Test": list(check.test),
        "Interval": _nanos(check.interval),
        "Timeout": _nanos(check.timeout),
        "Retries": check.retries,
        "StartPeriod": _nanos(check.start_period),
    }
    if check.start_interval is not None:
        body["StartInterval"] = _nanos(check.start_interval)
    return body


def container_body(
    spec: ContainerSpec, labels: Mapping[str, str], api_version: str
) -> tuple[dict[str, Any], tuple[NetworkAttachment, ...]]:
    """The create body, and the networks still to connect before the first start (those the
    engine's API version cannot take in the create call)."""
    attachments = spec.networks
    network_mode = spec.network_mode or (attachments[0].name if attachments else "default")
    if api_version_tuple(api_version) >= MULTI_ENDPOINT_API:
        at_create, later = attachments, ()
    else:
        at_create = tuple(a for a in attachments if a.name == network_mode)[:1]
        later = tuple(a for a in attachments if a not in at_create)
    exposed, bindings = _ports(spec)
    body: dict[str, Any] = {
        "Image": spec.image,
        "Env": [f"{key}={value}" for key, value in spec.env.items()],
        "Labels": {**spec.labels, **labels},
        "ExposedPorts": exposed,
        "Tty": spec.tty,
        "OpenStdin": False,
        "HostConfig": _host_config(spec, network_mode, bindings),
        "NetworkingConfig": {"EndpointsConfig": {a.name: endpoint_config(a) for a in at_create}},
    }
    optional = {
        "Cmd": None if spec.command is None else list(spec.command),
        "Entrypoint": None if spec.entrypoint is None else list(spec.entrypoint),
        "WorkingDir": spec.working_dir,
        "User": spec.user,
        "Hostname": spec.hostname,
        "StopSignal": spec.stop_signal,
        "StopTimeout": spec.stop_timeout,
        "Healthcheck": _healthcheck(spec),
    }
    body.update({key: value for key, value in optional.items() if value is not None})
    body.update(config_fields(spec))
    body["ExposedPorts"].update(exposed_ports(spec))
    return body, later


def network_kwargs(spec: NetworkSpec, labels: Mapping[str, str]) -> dict[str, Any]:
    """Keyword arguments of docker's `APIClient.create_network`."""
    ipam = None
    if spec.subnet or spec.gateway or spec.ip_range:
        pool = {"Subnet": spec.subnet, "Gateway": spec.gateway, "IPRange": spec.ip_range}
        ipam = {"Driver": "default", "Config": [{k: v for k, v in pool.items() if v}]}
    return {
        "name": spec.name,
        "driver": spec.driver,
        "options": dict(spec.options),
        "ipam": ipam,
        "check_duplicate": True,
        "internal": spec.internal,
        "attachable": spec.attachable or None,
        "labels": {**spec.labels, **labels},
    }


def volume_kwargs(spec: VolumeSpec, labels: Mapping[str, str]) -> dict[str, Any]:
    """Keyword arguments of docker's `APIClient.create_volume`."""
    return {
        "name": spec.name,
        "driver": spec.driver,
        "driver_opts": dict(spec.options),
        "labels": {**spec.labels, **labels},
    }
