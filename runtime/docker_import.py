"""Engine API inspect answers -> desired-state tables: the inverse of `docker_specs`.

Pure. `container_table` reads a container's inspect with its image's and leaves out every value
the image or the engine would give anyway (`engine_defaults`), so what is left is what the user
chose, in Compose's key names and value forms (compose-spec 05-services.md) as docs/format.md
takes them; `network_table` and `volume_table` do the same for a network and a volume. What has no
key here is returned as `(key, why)` to report, never silently dropped.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import ip_network
from typing import Any

from runtime import docker_import_host as hostkeys
from runtime.docker_import_host import size
from runtime.docker_specs import NANOS
from runtime.engine_defaults import EngineDefaults

_COMPOSE_LABEL = "com.docker.compose."
_RESERVED_LABEL = "io.reconciler."
_ANONYMOUS = re.compile(r"[0-9a-f]{64}")
_DEFAULT_CHECK = {"Interval": 30 * NANOS, "Timeout": 30 * NANOS, "Retries": 3, "StartPeriod": 0}
# What a container in another's network namespace (`network_mode = "container:X"`) takes from X and
# the engine refuses to be set (moby runconfig validateNetContainerMode; Podman's DNS and hosts
# options likewise): its inspect shows X's, which the import must not write.
_NETWORK_SHARED = ("hostname", "mac_address", "dns", "dns_search", "dns_opt", "extra_hosts", "ports", "expose")
_DURATION_UNITS = (("h", 3600 * NANOS), ("m", 60 * NANOS), ("s", NANOS), ("ms", 1_000_000), ("us", 1000))


@dataclass
class ImportedContainer:
    """A container as desired state: `table` in the order to write it, the environment apart
    (`env`: name -> value, the values the file must not hold), the user networks and named
    volumes it uses, and the keys it had that cannot be carried (`skipped`: (key, why))."""

    name: str
    table: dict[str, Any]
    env: dict[str, str] = field(default_factory=dict)
    networks: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def literal(text: str) -> str:
    """`text` as a TOML string value our loader reads back unchanged: each `$` doubled, since
    `$$` is a literal `$` and `${...}` is interpolated (reconciler/desired/interpolate.py)."""
    return text.replace("$", "$$")


def duration(nanos: int) -> str:
    """Nanoseconds as our duration form, "1m30s", "500ms"."""
    parts, left = [], nanos
    for unit, factor in _DURATION_UNITS:
        if left >= factor:
            parts.append(f"{left // factor}{unit}")
            left %= factor
    return "".join(parts) or "0s"


def signal_number(value: str | None) -> int | None:
    """"SIGQUIT", "quit" or "3" (how Docker and Podman keep Config.StopSignal) -> 3."""
    if not value:
        return None
    if value.isdigit():
        return int(value)
    name = value.upper()
    try:
        return int(signal.Signals[name if name.startswith("SIG") else f"SIG{name}"])
    except KeyError:
        return None


def _strings(values: Sequence[str] | None) -> list[str]:
    return [literal(v) for v in values or ()]


def _string_map(values: Mapping[str, str] | None) -> dict[str, str]:
    return {key: literal(value) for key, value in sorted((values or {}).items())}


def _env(config: Mapping[str, Any], image: Mapping[str, Any], defaults: EngineDefaults) -> dict[str, str]:
    inherited = set(image.get("Env") or ())
    engine = {f"{key}={value}" for key, value in defaults.env.items()}
    engine.add(f"HOSTNAME={config.get('Hostname') or ''}")
    return dict(entry.split("=", 1) for entry in config.get("Env") or () if "=" in entry
                and entry not in inherited and entry not in engine)


def _labels(config: Mapping[str, Any], image: Mapping[str, Any], skipped: list) -> dict[str, str]:
    inherited = image.get("Labels") or {}
    labels = {}
    for key, value in (config.get("Labels") or {}).items():
        if inherited.get(key) == value or key.startswith(_RESERVED_LABEL):
            continue
        if key.startswith(_COMPOSE_LABEL):
            skipped.append((f"labels.{key}", "Compose's own bookkeeping label: the reconciler owns the container now"))
            continue
        labels[key] = value
    return _string_map(labels)


def _command(config: Mapping[str, Any], image: Mapping[str, Any]) -> dict[str, list[str]]:
    """`entrypoint` when it is not the image's (then the engine takes no Cmd from the image, so
    `command` is written as given), else `command` when it is not the image's."""
    entrypoint, cmd = config.get("Entrypoint") or [], config.get("Cmd") or []
    image_entrypoint, image_cmd = image.get("Entrypoint") or [], image.get("Cmd") or []
    if entrypoint != image_entrypoint or (image_cmd and not cmd):
        return {"entrypoint": _strings(entrypoint), **({"command": _strings(cmd)} if cmd else {})}
    return {"command": _strings(cmd)} if cmd != image_cmd else {}


