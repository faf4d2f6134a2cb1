"""What `--target swarm` cannot honour of a valid desired state (errors) and what it honours
differently from one host (warnings), each a Problem at FILE:LINE: key naming the field and why.

The rule for an error: the Engine API's ServiceSpec of API 1.41 (Docker 20.10; moby
api/types/swarm: TaskTemplate.ContainerSpec, Resources, Placement, Networks, EndpointSpec) has no
field for the value, so a service could only drop it silently, as `docker stack deploy` does with
its "Ignoring unsupported options" (docker/cli cli/compose/types UnsupportedProperties). A key
that ContainerSpec does have (Init, Sysctls, CapabilityAdd/Drop, Ulimits, Hostname, DNSConfig,
Hosts, ReadOnly, StopSignal, StopGracePeriod, Healthcheck, TTY, OpenStdin, Groups) is no error.
docs/swarm.md, "What Swarm cannot run", lists each with its reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from reconciler.desired.hosts import Place
from reconciler.desired.loader import FileDecl, placer
from reconciler.desired.problems import Path_, Problem, dotted
from reconciler.fields import Mount, Resources
from reconciler.model import ContainerSpec, DesiredState, NetworkSpec, Spec, VolumeSpec

_NO_FIELD = "the ServiceSpec of API 1.41 has no field for it"
_NODE_ONLY = "it reaches into one node's host, which a task rescheduled on another node would not find"
# ContainerSpec fields (non-default) -> why a service cannot run them
_REFUSED: dict[str, str] = {
    "privileged": "Swarm runs no privileged task: ContainerSpec has no Privileged field (API 1.41)",
    "devices": f"Swarm maps no host device into a task: {_NO_FIELD}; {_NODE_ONLY}",
    "network_mode": "a service joins networks (`networks`), never another container's or the node's network "
                    "stack: write `networks` instead",
    "volumes_from": "a task cannot mount another container's volumes: Swarm has no start order nor a "
                    "container to share them with; mount the named volume itself",
    "ipc": f"Swarm shares no IPC namespace: {_NO_FIELD}",
    "pid": f"Swarm shares no PID namespace: {_NO_FIELD}",
    "uts": f"Swarm shares no UTS namespace: {_NO_FIELD}",
    "userns_mode": _NO_FIELD,
    "cgroup": _NO_FIELD,
    "cgroup_parent": f"{_NO_FIELD}; {_NODE_ONLY}",
    "device_cgroup_rules": f"{_NO_FIELD}; {_NODE_ONLY}",
    "gpus": "Swarm places GPUs as generic resources the nodes advertise, not as device requests: "
            f"{_NO_FIELD}",
    "oom_kill_disable": _NO_FIELD,
    "oom_score_adj": _NO_FIELD,
    "mac_address": "a task's address is the overlay network's to give: " + _NO_FIELD,
    "runtime": "TaskTemplate.Runtime is the kind of task (container or plugin), not an OCI runtime: "
               + _NO_FIELD,
    "storage_opt": _NO_FIELD,
    "security_opt": "Privileges of API 1.41 hold only a credential spec and an SELinux context; "
                    "no-new-privileges, seccomp and AppArmor came later: " + _NO_FIELD,
    "tmpfs": "write the tmpfs as a mount instead: mounts = [{ type = \"tmpfs\", target = \"/run\" }]",
    "annotations": _NO_FIELD,
    "domainname": _NO_FIELD,
    "expose": "a service's tasks reach each other on any port of a shared network; "
              "ContainerSpec has no exposed ports",
    "platform": "each node pulls the image's variant for its own platform; a service has no platform to pull "
                "(write `hosts` to place it on the nodes of one platform)",
    "build": "each node pulls the image from a registry: build and push it, then name the pushed image",
    "push": "each node pulls the image from a registry: build and push it, then name the pushed image",
    "post_start": "Swarm starts and stops the tasks itself: there is no moment to run a hook in",
    "pre_stop": "Swarm starts and stops the tasks itself: there is no moment to run a hook in",
    "adopt": "a service is not taken over: remove the unowned service, or name this one differently",
}
_RESOURCES = {
    "shm_size": "mount a tmpfs at /dev/shm instead: mounts = [{ type = \"tmpfs\", target = \"/dev/shm\", "
                "tmpfs = { size = \"64m\" } }]",
    "cpu_shares": "Resources of API 1.41 have NanoCPUs and MemoryBytes: write resources.cpus",
    "cpu_period": "Resources of API 1.41 have NanoCPUs and MemoryBytes: write resources.cpus",
    "cpu_quota": "Resources of API 1.41 have NanoCPUs and MemoryBytes: write resources.cpus",
    "cpuset": _NO_FIELD,
    "cpu_rt_period": _NO_FIELD,
    "cpu_rt_runtime": _NO_FIELD,
    "mem_swappiness": _NO_FIELD,
    "memswap_limit": _NO_FIELD,
    "blkio": _NO_FIELD,
}
# where each resource limit is written (our key paths; Compose's aliases are placed at the container)
_RESOURCE_KEYS = {"shm_size": ("resources", "shm_size"), "blkio": ("blkio_config",)}
_GLOB = re.compile(r"[*?\[]")


def at_resource(spec: Spec, at: Path_, message: str) -> Problem:
    """A `Place` without the files: the problem at the line of the resource's table."""
    return Problem(spec.source.file, spec.source.line, dotted(at), message)


