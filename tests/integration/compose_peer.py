"""docker-compose 1.29.2 (Debian's, Compose v1, `scripts/compose.sh install`) as the peer of the
integration tests: run it and the reconciler on the same files, and compare the containers each
made as `docker inspect` sees them.

`normalised` keeps the compared fields of an inspect answer, after mapping each tool's names and
ids of the same thing (containers, networks, volumes) onto one common name:
- Config (`CONFIG`): AttachStderr, AttachStdin, AttachStdout, Cmd, Domainname, Entrypoint, Env,
  ExposedPorts, Healthcheck, Hostname, Image, MacAddress, OnBuild, OpenStdin, StdinOnce, StopSignal,
  StopTimeout, Tty, User, WorkingDir, and Labels without the two tools' own (`com.docker.compose.`,
  `io.reconciler.`);
- HostConfig (`HOST_CONFIG`): every field but those left out below, so a key's engine field is
  compared (at its default) before the key lands, and with its value once both files use it;
- the inspect answer's own Path, Args, Image, Driver, Platform, AppArmorProfile, MountLabel and
  ProcessLabel; the mounts as the engine reports them (type, volume name, bind source,
  destination, read-write, propagation); each network's aliases.

Left out, because they differ by nature (`LEFT_OUT`): Id, Name, Created, State, RestartCount,
ExecIDs, GraphDriver and the engine's paths (HostnamePath, HostsPath, LogPath, ResolvConfPath),
which are each container's own; NetworkSettings but the aliases (addresses and endpoints are
handed out per container), and of the aliases the container's short id; the tools' own labels;
`HostConfig.Binds` and `HostConfig.Mounts`, two spellings of the same mounts (each tool picks its
own; the `Mounts` the engine reports are compared instead); `Config.Volumes`, where docker-compose
1.29.2 also declares the targets of its binds (no effect on a container that mounts them).

A hostname the engine gave (the container's short id, when none is declared) is read as
"(short id)": each container has its own.

An empty list and null are one value to the engine, as are the restart policies `""` and `"no"`:
`normalised` reads them alike (the reconciler sends `[]` and `"no"`, docker-compose leaves them out).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import docker
import pytest

from runtime.capabilities import is_podman
from tests.conftest import remove_containers

COMPOSE = "/usr/bin/docker-compose"

TOP = ("Path", "Args", "Image", "Driver", "Platform", "AppArmorProfile", "MountLabel", "ProcessLabel")
CONFIG = ("AttachStderr", "AttachStdin", "AttachStdout", "Cmd", "Domainname", "Entrypoint", "Env", "ExposedPorts",
          "Healthcheck", "Hostname", "Image", "MacAddress", "OnBuild", "OpenStdin", "StdinOnce", "StopSignal",
          "StopTimeout", "Tty", "User", "WorkingDir")
HOST_CONFIG = (
    "AutoRemove", "BlkioDeviceReadBps", "BlkioDeviceReadIOps", "BlkioDeviceWriteBps", "BlkioDeviceWriteIOps",
    "BlkioWeight", "BlkioWeightDevice", "CapAdd", "CapDrop", "Cgroup", "CgroupParent", "CgroupnsMode", "ConsoleSize",
    "ContainerIDFile", "CpuCount", "CpuPercent", "CpuPeriod", "CpuQuota", "CpuRealtimePeriod", "CpuRealtimeRuntime",
    "CpuShares", "CpusetCpus", "CpusetMems", "DeviceCgroupRules", "DeviceRequests", "Devices", "Dns", "DnsOptions",
    "DnsSearch", "ExtraHosts", "GroupAdd", "IOMaximumBandwidth", "IOMaximumIOps", "Init", "IpcMode", "Isolation",
    "KernelMemory", "KernelMemoryTCP", "Links", "LogConfig", "MaskedPaths", "Memory", "MemoryReservation",
    "MemorySwap", "MemorySwappiness", "NanoCpus", "NetworkMode", "OomKillDisable", "OomScoreAdj", "PidMode",
    "PidsLimit", "PortBindings", "Privileged", "PublishAllPorts", "ReadonlyPaths", "ReadonlyRootfs",
    "RestartPolicy", "Runtime", "SecurityOpt", "ShmSize", "StorageOpt", "Sysctls", "Tmpfs", "UTSMode", "Ulimits",
    "UsernsMode", "VolumeDriver", "VolumesFrom",
)
LEFT_OUT = {
    "": {"Id", "Name", "Created", "State", "RestartCount", "ExecIDs", "GraphDriver", "HostnamePath", "HostsPath",
         "LogPath", "ResolvConfPath", "NetworkSettings", "Config", "HostConfig", "Mounts"},
    "Config": {"Labels", "Volumes"},
    "HostConfig": {"Binds", "Mounts"},
}
TOOL_LABELS = ("com.docker.compose.", "io.reconciler.")
PROJECT_LABEL = "com.docker.compose.project"
NO_CHANGES = "No changes: the engine matches the desired state.\n"
_ADOPTED = re.compile(r"= retain (network|volume) \S+ \(adopted; never recreated, emptied or removed\)")
# DESIGN section 8: docker-compose 1.29.2 can deadlock at its default parallel limit
COMPOSE_ENV = {"COMPOSE_PARALLEL_LIMIT": "128"}


def normalised(inspect: dict, names: dict[str, str]) -> dict:
    """The compared fields of one `docker inspect` answer (see the module's docstring). `names`
    maps a tool's name or id of a container, network or volume onto the common name; a value
    such as "container:ID" or "NAME:ro" has each of its parts mapped."""
    def rename(value):
        if isinstance(value, str):
            return ":".join(names.get(part, part) for part in value.split(":"))
        if isinstance(value, list):
            return [rename(v) for v in value] or None
        return value

    config, host = inspect["Config"], inspect["HostConfig"]
    fields = {key: inspect.get(key) for key in TOP}
    fields |= {f"Config.{key}": config.get(key) for key in CONFIG}
    if fields["Config.Hostname"] == inspect["Id"][:12]:
        fields["Config.Hostname"] = "(short id)"
    fields["Config.Labels"] = {k: v for k, v in (config.get("Labels") or {}).items() if not k.startswith(TOOL_LABELS)}
    fields |= {f"HostConfig.{key}": rename(host.get(key)) for key in HOST_CONFIG}
    if fields["HostConfig.RestartPolicy"]["Name"] == "":
        fields["HostConfig.RestartPolicy"] = {**fields["HostConfig.RestartPolicy"], "Name": "no"}
    fields["Mounts"] = sorted(
        ((m["Type"], rename(m.get("Name")), m["Source"] if m["Type"] == "bind" else None, m["Destination"], m["RW"],
          m.get("Propagation")) for m in inspect["Mounts"]), key=lambda m: m[3])
    fields["Aliases"] = {rename(net): sorted(set(n.get("Aliases") or ()) - {inspect["Id"][:12]})
                         for net, n in inspect["NetworkSettings"]["Networks"].items()}
    return fields


def differing(before: dict, after: dict) -> dict[str, tuple]:
    """The fields of two `normalised` answers that differ -> (before, after)."""
    return {key: (before.get(key), after.get(key)) for key in {*before, *after} if before.get(key) != after.get(key)}


def unlisted(inspect: dict) -> set[str]:
    """The fields of an inspect answer neither compared nor left out with a reason: a field a
    newer engine adds must be placed in one list or the other."""
    listed = {"": {*TOP, *LEFT_OUT[""]}, "Config": {*CONFIG, *LEFT_OUT["Config"]},
              "HostConfig": {*HOST_CONFIG, *LEFT_OUT["HostConfig"]}}
    answers = {"": inspect, "Config": inspect["Config"], "HostConfig": inspect["HostConfig"]}
    return {f"{part}.{key}" for part, answer in answers.items() for key in answer if key not in listed[part]}


def common_names(inspects: list[dict], services: dict[str, str]) -> dict[str, str]:
    """`names` for `normalised`: each container's name and id (of `inspects`) onto its service,
    as `services` (container name -> service) says."""
    return {key: services[c["Name"].lstrip("/")] for c in inspects for key in (c["Name"].lstrip("/"), c["Id"])}


def still_to_do(planned: subprocess.CompletedProcess) -> list[str]:
    """What a `plan --detailed-exitcode` still has to do: [] when it exits 0 printing the summary
    NO_CHANGES and, besides, only the adopted volumes and networks it always shows as retained
    (docs/adoption.md); else its other lines, and its exit code when not 0."""
    lines = [line for line in planned.stdout.splitlines()
             if line != NO_CHANGES.strip() and not _ADOPTED.fullmatch(line)]
    return lines + ([f"exit {planned.returncode}: {planned.stderr}"] if planned.returncode else [])


def run(*argv: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run `argv`, which must succeed; `env` is added to the process environment."""
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=180,
                            env={**os.environ, **(env or {})})
    assert result.returncode == 0, f"{argv}: {result.stdout}{result.stderr}"
    return result