def _check(check: Mapping[str, Any] | None) -> dict[str, Any]:
    """A Healthcheck as the engine runs it: zero fields are its defaults (30s, 30s, 3, 0s)."""
    if not check or not check.get("Test"):
        return {}
    return {"Test": list(check["Test"]), **{key: check.get(key) or value for key, value in _DEFAULT_CHECK.items()}}


def _healthcheck(config: Mapping[str, Any], image: Mapping[str, Any]) -> dict[str, Any] | None:
    check, inherited = _check(config.get("Healthcheck")), _check(image.get("Healthcheck"))
    if not check or check == inherited:
        return None
    if check["Test"] == ["NONE"]:
        return {"disable": True}
    table: dict[str, Any] = {"test": _strings(check["Test"])}
    for key, name in (("Interval", "interval"), ("Timeout", "timeout"), ("StartPeriod", "start_period")):
        if check[key] != _DEFAULT_CHECK[key]:
            table[name] = duration(check[key])
    if check["Retries"] != _DEFAULT_CHECK["Retries"]:
        table["retries"] = check["Retries"]
    return table


def _ports(host: Mapping[str, Any]) -> list[str]:
    """PortBindings as Compose's short form, "[ip:][host:]container[/protocol]"."""
    ports = []
    for key, bindings in sorted((host.get("PortBindings") or {}).items()):
        port, _, protocol = key.partition("/")
        suffix = "" if protocol in ("", "tcp") else f"/{protocol}"
        for binding in bindings or [{}]:
            address, published = binding.get("HostIp") or "", binding.get("HostPort") or ""
            address = f"[{address}]" if ":" in address else address
            prefix = f"{address}:{published}:" if address else f"{published}:" if published else ""
            ports.append(f"{prefix}{port}{suffix}")
    return ports


def _expose(config: Mapping[str, Any], image: Mapping[str, Any], host: Mapping[str, Any]) -> list[str]:
    published = set(host.get("PortBindings") or {})
    inherited = set(image.get("ExposedPorts") or {})
    return sorted(port for port in config.get("ExposedPorts") or {} if port not in published | inherited)


def _options(text: str, defaults: EngineDefaults) -> list[str]:
    return [option for option in text.split(",") if option and option not in defaults.mount_options]


def _bind(entry: str, defaults: EngineDefaults, volumes: list[str]) -> str:
    """A HostConfig.Binds entry ("source:target[:options]") with the engine's own options dropped."""
    source, target, *rest = entry.split(":")
    options = _options(rest[0], defaults) if rest else []
    if not source.startswith("/"):
        volumes.append(source)
    return literal(f"{source}:{target}" + (f":{','.join(options)}" if options else ""))


def _mount(mount: Mapping[str, Any], volumes: list[str]) -> dict[str, Any]:
    """A HostConfig.Mounts entry (the --mount form, Compose's long syntax) as our long form."""
    table: dict[str, Any] = {"type": mount["Type"]}
    if mount.get("Source"):
        table["source"] = literal(mount["Source"])
    table["target"] = literal(mount["Target"])
    if mount.get("ReadOnly"):
        table["read_only"] = True
    propagation = (mount.get("BindOptions") or {}).get("Propagation")
    if propagation and propagation != "rprivate":
        table["propagation"] = propagation
    if (mount.get("VolumeOptions") or {}).get("NoCopy"):
        table["nocopy"] = True
    tmpfs = mount.get("TmpfsOptions") or {}
    if tmpfs.get("SizeBytes"):
        table["tmpfs_size"] = size(tmpfs["SizeBytes"])
    if tmpfs.get("Mode"):
        table["mode"] = f"{tmpfs['Mode']:o}"
    if mount["Type"] == "volume":
        volumes.append(mount["Source"])
    return table


def _anonymous_bind(entry: str) -> bool:
    """A HostConfig.Binds entry for an anonymous volume, never written as a mount (the Mounts loop
    of `_mounts` reports it; adoption keeps its data: `diff_containers.data_mounts`): a lone path,
    which Docker's API takes as `-v /path` (docker-py writes `volumes=["/path"]` so), or Podman's
    "HEX:/path:options", how it lists those of `-v /path` and of the image's VOLUME paths."""
    source, colon, _ = entry.partition(":")
    return not colon or bool(_ANONYMOUS.fullmatch(source))