def problems(desired: DesiredState, place: Place = at_resource) -> tuple[list[Problem], list[Problem]]:
    """(errors, warnings) of `desired` on `--target swarm` (each declared volume a warning), each
    placed at its key by `place` (`desired.hosts.placer(root)` for the key's own line; by default
    the resource's)."""
    errors: list[Problem] = []
    warnings: list[Problem] = []
    for spec in desired.containers.values():
        errors.extend(place(spec, ("container", spec.name, *at), message) for at, message in _errors(spec))
        warnings.extend(place(spec, ("container", spec.name, *at), message)
                        for at, message in _warnings(spec, desired.volumes))
    for network in desired.networks.values():
        errors.extend(place(network, ("network", network.name, *at), message) for at, message in _network(network))
    for volume in desired.volumes.values():
        warnings.extend(place(volume, ("volume", volume.name, *at), message) for at, message in _volume(volume))
    return errors, warnings


def file_errors(decl: FileDecl) -> list[Problem]:
    """The errors of `problems` in the one file `decl`, valid on its own, each at its key's line:
    the agent's last-known-good checks each file with them, so that a file Swarm cannot run is
    held as an invalid file is, never kept as valid (every error is of one container or network)."""
    state = DesiredState(containers={s.name: s for s in decl.specs if isinstance(s, ContainerSpec)},
                         networks={s.name: s for s in decl.specs if isinstance(s, NetworkSpec)})
    return problems(state, placer((decl,), decl.secret_values))[0]


def _errors(spec: ContainerSpec) -> Iterator[tuple[Path_, str]]:
    defaults = ContainerSpec(name=spec.name, image=spec.image)
    for key, why in _REFUSED.items():
        value = getattr(spec, key)
        if value != getattr(defaults, key):
            yield (key,), f"{_shown(key, value)}: Swarm cannot run it: {why}"
    yield from _resource_errors(spec.resources)
    if spec.drift != "revert":
        yield ("drift",), (f'drift = "{spec.drift}": Swarm heals its tasks itself and every pass updates the '
                           "service to the files: only revert")
    if spec.state == "stopped":
        yield ("state",), 'state = "stopped": a service has no stopped state: write replicas = 0'
    if spec.mode == "global" and spec.replicas != 1:
        yield ("replicas",), (f'replicas = {spec.replicas}: mode = "global" runs one task on each node; '
                              "replicas is for mode = \"replicated\"")
    if spec.healthcheck is not None and spec.healthcheck.start_interval is not None:
        yield ("healthcheck", "start_interval"), f"Swarm cannot run it: {_NO_FIELD} (API 1.44 added it)"
    for attachment in spec.networks:
        if attachment.ipv4_address is not None:
            yield (("networks", attachment.name, "ipv4_address"),
                   "Swarm cannot give a task a static address: the overlay network's IPAM gives each task its own")
    for index, port in enumerate(spec.ports):
        if port.host_ip is not None:
            yield (("ports", index), f"host_ip = \"{port.host_ip}\": Swarm publishes on every address of the "
                   "node (EndpointSpec's ports have no host address)")
    for index, mount in enumerate(spec.mounts):
        yield from ((("mounts", index), message) for message in _mount_errors(mount))


def _shown(key: str, value: object) -> str:
    if isinstance(value, bool):
        return f"{key} = {'true' if value else 'false'}"
    if isinstance(value, str):
        return f'{key} = "{value}"'
    return key


