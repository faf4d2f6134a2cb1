"""The Docker adapter's image operations: `DockerImages`, the part of `DockerRuntime` that
resolves, pulls, builds, tags, pushes and removes images, and reads what an image declares.

A mixin on the SDK's low-level API client: the class that inherits it gives `api` (the
`docker.APIClient`), `_podman` (whether the engine is Podman) and `_declared_volumes` (image id ->
VOLUME paths, filled here). Every engine call goes through `engine_errors()`, so only
runtime.base exceptions leave it; Podman's differences are named in `runtime.podman`.
"""

from __future__ import annotations

from collections.abc import Mapping

import docker
import docker.errors

from reconciler.fields import Build
from runtime import docker_observe as parse
from runtime import docker_progress as transfer
from runtime import podman
from runtime.base import BuildFailed, Conflict, InvalidSpec, NotFound, Progress, ProgressCallback, RegistryAuth
from runtime.builder_output import BUILD_LINES, plain
from runtime.builder_output import failure as build_failure
from runtime.docker_errors import engine_errors


class DockerImages:
    api: docker.APIClient
    _podman: bool
    _declared_volumes: dict[str, tuple[str, ...]]

    def _image_volumes(self, image_ids: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
        """reference -> VOLUME paths of its image; an image removed since it was listed is left out."""
        found = {ref: self._declared(image_id) for ref, image_id in image_ids.items()}
        return {ref: paths for ref, paths in found.items() if paths is not None}

    def _declared(self, image_id: str) -> tuple[str, ...] | None:
        """The VOLUME paths of one image, or None when it is gone. An image's content never
        changes under its id, so each id is inspected once."""
        if image_id not in self._declared_volumes:
            try:
                with engine_errors():
                    image = self.api.inspect_image(image_id)
            except NotFound:
                return None
            self._declared_volumes[image_id] = parse.declared_volumes(image)
        return self._declared_volumes[image_id]

    def resolve_image(self, ref: str) -> str | None:
        try:
            with engine_errors():
                return self.api.inspect_image(ref)["Id"]
        except NotFound:
            return None

    def image_digests(self, ref: str) -> tuple[str, ...]:
        if self._podman:  # it lists every name of an image with its local manifests' digests, pulled or not
            return ()
        try:
            with engine_errors():
                return tuple(self.api.inspect_image(ref).get("RepoDigests") or ())
        except NotFound:
            return ()

    def pull_image(self, ref: str, progress: ProgressCallback | None = None, auth: RegistryAuth | None = None) -> str:
        credentials = auth.engine_form() if auth is not None else None
        with engine_errors():
            try:
                for line in self.api.pull(ref, stream=True, decode=True, auth_config=credentials):
                    if "error" in line:
                        raise InvalidSpec(f"pull {ref}: {line['error']}")
                    update = transfer.progress(ref, line)
                    if progress is not None and update is not None:
                        progress(update)
            except docker.errors.APIError as error:  # the engine answered: the registry or ref failed
                raise InvalidSpec(f"pull {ref}: {error.explanation or error}") from error
        image_id = self.resolve_image(ref)
        if image_id is None:
            raise InvalidSpec(f"pull {ref}: the engine has no such image after the pull")
        return image_id

    def build_image(self, build: Build, tags: tuple[str, ...], progress: ProgressCallback | None = None) -> str:
        first, *others = tags
        said: list[str] = []  # the builder's lines, for the message of a failure
        image_id = None
        with engine_errors():
            try:
                for line in self.api.build(path=build.context, dockerfile=build.dockerfile, tag=first, rm=True,
                                           forcerm=True, pull=build.pull, buildargs=dict(build.args),
                                           target=build.target, decode=True):
                    if "error" in line:
                        raise BuildFailed(build_failure(first, [*said, str(line["error"])]))
                    text = plain(str(line.get("stream") or line.get("status") or "")).rstrip()
                    if text:
                        said = [*said[-(BUILD_LINES - 1):], text]
                        if progress is not None:
                            progress(Progress(first, "", text, action="build"))
                    image_id = (line.get("aux") or {}).get("ID", image_id)
            except docker.errors.APIError as error:  # the engine refused the request itself
                raise BuildFailed(build_failure(first, [*said, str(error.explanation or error)])) from error
            image_id = image_id or self.api.inspect_image(first)["Id"]
            for ref in others:
                self.api.tag(image_id, *_split_tag(ref))
        return image_id

    def push_image(self, ref: str, progress: ProgressCallback | None = None, auth: RegistryAuth | None = None) -> str:
        repository, tag = _split_tag(ref)
        credentials = auth.engine_form() if auth is not None else None
        digest = None
        with engine_errors():
            try:
                for line in self.api.push(repository, tag=tag, stream=True, decode=True,
                                          auth_config=credentials):
                    if "error" in line:
                        raise InvalidSpec(f"push {ref}: {line['error']}")
                    update = transfer.progress(ref, line, "push")
                    if progress is not None and update is not None:
                        progress(update)
                    digest = (line.get("aux") or {}).get("Digest") or podman.pushed_digest(line) or digest
            except docker.errors.APIError as error:
                raise InvalidSpec(f"push {ref}: {error.explanation or error}") from error
        if digest is None:
            raise InvalidSpec(f"push {ref}: the engine did not say which digest it pushed")
        return digest

    def remove_image(self, id: str, repository: str | None = None) -> int:
        with engine_errors():
            image = self.api.inspect_image(id)
            tags = image.get("RepoTags") or []
            if repository is not None and len(tags) > 1 and all(_in_repository(tag, repository) for tag in tags):
                if id in self.images_in_use():
                    raise Conflict(f"unable to delete {id[:19]}: image is being used by a container")
                for tag in tags[1:]:  # untagged one by one: both engines refuse a removal by id of a tagged-twice image
                    self.api.remove_image(tag, force=False)
            self.api.remove_image(id, force=False)
        return image.get("Size") or 0

    def images_in_use(self) -> frozenset[str]:
        with engine_errors():
            return frozenset(c["ImageID"] for c in self.api.containers(all=True) if c.get("ImageID"))


def _split_tag(ref: str) -> tuple[str, str]:
    """("repository", "tag") of "repository[:tag]" (a registry's ":port" is not a tag); tag latest
    when there is none, as the engine reads it."""
    repository, colon, tag = ref.rpartition(":")
    return (repository, tag) if colon and "/" not in tag else (ref, "latest")


def _in_repository(tag: str, repository: str) -> bool:
    """Whether `tag`, a RepoTags entry ("localhost/app:1"), lies in `repository` as written
    ("localhost/app", "reconciler/app"): Podman lists a name without a registry as localhost/NAME."""
    name = parse.normalise_reference(tag).rpartition(":")[0]
    written = parse.normalise_reference(f"{repository}:latest").rpartition(":")[0]
    return name in (written, f"localhost/{written}")