def _mounts(inspected: Mapping[str, Any], image: Mapping[str, Any], defaults: EngineDefaults,
            imported: ImportedContainer) -> list[Any]:
    host = inspected.get("HostConfig") or {}
    mounts: list[Any] = [_bind(entry, defaults, imported.volumes) for entry in host.get("Binds") or ()
                         if not _anonymous_bind(entry)]
    for mount in host.get("Mounts") or ():
        if mount.get("Type") == "volume" and (not mount.get("Source") or _ANONYMOUS.fullmatch(mount["Source"])):
            continue
        mounts.append(_mount(mount, imported.volumes))
    declared = set(image.get("Volumes") or {})
    for mount in inspected.get("Mounts") or ():
        name, target = mount.get("Name") or "", mount.get("Destination")
        if mount.get("Type") == "volume" and _ANONYMOUS.fullmatch(name) and target not in declared:
            imported.skipped.append((f"mounts.{target}", f"the anonymous volume {name[:12]} has no form here (declare "
                                     "a named volume); adoption mounts it into the new container, as every later "
                                     "replacement does, keeping its data"))
    return mounts


def _tmpfs(host: Mapping[str, Any], defaults: EngineDefaults) -> list[str]:
    """HostConfig.Tmpfs as Compose's list of "/path[:options]", the engine's own options dropped."""
    entries = []
    for path, text in sorted((host.get("Tmpfs") or {}).items()):
        options = ",".join(_options(text, defaults))
        entries.append(literal(f"{path}:{options}" if options else path))
    return entries


def _aliases(endpoint: Mapping[str, Any], inspected: Mapping[str, Any]) -> list[str]:
    """The endpoint's aliases less those the engine adds: the short id, and Docker's host name."""
    config = inspected.get("Config") or {}
    added = {inspected["Id"][:12], config.get("Hostname") or "", (inspected.get("Name") or "").lstrip("/")}
    return [alias for alias in endpoint.get("Aliases") or () if alias not in added]


def _networks(inspected: Mapping[str, Any], defaults: EngineDefaults, names: Mapping[str, str],
              imported: ImportedContainer) -> dict[str, Any]:
    host = inspected.get("HostConfig") or {}
    mode = host.get("NetworkMode") or ""
    if mode in ("host", "none"):
        return {"network_mode": mode}
    if mode.startswith("container:"):
        other = mode.removeprefix("container:")
        return {"network_mode": f"container:{names.get(other, other)}"}
    attached = (inspected.get("NetworkSettings") or {}).get("Networks") or {}
    own = [name for name in attached if name not in (defaults.default_network, "bridge")]
    own.sort(key=lambda name: (name != mode, name))
    if own and len(own) < len(attached):
        imported.skipped.append(("networks." + defaults.default_network, "the engine's default network cannot be "
                                 "declared beside user networks; the container joins only these: " + ", ".join(own)))
    tables = {}
    for name in own:
        endpoint = attached[name] or {}
        table: dict[str, Any] = {}
        if aliases := _aliases(endpoint, inspected):
            table["aliases"] = aliases
        if address := (endpoint.get("IPAMConfig") or {}).get("IPv4Address"):
            table["ipv4_address"] = address
        tables[name] = table
    imported.networks.extend(own)
    if not tables:
        return {}
    return {"networks": tables if any(tables.values()) else list(tables)}


def _restart(host: Mapping[str, Any]) -> str | None:
    policy = host.get("RestartPolicy") or {}
    name = policy.get("Name") or "no"
    if name == "on-failure" and policy.get("MaximumRetryCount"):
        return f"on-failure:{policy['MaximumRetryCount']}"
    return None if name == "no" else name


def _identity(config: Mapping[str, Any], image: Mapping[str, Any], inspected: Mapping[str, Any],
              defaults: EngineDefaults) -> dict[str, Any]:
    """working_dir, user, hostname (unless the short id, or the host's on its network),
    domainname, mac_address, tty, stdin_open."""
    keys: dict[str, Any] = {}
    if (config.get("WorkingDir") or "/") != (image.get("WorkingDir") or "/"):
        keys["working_dir"] = literal(config["WorkingDir"])
    if (config.get("User") or "") != (image.get("User") or ""):
        keys["user"] = literal(config.get("User") or "root")
    hostname = config.get("Hostname") or ""
    network_mode = (inspected.get("HostConfig") or {}).get("NetworkMode") or ""
    if hostname and hostname != inspected["Id"][:12] and not (network_mode == "host"
                                                              and hostname == defaults.host_name):
        keys["hostname"] = hostname
    if config.get("Domainname"):
        keys["domainname"] = config["Domainname"]
    if config.get("MacAddress"):
        keys["mac_address"] = config["MacAddress"]
    keys.update({key: True for key, name in (("tty", "Tty"), ("stdin_open", "OpenStdin")) if config.get(name)})
    return keys


