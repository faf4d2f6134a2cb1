"""Compose's container keys that the engine sets in Config and HostConfig one to one (`dns_search`,
`ipc`, `expose`, `gpus`, `tmpfs`, ...), each checked as the engine (Docker 20.10, API 1.41) would
refuse it, so that a file the engine cannot take fails at validation with its FILE:LINE: key.

`host_keys` gives the ContainerSpec fields of the keys present; `check_host_keys` the checks that
need the rest of the spec (a tmpfs path that is also a mount target).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

from reconciler.desired import forms
from reconciler.desired.resource import Resource
from reconciler.desired.tmpfs_options import check_tmpfs_options
from reconciler.desired.units import size
from reconciler.fields import GpuRequest
from reconciler.model import ContainerSpec

_LABEL = r"(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?", re.ASCII)
_DOMAIN_MAX = 255  # docker/cli opts.ValidateDNSSearch
_UTS_MAX = 64  # the kernel's __NEW_UTS_LEN, which setdomainname(2) enforces at start
_ID_MAX = 2**31 - 1  # runc libcontainer/user: ids in 0-2147483647
_EXPOSE = re.compile(r"([0-9]+)(?:-([0-9]+))?(?:/(tcp|udp|sctp))?")
# moby daemon/daemon_unix.go: IpcMode.Valid and PidMode.Valid, before `container:` / `service:`
_IPC_MODES = ("private", "shareable", "host", "none")
_PID_MODES = ("host",)
_MAC = re.compile(r"[0-9a-f]{2}(?::[0-9a-f]{2}){5}")
_PLATFORM = re.compile(r"[a-z0-9_-]+(?:/[a-z0-9_-]+){0,2}")
# moby daemon/daemon_unix.go (verifyPlatformContainerResources): how DeviceCgroupRules are parsed
_CGROUP_RULE = re.compile(r"([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})")


def dns_search(value: str) -> str:
    """A search domain as docker/cli opts.ValidateDNSSearch takes it: `.` or a domain name of
    RFC 1123 labels, at most 255 characters."""
    if value == "." or (len(value) <= _DOMAIN_MAX and _DOMAIN.fullmatch(value)):
        return value
    raise ValueError(f"'{value}' is not a search domain: expected a domain name such as example.com, or '.'")


def dns_option(value: str) -> str:
    """One resolv.conf option (`ndots:2`, `use-vc`): the engine writes it on the `options` line,
    so a blank or a line break would make it several options or another line."""
    if any(character.isspace() for character in value):
        raise ValueError(f"'{value}' is not a resolver option: it holds a blank or a line break")
    return value


def domainname(value: str) -> str:
    """The NIS domain name: at most 64 bytes, what setdomainname(2) takes (runc fails at start)."""
    if len(value.encode()) > _UTS_MAX:
        raise ValueError(f"the domain name is {len(value.encode())} bytes long: the kernel takes at most {_UTS_MAX}")
    return value


def expose(value: int | str) -> tuple[str, ...]:
    """Compose's `expose` entry (`3000`, `"3000"`, `"8000-8010/udp"`) as "PORT/PROTOCOL", one per port
    (docker/go-connections nat.ParsePortSpecs, as `docker run --expose`); protocol tcp unless given."""
    parts = _EXPOSE.fullmatch(str(value))
    if parts is None:
        raise ValueError(f"'{value}' is not a port: expected PORT, PORT/PROTOCOL or FIRST-LAST[/PROTOCOL]"
                         " (protocol tcp, udp or sctp)")
    first = forms.port_number(parts[1])
    last = forms.port_number(parts[2]) if parts[2] else first
    if last < first:
        raise ValueError(f"'{value}': the range ends before it starts")
    return tuple(f"{port}/{parts[3] or 'tcp'}" for port in range(first, last + 1))


def group(value: str | int) -> str:
    """A supplementary group by name or number (runc libcontainer/user GetAdditionalGroups)."""
    name = str(value)
    if name.isdigit() and int(name) > _ID_MAX:
        raise ValueError(f"group id {name} is out of range: the engine takes 0 to {_ID_MAX}")
    if ":" in name or any(character.isspace() or not character.isprintable() for character in name):
        raise ValueError(f"'{name}' is not a group: a name holds no ':', blank or control character")
    return name


def namespace(value: str, modes: tuple[str, ...], key: str) -> str:
    """An `ipc` or `pid` mode: one of `modes`, or `container:NAME` / Compose's `service:NAME`, which
    mean the same here (NAME is a declared container) and are stored as `container:NAME`."""
    kind, separator, name = value.partition(":")
    if separator and kind in ("container", "service") and name:
        return f"container:{name}"
    if value in modes:
        return value
    raise ValueError(f"'{value}' is not a {key} mode: expected {', '.join(modes)}, container:NAME or service:NAME")


def mac_address(value: str) -> str:
    """A unicast MAC address, six pairs of hex digits separated by ':' (or '-'), stored in lower case
    with ':'; a multicast address (lowest bit of the first octet set) cannot name one interface."""
    mac = value.lower().replace("-", ":")
    if not _MAC.fullmatch(mac):
        raise ValueError(f"'{value}' is not a MAC address: expected six pairs of hex digits such as 02:42:ac:11:00:02")
    if int(mac[:2], 16) & 1:
        raise ValueError(f"'{value}' is a multicast address: a container's interface needs a unicast one")
    return mac


def platform(value: str) -> str:
    """`os[/arch[/variant]]` as containerd's platforms.Parse reads it, in lower case."""
    written = value.lower()
    if not _PLATFORM.fullmatch(written):
        raise ValueError(f"'{value}' is not a platform: expected os[/arch[/variant]] such as linux/amd64")
    return written


