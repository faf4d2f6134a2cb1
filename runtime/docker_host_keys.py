"""Compose's one-to-one container keys and mount options -> their Engine API 1.41 fields.

Pure: `docker_specs.container_body` adds `config_fields` to Config, `host_fields` to HostConfig
and `mount_options` to each Mount; a key left at its default sends nothing, so a body without
them is the body the engine got before these keys existed. Field names: the Engine API reference
(ContainerConfig, HostConfig, Mount, DeviceRequest).
"""

from __future__ import annotations

from typing import Any

from reconciler.fields import GpuRequest, Mount
from reconciler.model import ContainerSpec


def _present(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields that say something: None, empty and False ones are the engine's defaults."""
    return {key: value for key, value in fields.items() if value not in (None, [], {}, False)}


def config_fields(spec: ContainerSpec) -> dict[str, Any]:
    """Config.Domainname, Config.MacAddress and Config.OpenStdin (`stdin_open`)."""
    return _present({"Domainname": spec.domainname, "MacAddress": spec.mac_address, "OpenStdin": spec.stdin_open})


def exposed_ports(spec: ContainerSpec) -> dict[str, dict]:
    """Config.ExposedPorts entries of `expose` ("3000/tcp": {}), merged with the published ports'."""
    return {port: {} for port in spec.expose}


def _device_request(gpu: GpuRequest) -> dict[str, Any]:
    """A DeviceRequest as `docker run --gpus` sends it: Capabilities is a list of alternatives,
    each a list of capabilities all required; Count -1 is every GPU."""
    return {"Driver": gpu.driver or "", "Count": gpu.count if gpu.count is not None else 0,
            "DeviceIDs": list(gpu.device_ids), "Capabilities": [list(gpu.capabilities)],
            "Options": dict(gpu.options)}


def host_fields(spec: ContainerSpec) -> dict[str, Any]:
    """HostConfig.DnsSearch, DnsOptions, GroupAdd, IpcMode, PidMode, UTSMode, UsernsMode,
    CgroupnsMode, CgroupParent, Runtime, DeviceRequests, StorageOpt, Tmpfs, DeviceCgroupRules.
    `ipc`/`pid = "container:NAME"` go as written: the engine resolves NAME to the container's id."""
    return _present({
        "DnsSearch": list(spec.dns_search),
        "DnsOptions": list(spec.dns_opt),
        "GroupAdd": list(spec.group_add),
        "IpcMode": spec.ipc,
        "PidMode": spec.pid,
        "UTSMode": spec.uts,
        "UsernsMode": spec.userns_mode,
        "CgroupnsMode": spec.cgroup,
        "CgroupParent": spec.cgroup_parent,
        "Runtime": spec.runtime,
        "DeviceRequests": [_device_request(gpu) for gpu in spec.gpus],
        "StorageOpt": dict(spec.storage_opt),
        "Tmpfs": dict(spec.tmpfs),
        "DeviceCgroupRules": list(spec.device_cgroup_rules),
    })


def mount_options(mount: Mount) -> dict[str, Any]:
    """A Mount's VolumeOptions {NoCopy, Labels, Subpath}, TmpfsOptions.Mode and
    BindOptions.Propagation, as far as the mount sets them (TmpfsOptions.SizeBytes is the
    caller's, from before these options)."""
    body: dict[str, Any] = {}
    volume = _present({"NoCopy": mount.nocopy, "Labels": dict(mount.labels), "Subpath": mount.subpath})
    if volume:
        body["VolumeOptions"] = volume
    if mount.tmpfs_mode is not None:
        body["TmpfsOptions"] = {"Mode": mount.tmpfs_mode}
    if mount.propagation is not None:
        body["BindOptions"] = {"Propagation": mount.propagation}
    return body


def bind_suffix(mount: Mount) -> str:
    """The options of a HostConfig.Binds entry after the target: ":ro", ":rshared", ":ro,rshared",
    ":ro,z" (SELinux relabel, which only Binds can ask for: the Mounts API has no such option)."""
    options = ["ro"] * mount.read_only + [option for option in (mount.propagation, mount.selinux) if option]
    return ":" + ",".join(options) if options else ""
