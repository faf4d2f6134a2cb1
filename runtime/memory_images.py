"""The in-memory engine's images: `MemoryImages`, the part of `MemoryRuntime` that holds the
local and the registry's images and resolves, pulls, builds, pushes and removes them, as the
Docker adapter does (`runtime.docker_images`; the contract suite pins it).

It works with `MemoryRuntime`'s containers (an image in use is not removed) and events (`_emit`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from reconciler.fields import Build
from runtime.base import Conflict, Event, InvalidSpec, NotFound, Progress, ProgressCallback, RegistryAuth
from runtime.docker_observe import normalise_reference
from runtime.memory_controls import engine_call

BUILT_SIZE = 4096  # bytes of an image this engine builds, as remove_image reports it


class MemoryImages:
    def __init__(self, images: Mapping[str, str] = {}, registry: Mapping[str, str] = {},
                 image_volumes: Mapping[str, Iterable[str]] = {}, repo_digests: Mapping[str, Iterable[str]] = {}):
        """`images` and `registry` map references to image ids (local, and pullable);
        `image_volumes` maps an image id to the container paths its config declares as VOLUME;
        `repo_digests` an image id to its RepoDigests ("reg/app@sha256:...")."""
        self.images = {normalise_reference(ref): id for ref, id in images.items()}
        self.repo_digests = {id: tuple(digests) for id, digests in repo_digests.items()}
        self.registry = {normalise_reference(ref): id for ref, id in registry.items()}
        self.image_volumes = {id: tuple(sorted(paths)) for id, paths in image_volumes.items()}
        self.image_sizes: dict[str, int] = {}  # image id -> size in bytes (0 when not set)

    @engine_call
    def resolve_image(self, ref: str) -> str | None:
        return self.images.get(normalise_reference(ref))

    @engine_call
    def image_digests(self, ref: str) -> tuple[str, ...]:
        return self.repo_digests.get(self.images.get(normalise_reference(ref), ""), ())

    @engine_call
    def pull_image(self, ref: str, progress: ProgressCallback | None = None, auth: RegistryAuth | None = None) -> str:
        image_id = self.registry.get(normalise_reference(ref))
        if image_id is None:
            raise InvalidSpec(f"pull {ref}: manifest unknown")
        if progress is not None:
            progress(Progress(ref, "", f"Pulling from {ref}"))
        self.images[normalise_reference(ref)] = image_id
        self._emit(Event("image", "pull", ref, ref))
        return image_id

    @engine_call
    def remove_image(self, id: str, repository: str | None = None) -> int:
        refs = [ref for ref, image_id in self.images.items() if image_id == id]
        if not refs:
            raise NotFound(f"No such image: {id}")
        users = [c.id[:12] for c in self.containers.values() if c.image_id == id]
        refused = f"unable to delete {id[:19]} (must be forced) - image is"
        if users:
            raise Conflict(f"{refused} being used by container {users[0]}")
        written = normalise_reference(f"{repository}:latest").rpartition(":")[0]
        ours = repository is not None and all(ref.rpartition(":")[0] == written for ref in refs)
        if len(refs) > 1 and not ours:
            raise Conflict(f"{refused} referenced in multiple repositories")
        for ref in refs:
            del self.images[ref]
        self._emit(Event("image", "delete", id, id))
        return self.image_sizes.get(id, 0)

    @engine_call
    def images_in_use(self) -> frozenset[str]:
        return frozenset(c.image_id for c in self.containers.values())

    @engine_call
    def build_image(self, build: Build, tags: tuple[str, ...], progress: ProgressCallback | None = None) -> str:
        """A build of the same options and tags always yields the same id (a failure: `fail_next`)."""
        image_id = "sha256:" + hashlib.sha256(repr((build, tags)).encode()).hexdigest()
        if progress is not None:
            progress(Progress(tags[0], "", f"Successfully built {image_id[7:19]}", action="build"))
        for ref in tags:
            self.images[normalise_reference(ref)] = image_id
            self._emit(Event("image", "tag", ref, image_id))
        self.image_sizes.setdefault(image_id, BUILT_SIZE)
        return image_id

    @engine_call
    def push_image(self, ref: str, progress: ProgressCallback | None = None, auth: RegistryAuth | None = None) -> str:
        image_id = self.images.get(normalise_reference(ref))
        if image_id is None:
            raise InvalidSpec(f"push {ref}: An image does not exist locally with the tag: {ref}")
        self.registry[normalise_reference(ref)] = image_id
        return "sha256:" + hashlib.sha256(image_id.encode()).hexdigest()