def device_cgroup_rule(value: str) -> str:
    """`TYPE MAJOR:MINOR PERMISSIONS` as the engine parses it: type a, c or b, major and minor a
    number or `*`, permissions from r, w and m (moby daemon_unix.go, the deviceCgroupRuleRegex)."""
    if not _CGROUP_RULE.fullmatch(value):
        raise ValueError(f"'{value}' is not a device cgroup rule: expected TYPE MAJOR:MINOR PERMISSIONS such as"
                         " 'c 1:3 mr' or 'a *:* rwm' (type a, b or c; numbers or *; permissions of r, w, m)")
    return value


def tmpfs_entry(value: str) -> tuple[str, str]:
    """Compose's `tmpfs` entry `"/path"` or `"/path:size=64m,mode=1777"` as (path, options): an
    absolute path and the mount options the engine and the kernel take for a tmpfs
    (`tmpfs_options.check_tmpfs_options`)."""
    path, _, options = value.partition(":")
    if not path.startswith("/"):
        raise ValueError(f"'{path}' is not an absolute path")
    check_tmpfs_options(options)
    return os.path.normpath(path), options


def storage_options(value: dict | list) -> dict[str, str]:
    """A table of storage driver options; `size` must be a size (the engine's units.RAMInBytes)."""
    options = forms.string_map(value)
    if "size" in options:
        size(options["size"])
    return options


def gpu(value: dict) -> GpuRequest:
    """One of Compose's `gpus` entries, a DeviceRequest; `count = "all"` is -1, and count and
    device_ids exclude each other (Compose's rule)."""
    if "count" in value and "device_ids" in value:
        raise ValueError("count and device_ids exclude each other")
    count = value.get("count")
    return GpuRequest(
        driver=value.get("driver"),
        count=-1 if count == "all" else count,
        device_ids=tuple(value.get("device_ids", ())),
        capabilities=tuple(value.get("capabilities", ("gpu",))),
        options=forms.string_map(value.get("options", {})),
    )