def _stop(config: Mapping[str, Any], image: Mapping[str, Any], defaults: EngineDefaults) -> dict[str, Any]:
    """stop_signal when not the image's (else SIGTERM), compared as numbers since Podman keeps
    "3" for SIGQUIT; stop_timeout when given (Config.StopTimeout, seconds)."""
    keys: dict[str, Any] = {}
    number = signal_number(config.get("StopSignal"))
    if number is not None and number != (signal_number(image.get("StopSignal")) or signal.SIGTERM):
        try:
            keys["stop_signal"] = signal.Signals(number).name
        except ValueError:
            keys["stop_signal"] = str(number)
    timeout = config.get("StopTimeout")
    if timeout is not None and timeout not in defaults.stop_timeouts:
        keys["stop_timeout"] = timeout
    return keys


def container_table(inspected: Mapping[str, Any], image: Mapping[str, Any], defaults: EngineDefaults,
                    names: Mapping[str, str]) -> ImportedContainer:
    """A container's inspect answer, with its image's inspect answer, as a desired-state table.

    `names`: container id -> name, to name a `container:<id>` reference. A container in another's
    network namespace gets none of the keys that namespace gives (`_NETWORK_SHARED`). `env` holds the values
    the image does not give (the table's `env` key is left to the caller, which writes references).
    """
    config, host = inspected.get("Config") or {}, inspected.get("HostConfig") or {}
    image_config = image.get("Config") or {}
    imported = ImportedContainer(name=(inspected.get("Name") or "").lstrip("/"), table={"image": config["Image"]})
    table = imported.table
    table.update(_command(config, image_config))
    table.update(_identity(config, image_config, inspected, defaults))
    imported.env = _env(config, image_config, defaults)
    if labels := _labels(config, image_config, imported.skipped):
        table["labels"] = labels
    if ports := _ports(host):
        table["ports"] = ports
    if expose := _expose(config, image_config, host):
        table["expose"] = expose
    if mounts := _mounts(inspected, image_config, defaults, imported):
        table["mounts"] = mounts
    if tmpfs := _tmpfs(host, defaults):
        table["tmpfs"] = tmpfs
    table.update(_networks(inspected, defaults, names, imported))
    if restart := _restart(host):
        table["restart"] = restart
    if healthcheck := _healthcheck(config, image_config):
        table["healthcheck"] = healthcheck
    table.update(hostkeys.resources(host, defaults))
    table.update(hostkeys.cpu_and_swap(host, defaults))
    table.update(hostkeys.privileges(host))
    table.update(hostkeys.system(host))
    table.update(hostkeys.namespaces(host, defaults, names))
    table.update(_stop(config, image_config, defaults))
    table.update(hostkeys.logging(host, defaults))
    imported.skipped.extend(hostkeys.not_carried(host))
    if str(table.get("network_mode", "")).startswith("container:"):
        for key in _NETWORK_SHARED:
            table.pop(key, None)
    return imported


def network_table(inspected: Mapping[str, Any]) -> dict[str, Any]:
    """A network's inspect answer as `[network.NAME]`: driver unless bridge, the first IPAM pool's
    subnet, ip_range and gateway (unless the subnet's first address, the engine's own choice),
    internal, attachable, driver options, labels (Compose's own left out)."""
    table: dict[str, Any] = {}
    if (inspected.get("Driver") or "bridge") != "bridge":
        table["driver"] = inspected["Driver"]
    pools = (inspected.get("IPAM") or {}).get("Config") or [{}]
    pool = pools[0] or {}
    if pool.get("Subnet"):
        table["subnet"] = pool["Subnet"]
        if pool.get("IPRange"):
            table["ip_range"] = pool["IPRange"]
        first = next(ip_network(pool["Subnet"], strict=False).hosts(), None)
        if pool.get("Gateway") and pool["Gateway"] != str(first):
            table["gateway"] = pool["Gateway"]
    table.update({key: True for key, name in (("internal", "Internal"), ("attachable", "Attachable"))
                  if inspected.get(name)})
    return {**table, **_owned_maps(inspected)}


def volume_table(inspected: Mapping[str, Any]) -> dict[str, Any]:
    """A volume's inspect answer as `[volume.NAME]`: driver unless local, options, labels."""
    table: dict[str, Any] = {}
    if (inspected.get("Driver") or "local") != "local":
        table["driver"] = inspected["Driver"]
    return {**table, **_owned_maps(inspected)}


def _owned_maps(inspected: Mapping[str, Any]) -> dict[str, Any]:
    labels = {key: value for key, value in (inspected.get("Labels") or {}).items()
              if not key.startswith((_COMPOSE_LABEL, _RESERVED_LABEL))}
    maps = {"options": _string_map(inspected.get("Options")), "labels": _string_map(labels)}
    return {key: value for key, value in maps.items() if value}
