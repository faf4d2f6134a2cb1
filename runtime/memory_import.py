"""The in-memory engine's `import_source`: its containers as a Docker 20.10 engine would answer
their inspect, built from the create body `docker_specs.container_body` sends (what the engine
keeps), for images of an empty config."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runtime.base import ImportSource
from runtime.capabilities import DOCKER
from runtime.docker_specs import container_body
from runtime.engine_defaults import ENGINE_NETWORKS
from runtime.memory_objects import MemoryContainer, MemoryNetwork, MemoryVolume

INFO = {"LoggingDriver": "json-file", "DefaultRuntime": "runc", "CgroupVersion": "2", "Name": "memory"}


def inspect(container: MemoryContainer) -> dict[str, Any]:
    """The inspect answer of `container`: Config and HostConfig as its create body has them."""
    body, _ = container_body(container.spec, container.labels, "1.44")
    config = {key: value for key, value in body.items() if key not in ("HostConfig", "NetworkingConfig")}
    endpoints = body["NetworkingConfig"]["EndpointsConfig"]
    networks = {name: {"Aliases": [*endpoints.get(name, {}).get("Aliases", ()), container.id[:12]],
                       "IPAMConfig": endpoints.get(name, {}).get("IPAMConfig")} for name in container.networks}
    mounts = [{"Type": "volume", "Name": name, "Destination": path} for path, name in container.volumes.items()]
    return {"Id": container.id, "Name": f"/{container.name}", "Image": container.image_id,
            "Config": {**config, "Labels": dict(container.labels)}, "HostConfig": {**body["HostConfig"],
            "NetworkMode": container.network_mode}, "NetworkSettings": {"Networks": networks}, "Mounts": mounts}


def source(containers: list[MemoryContainer], networks: Mapping[str, MemoryNetwork],
           volumes: Mapping[str, MemoryVolume], every: Mapping[str, str]) -> ImportSource:
    """The ImportSource of `containers`; `networks` and `volumes` by name, `every` id -> name."""
    inspected = tuple(inspect(c) for c in containers)
    used_networks = {name for c in containers for name in c.networks if name not in ENGINE_NETWORKS}
    used_volumes = {name for c in containers for name in c.volumes.values()}
    return ImportSource(
        engine=DOCKER, containers=inspected,
        images={c.image_id: {"Id": c.image_id, "Config": {}} for c in containers},
        networks={name: {"Name": name, "Driver": networks[name].driver, "Labels": dict(networks[name].labels)}
                  for name in used_networks if name in networks},
        volumes={name: {"Name": name, "Driver": volumes[name].driver, "Labels": dict(volumes[name].labels)}
                 for name in used_volumes if name in volumes},
        names=dict(every), info=INFO,
    )
