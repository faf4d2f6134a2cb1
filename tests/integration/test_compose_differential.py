"""The differential test against docker-compose: the same services written as Compose
(compose/docker-compose.yml, format 2.4, read by Debian's docker-compose 1.29.2, which
`scripts/compose.sh install` installs) and as TOML (compose/service.toml) give the same containers
on the real Docker Engine, as `docker inspect` sees them; and a second `apply` changes nothing.

Compared, field by field, after `normalised` maps each tool's names and ids of the same thing
(containers, the network, the volume) onto the Compose service's or resource's name:
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

An empty list and null are one value to the engine, as are the restart policies `""` and `"no"`:
`normalised` reads them alike (the reconciler sends `[]` and `"no"`, docker-compose leaves them out).

`store` writes Compose's names where ours differ (`environment`, `volumes`, `mem_limit`, `cpus`, ...:
aliases). Not in the files: `stop_grace_period`, which docker-compose 1.29.2 passes to each stop
call and never to the engine (the reconciler's `stop_timeout` is the engine's `StopTimeout`);
`group_add` of a group name, which docker-compose 1.29.2 sends and the engine then fails to start
on busybox (no /etc/group): numeric ids are used; `storage_opt` sizes and `cpu_rt_*`, which
this engine cannot honour (overlay2 on extfs, no real-time group scheduling); keys docker-compose
1.29.2 does not know (`cgroup`, `uts`, `gpus`, `annotations`, `label_file`, `post_start`,
`pre_stop`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runtime.capabilities import is_podman

pytestmark = pytest.mark.integration

HERE = Path(__file__).parent / "compose"
COMPOSE = "/usr/bin/docker-compose"
SERVICES = ("app", "store", "side")

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


def unlisted(inspect: dict) -> set[str]:
    """The fields of an inspect answer neither compared nor left out with a reason: a field a
    newer engine adds must be placed in one list or the other."""
    listed = {"": {*TOP, *LEFT_OUT[""]}, "Config": {*CONFIG, *LEFT_OUT["Config"]},
              "HostConfig": {*HOST_CONFIG, *LEFT_OUT["HostConfig"]}}
    answers = {"": inspect, "Config": inspect["Config"], "HostConfig": inspect["HostConfig"]}
    return {f"{part}.{key}" for part, answer in answers.items() for key in answer if key not in listed[part]}


def run(*argv: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, f"{argv}: {result.stdout}{result.stderr}"
    return result


def reconciler(*args: str, namespace: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reconciler", *args, "--namespace", namespace], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def project(tmp_path, namespace, docker_client):
    """One folder holding both files (so their relative binds name the same host path), the TOML's
    names in `namespace`, the Compose project named `namespace`; `docker-compose down` afterwards
    (the namespace fixture removes the reconciler's)."""
    if is_podman(docker_client.version()):
        pytest.skip("the peer, docker-compose 1.29.2, is a client of Docker Engine (Podman refuses the file's "
                    "init with pid = service:NAME); on Podman, test_compose_keys and test_compose_limits hold")
    if not os.access(COMPOSE, os.X_OK):
        pytest.fail(f"{COMPOSE} is missing: run `scripts/compose.sh install`", pytrace=False)
    (tmp_path / "host").mkdir()
    shutil.copy(HERE / "docker-compose.yml", tmp_path)
    shutil.copy(HERE / "app.env", tmp_path)
    (tmp_path / "service.toml").write_text((HERE / "service.toml").read_text().replace("@ns@", namespace))
    yield tmp_path
    subprocess.run([COMPOSE, "-p", namespace, "down", "-v", "-t", "1"], cwd=tmp_path, capture_output=True, timeout=120)


def test_compose_up_and_apply_give_the_same_containers_and_a_second_apply_changes_nothing(
        project, namespace, docker_client):
    # DESIGN section 8: docker-compose 1.29.2 can deadlock at its default parallel limit
    compose_env = {**os.environ, "COMPOSE_PARALLEL_LIMIT": "128"}
    run(COMPOSE, "-p", namespace, "up", "-d", "--no-build", cwd=project, env=compose_env)
    applied = reconciler("apply", ".", namespace=namespace, cwd=project)
    assert applied.returncode == 0, applied.stdout + applied.stderr

    ours = {s: docker_client.api.inspect_container(f"{namespace}-{s}") for s in SERVICES}
    theirs = {s: docker_client.api.inspect_container(f"{namespace}_{s}_1") for s in SERVICES}
    names = {f"{namespace}{sep}{name}": name for sep in "-_" for name in ("front", "data")}
    names |= {c["Name"].lstrip("/"): s for s, c in (*ours.items(), *theirs.items())}
    names |= {c["Id"]: s for s, c in (*ours.items(), *theirs.items())}
    for service in SERVICES:
        assert unlisted(ours[service]) | unlisted(theirs[service]) == set()
        assert normalised(ours[service], names) == normalised(theirs[service], names), service

    again = reconciler("apply", ".", namespace=namespace, cwd=project)
    assert again.returncode == 0, again.stdout + again.stderr
    planned = reconciler("plan", ".", "--detailed-exitcode", namespace=namespace, cwd=project)
    assert (planned.returncode, planned.stdout) == (0, "No changes: the engine matches the desired state.\n")