def reconciler(*args: str, namespace: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`reconciler ARGS --namespace NAMESPACE`, however it ends."""
    return subprocess.run([sys.executable, "-m", "reconciler", *args, "--namespace", namespace], cwd=cwd,
                          capture_output=True, text=True, timeout=180, env={**os.environ, **(env or {})})


def import_compose(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`reconciler import compose ARGS` on the engine at $DOCKER_HOST, however it ends."""
    return subprocess.run([sys.executable, "-m", "reconciler", "import", "compose", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=180, env={**os.environ, **(env or {})})


def compose_up(project: str, cwd: Path, *files: str) -> None:
    """`docker-compose -p PROJECT [-f FILE]... up -d --no-build` in `cwd`."""
    run(COMPOSE, "-p", project, *(arg for f in files for arg in ("-f", f)), "up", "-d", "--no-build", cwd=cwd,
        env=COMPOSE_ENV)


def require_compose(client: docker.DockerClient) -> None:
    """Skip on Podman (docker-compose 1.29.2 is a client of Docker Engine); fail when it is missing."""
    if is_podman(client.version()):
        pytest.skip("the peer, docker-compose 1.29.2, is a client of Docker Engine")
    if not os.access(COMPOSE, os.X_OK):
        pytest.fail(f"{COMPOSE} is missing: run `scripts/compose.sh install`", pytrace=False)


def compose_down(client: docker.DockerClient, project: str, namespace: str, cwd: Path, *files: str) -> None:
    """Remove what either tool made: the containers `namespace` owns, then `docker-compose down -v`,
    then the networks and volumes Compose made that the reconciler adopted (still labelled with the
    project, and held by the reconciler's containers while `down` ran)."""
    remove_containers(client, client.containers.list(all=True, filters={"label": f"io.reconciler.managed={namespace}"}))
    subprocess.run([COMPOSE, "-p", project, *(arg for f in files for arg in ("-f", f)), "down", "-v", "-t", "1"],
                   cwd=cwd, capture_output=True, timeout=180, env={**os.environ, **COMPOSE_ENV})
    selector = {"label": f"{PROJECT_LABEL}={project}"}
    remove_containers(client, client.containers.list(all=True, filters=selector))
    for network in client.networks.list(filters=selector):
        network.remove()
    for volume in client.volumes.list(filters=selector):
        volume.remove(force=True)
