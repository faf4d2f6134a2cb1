"""What `import containers` reads of a Docker or Podman engine (`Runtime.import_source`).

One inspect per container, image, network and volume involved, and GET /info; Podman's image
healthcheck from its libpod API, where its compat answer leaves it out (runtime/podman.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import docker

from runtime import podman
from runtime.base import ImportSource, NotFound
from runtime.docker_errors import engine_errors
from runtime.docker_observe import container_name
from runtime.engine_defaults import ENGINE_NETWORKS


def _containers(api: docker.APIClient, names: Sequence[str]) -> list[dict[str, Any]]:
    if not names:
        return [api.inspect_container(entry["Id"]) for entry in api.containers()]
    found = []
    for name in names:
        try:
            found.append(api.inspect_container(name))
        except docker.errors.NotFound:
            raise NotFound(f"no container named {name!r}") from None
    return found


def _image(api: docker.APIClient, image_id: str, engine: str, get) -> dict[str, Any]:
    compat = api.inspect_image(image_id)
    if engine != "podman":
        return compat
    return podman.image_with_healthcheck(compat, get(api, podman.image_path(image_id)))


def read(api: docker.APIClient, names: Sequence[str], engine: str, get) -> ImportSource:
    """The ImportSource of `names` (every running container when empty) on the engine `api`
    talks to; `get(api, path)` GETs a libpod path (DockerRuntime._get)."""
    with engine_errors():
        containers = _containers(api, names)
        images = {c["Image"]: _image(api, c["Image"], engine, get) for c in containers}
        networks = {name: api.inspect_network(name) for c in containers
                    for name in (c.get("NetworkSettings") or {}).get("Networks") or {} if name not in ENGINE_NETWORKS}
        volumes = {m["Name"]: api.inspect_volume(m["Name"]) for c in containers for m in c.get("Mounts") or ()
                   if m.get("Type") == "volume" and m.get("Name")}
        every = {entry["Id"]: container_name(entry) for entry in api.containers(all=True)}
        return ImportSource(engine=engine, containers=tuple(containers), images=images, networks=networks,
                            volumes=volumes, names=every, info=api.info())