def _listed(r: Resource, key: str, check: Callable[[Any], Any]) -> tuple:
    """The checked items of a key written as one value or a list of them."""
    if isinstance(r.body[key], list):
        return r.each(key, check)
    checked = r.convert(key, check)
    return () if checked is None else (checked,)


def _gpus(r: Resource) -> tuple[GpuRequest, ...]:
    if r.body["gpus"] == "all":
        return (GpuRequest(count=-1),)
    return r.each("gpus", gpu)


def _tmpfs(r: Resource) -> dict[str, str]:
    """{path: options} of the tmpfs entries; a path given twice is reported at its second index."""
    if not isinstance(r.body["tmpfs"], list):
        checked = r.convert("tmpfs", tmpfs_entry)
        return dict([checked]) if checked else {}
    entries: dict[str, str] = {}
    for index, (path, options) in r.indexed("tmpfs", tmpfs_entry):
        if path in entries:
            r.error(("tmpfs", index), f"{path} is already a tmpfs path")
        entries[path] = options
    return dict(sorted(entries.items()))


_SINGLE: dict[str, Callable[[Any], Any]] = {
    "domainname": domainname, "ipc": lambda v: namespace(v, _IPC_MODES, "ipc"),
    "pid": lambda v: namespace(v, _PID_MODES, "pid"), "mac_address": mac_address, "platform": platform,
    "storage_opt": storage_options,
}
_COPIED = ("uts", "userns_mode", "cgroup", "cgroup_parent", "stdin_open", "runtime")


def host_keys(r: Resource) -> dict[str, Any]:
    """The ContainerSpec fields of the keys present in the body, each reported at its key when the
    engine would refuse it."""
    body = r.body
    fields: dict[str, Any] = {key: body[key] for key in _COPIED if key in body}
    for key, check in _SINGLE.items():
        if key in body:
            fields[key] = r.convert(key, check)
    if "dns_search" in body:
        fields["dns_search"] = _listed(r, "dns_search", dns_search)
    lists = {"dns_opt": dns_option, "group_add": group, "device_cgroup_rules": device_cgroup_rule}
    fields.update({key: r.each(key, check) for key, check in lists.items() if key in body})
    if "expose" in body:
        fields["expose"] = tuple(sorted({port for ports in r.each("expose", expose) for port in ports},
                                        key=lambda port: (int(port.split("/")[0]), port)))
    if "gpus" in body:
        fields["gpus"] = _gpus(r)
    if "tmpfs" in body:
        fields["tmpfs"] = _tmpfs(r)
    return {key: value for key, value in fields.items() if value is not None}


def check_host_keys(r: Resource, spec: ContainerSpec) -> None:
    """Checks against the rest of the spec, as the engine makes them (moby runconfig
    hostconfig_unix.go validateNetMode and validateUTSMode): a tmpfs path that is also a mount
    target or a secret's or config's target (Docker would hide the file under the tmpfs, Podman
    refuses the duplicate); a MAC address with the host's or another container's network; exposed
    ports with another container's network; a host or domain name with the host's UTS namespace
    (the engine refuses the host name at create, runc fails the domain name at start)."""
    targets = {mount.target for mount in spec.mounts} | {grant.target for grant in (*spec.secrets, *spec.configs)}
    for path in spec.tmpfs:
        if path in targets:
            r.error("tmpfs", f"{path} is also a mount target: the engine refuses a duplicate mount point")
    mode = spec.network_mode or ""
    if spec.mac_address is not None and (mode == "host" or mode.startswith("container:")):
        r.error("mac_address", f'a MAC address cannot be set with network_mode = "{mode}": the engine refuses it')
    if spec.expose and mode.startswith("container:"):
        r.error("expose", f'ports cannot be exposed with network_mode = "{mode}": the engine refuses it')
    for key in ("hostname", "domainname"):
        if spec.uts == "host" and getattr(spec, key) is not None:
            r.error(key, f'a {key} cannot be set with uts = "host": the container has the host\'s')
