"""The short and long forms of the file format, each turned into one model value.

Every function takes a value the schema already accepted and returns the normalised value, or
raises ValueError with a message for what the schema cannot check (ranges, addresses, quoting).
"""

from __future__ import annotations

import ipaddress
import os
import re
import shlex
from pathlib import Path
from typing import Any

from reconciler.desired.mount_options import mount_options, short_options
from reconciler.fields import Device, Mount, PortMapping

_PORT = re.compile(
    r"(?:(?P<ip>[0-9]{1,3}(?:\.[0-9]{1,3}){3}|\[[0-9a-fA-F:.]+\]):)?"
    r"(?:(?P<host>[0-9]*):)?(?P<container>[0-9]+)(?:/(?P<protocol>tcp|udp|sctp))?"
)


def text(value: Any) -> str:
    """A scalar as the engine wants it: booleans as true/false, numbers as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def string_map(value: dict | list) -> dict[str, str]:
    """A table of key = scalar, or a list of "key=value", as a dict sorted by key."""
    pairs = value.items() if isinstance(value, dict) else (item.split("=", 1) for item in value)
    return {key: text(item) for key, item in sorted(pairs)}


def argv(value: str | list) -> tuple[str, ...]:
    """A command line: a list as it is, a string split like a POSIX shell does."""
    if isinstance(value, list):
        return tuple(value)
    try:
        return tuple(shlex.split(value))
    except ValueError as error:
        raise ValueError(f"cannot split the command line: {error}") from None


def port_number(value: int | str) -> int:
    number = int(value)
    if not 1 <= number <= 65535:
        raise ValueError(f"port {number} is out of range (1-65535)")
    return number


def ip_address(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError(f"'{value}' is not an IP address") from None


def port(value: int | str | dict) -> PortMapping:
    """`8080`, `"[ip:][host:]container[/protocol]"`, or `{ target, published, host_ip, protocol, mode }`
    (`mode`: how Swarm publishes it, "ingress" or "host"; the short forms are "ingress", as Compose's)."""
    if isinstance(value, int):
        return PortMapping(container_port=port_number(value))
    if isinstance(value, dict):
        published = value.get("published")
        host_ip = value.get("host_ip")
        return PortMapping(
            container_port=port_number(value["target"]),
            protocol=value.get("protocol", "tcp"),
            host_ip=ip_address(host_ip) if host_ip is not None else None,
            host_port=port_number(published) if published is not None else None,
            mode=value.get("mode", "ingress"),
        )
    parts = _PORT.fullmatch(value)
    if parts is None:
        raise ValueError(f"'{value}' is not a port")
    ip, host = parts["ip"], parts["host"]
    return PortMapping(
        container_port=port_number(parts["container"]),
        protocol=parts["protocol"] or "tcp",
        host_ip=ip_address(ip.strip("[]")) if ip else None,
        host_port=port_number(host) if host else None,
    )


def _bind_source(source: str, base: Path) -> str:
    if not source.startswith(("/", "./", "../")) and source not in (".", ".."):
        raise ValueError(f"a bind mount's source must be a path starting with /, ./ or ../, not '{source}'")
    return os.path.normpath(base / source)


def mount(value: str | dict, base: Path) -> Mount:
    """`"source:/target[:options]"` (the options of `short_options`: "ro", "ro,rslave", "z", ...) or
    `{ type, source, target, read_only, ... }` with the options of `mount_options` (Compose's nested
    spellings among them).

    In the short form a source starting with `/`, `./` or `../` is a host path (relative to the
    file's folder), anything else a volume name. A short-form bind is one the engine creates the
    host path of when it is missing, as Compose's short syntax does; the long form's host path
    must exist. The host is never looked at here.
    """
    if isinstance(value, str):
        source, target, *mode = value.split(":")
        kind = "bind" if source.startswith(("/", ".")) else "volume"
        options = {"create_host_path": True} if kind == "bind" else {}
        options.update(short_options(kind, mode[0]) if mode else {})
        value = {"type": kind, "source": source, "target": target, "read_only": options.pop("read_only", False)}
    else:
        options = mount_options(value)
    kind, source, target = value["type"], value.get("source"), os.path.normpath(value["target"])
    if kind == "tmpfs":
        if source is not None:
            raise ValueError("a tmpfs mount has no source")
        return Mount("tmpfs", target, read_only=value.get("read_only", False), **options)
    if source is None:
        raise ValueError(f"a {kind} mount needs a source")
    if kind == "bind":
        source = _bind_source(source, base)
    return Mount(kind, target, source=source, read_only=value.get("read_only", False), **options)


def _permissions(text: str) -> str | None:
    """Device cgroup permissions in r, w, m order, or None unless `text` is a non-empty subset
    of r, w and m, each at most once (docker/cli opts.go validDeviceMode)."""
    if not text or len(set(text)) != len(text) or not set(text) <= set("rwm"):
        return None
    return "".join(letter for letter in "rwm" if letter in text)


def device(value: str) -> Device:
    """`"/dev/host[:/dev/container][:permissions]"`, read as `docker run --device` reads it
    (docker/cli cli/command/container/opts.go parseLinuxDevice, then validateLinuxPath): a second
    part that is valid permissions is the permissions, otherwise the container path; permissions
    default to rwm; both paths are absolute (a relative host path would be a CDI device name)."""
    host, *rest = value.split(":")
    if len(rest) > 2:
        raise ValueError(f"'{value}' is not a device: expected /dev/host[:/dev/container][:rwm]")
    if not host.startswith("/"):
        raise ValueError(f"the host device '{host}' must be an absolute path")
    if len(rest) == 2:
        inside, mode = rest
    elif rest and _permissions(rest[0]):
        inside, mode = host, rest[0]
    else:
        inside, mode = (rest or [host])[0], "rwm"
    permissions = _permissions(mode)
    if permissions is None:
        raise ValueError(f"'{mode}' are not device permissions: a subset of r (read), w (write) and m (mknod),"
                         " each at most once")
    if not inside.startswith("/"):
        what = "not" if len(rest) == 2 else "neither device permissions (r, w, m) nor"
        raise ValueError(f"'{inside}' is {what} an absolute path in the container")
    return Device(host, inside, permissions)


def extra_host(entry: str) -> str:
    """`"host:ip"` or `"host=ip"` as `host:ip`; the ip may be `host-gateway`."""
    separator = min((i for i in (entry.find(":"), entry.find("=")) if i > 0), default=-1)
    host, address = entry[:separator], entry[separator + 1 :]
    return f"{host}:{address if address == 'host-gateway' else ip_address(address)}"


HOST_NAME_MAX = 64  # bytes, the kernel's limit (include/uapi/linux/utsname.h __NEW_UTS_LEN)
_HOST_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?", re.ASCII)


def hostname(value: str) -> str:
    """A container's host name: RFC 1123 labels (letters, digits and '-', 1 to 63 characters, not
    starting or ending with '-') separated by dots, at most 64 bytes in all. Compose checks
    neither; the engine creates a container with a longer name and fails to start it, where
    runc's sethostname(2) refuses it ("sethostname: invalid argument")."""
    length = len(value.encode())
    if length > HOST_NAME_MAX:
        raise ValueError(f"the host name is {length} bytes long: the kernel takes at most {HOST_NAME_MAX}"
                         " (HOST_NAME_MAX), so the engine would fail to start the container")
    if not all(_HOST_LABEL.fullmatch(label) for label in value.split(".")):
        raise ValueError(f"'{value}' is not a host name: expected labels of letters, digits and '-' separated"
                         " by dots, none empty or starting or ending with '-' (RFC 1123)")
    return value


_ID_MAX = 2**31 - 1  # runc libcontainer/user: "uids and gids must be in range 0-2147483647"


def user(value: str) -> str:
    """`name`, `uid`, `name:group` or `uid:gid`, as the engine reads `User` (runc libcontainer/user
    GetExecUser: a user and an optional group, each a name looked up in the image or a number).
    The engine ignores anything after a second ':' and fails at start on an id out of range; a
    name never holds whitespace or a control character (/etc/passwd and /etc/group are lines of
    ':'-separated fields, and shadow-utils refuses blanks)."""
    parts = value.split(":")
    if len(parts) > 2 or not all(parts):
        raise ValueError(f"'{value}' is not a user: expected \"name\", \"uid\", \"name:group\" or \"uid:gid\"")
    for part in parts:
        if re.fullmatch(r"-?[0-9]+", part) and not 0 <= int(part) <= _ID_MAX:
            raise ValueError(f"id {part} is out of range: the engine takes 0 to {_ID_MAX}")
        if any(character.isspace() or not character.isprintable() for character in part):
            raise ValueError(f"'{value}' is not a user: a name holds no blank or control character")
    return value