def _resource_errors(resources: Resources) -> Iterator[tuple[Path_, str]]:
    defaults = Resources()
    for key, why in _RESOURCES.items():
        if getattr(resources, key) != getattr(defaults, key):
            yield _RESOURCE_KEYS.get(key, (key,)), f"Swarm cannot run it: {why}"


def _mount_errors(mount: Mount) -> Iterator[str]:
    if mount.subpath is not None:
        yield f"subpath = \"{mount.subpath}\": Swarm cannot run it: {_NO_FIELD} (API 1.45 added it)"
    if mount.selinux is not None:
        yield f"{mount.selinux}: Swarm cannot relabel a bind for SELinux: {_NO_FIELD}"


def _warnings(spec: ContainerSpec, volumes: Mapping[str, VolumeSpec]) -> Iterator[tuple[Path_, str]]:
    if spec.depends_on:
        yield ("depends_on",), "Swarm has no start order: the services start together (as docker stack deploy says)"
    if spec.pull != "missing":
        yield ("pull",), (f'pull = "{spec.pull}": each node pulls the image by the digest the manager resolved '
                          "from its registry at each plan; pull changes nothing on Swarm")
    for index, port in enumerate(spec.ports):
        if spec.mode == "replicated" and spec.replicas > 1 and port.mode == "host" and port.host_port is not None:
            yield ("ports", index), (f"replicas = {spec.replicas} with host-mode port {port.host_port}: a host-mode "
                                     "port is taken on the node by one task: at most one task per node can run "
                                     "(the others stay pending: \"no suitable node\"); publish it in ingress mode "
                                     "or run no more replicas than nodes")
        start_first = spec.update.order == "start-first" and spec.state != "completed"
        if start_first and port.mode == "host" and port.host_port is not None:
            yield ("update", "order"), (f'order = "start-first" with host-mode port {port.host_port}: the new task '
                                        "cannot start on a node whose old task still holds the port, so the update "
                                        'stalls (pending: "host-mode port already in use"); write order = '
                                        '"stop-first" or publish the port in ingress mode')
    pinned = len(spec.hosts) == 1 and not _GLOB.search(spec.hosts[0])
    for index, mount in enumerate(spec.mounts):
        volume = volumes.get(mount.source) if mount.type == "volume" else None
        shared = volume is not None and volume.driver != "local"
        if mount.type == "volume" and not shared and not pinned:
            yield ("mounts", index), (f"volume {mount.source} lives on one node: a task rescheduled on another "
                                      "node starts with an empty volume; pin the service to one node "
                                      '(hosts = ["NODE"]) or use a volume driver shared by the nodes')
        if mount.type == "bind" and mount.create_host_path:
            yield ("mounts", index), (f"{mount.source}: Swarm does not create a missing bind source: it must "
                                      "exist on every node that may run a task")


def _network(network: NetworkSpec) -> Iterator[tuple[Path_, str]]:
    if network.driver not in ("bridge", "overlay"):
        yield ("driver",), (f'driver = "{network.driver}": on Swarm every network is an overlay network '
                            "(bridge and overlay are taken, as overlay)")
    if network.adopt:
        yield ("adopt",), ("adopt = true: Swarm cannot run it: an overlay network is not taken over; remove the "
                           "unowned network, or name this one differently")
    if network.hosts:
        yield ("hosts",), ("hosts: Swarm cannot run it: an overlay network spans the swarm, on every node a task "
                           "of a service on it runs; place the services with their own hosts")


def _volume(volume: VolumeSpec) -> Iterator[tuple[Path_, str]]:
    """The declaration itself, and each of its keys: Swarm has no volume object (moby's
    api/types/swarm has none); a node makes a named volume when a task first mounts it, from the
    mount's VolumeOptions, which carry the declaration's driver, options and labels
    (`service_spec._mount`, as `docker stack deploy` does). A volume a node has is never changed."""
    yield (), ("volumes are made by each node when a task first mounts them: on Swarm the reconciler creates, "
               "updates and removes no volume")
    defaults = VolumeSpec(name=volume.name)
    for key in ("driver", "options", "labels"):
        if getattr(volume, key) != getattr(defaults, key):
            yield (key,), (f"{key}: applied by each node when a task first mounts the volume there; a later "
                           "change is not applied to a volume a node already has (remove it there to have it "
                           "made again)")
    for key in ("hosts", "adopt"):
        if getattr(volume, key) != getattr(defaults, key):
            yield (key,), (f"{key}: not applied on Swarm: each node that runs a task mounting the volume makes "
                           "it; place the services with their own hosts")

