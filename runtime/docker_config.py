"""What owned containers were created with (`ObservedConfig`), read from inspect once per container id.

A container's `Config` (env, command, entrypoint, user, working directory) never changes for its
id: changing it takes a new container. So the Docker adapter inspects each owned container once,
and each image once (its `Config.Env`: the image's defaults, which are not drift), and keeps the
answers while the container is listed. Drift (`reconciler.drift`) compares them with the spec.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from runtime.base import NotFound, ObservedConfig, ObservedContainer
from runtime.docker_errors import engine_errors


def env_map(entries: Iterable[str] | None) -> dict[str, str]:
    """Config.Env ("KEY=VALUE" strings) as a mapping, each split at its first "="; an entry
    without "=" (the engine keeps none, but an image may) is a key with an empty value."""
    return dict(entry.partition("=")[::2] for entry in entries or ())


def _words(value: Any) -> tuple[str, ...] | None:
    return None if value is None else tuple(value)


def config_from_inspect(inspected: Mapping[str, Any], image_env: Mapping[str, str]) -> ObservedConfig:
    """An inspect answer's `Config` as observed, beside `image_env` (its image's Config.Env)."""
    config = inspected.get("Config") or {}
    return ObservedConfig(env=env_map(config.get("Env")), image_env=dict(image_env),
                          command=_words(config.get("Cmd")), entrypoint=_words(config.get("Entrypoint")),
                          user=config.get("User") or "", working_dir=config.get("WorkingDir") or "")


class DockerConfigs:
    """The `DockerRuntime` side that fills `ObservedContainer.config`; needs its `api` and `_inspect`."""

    api: Any  # DockerRuntime's client
    _inspect: Callable[[str], dict | None]  # DockerRuntime's: one inspect answer, None when gone
    _configs: dict[str, ObservedConfig]  # container id -> its config
    _image_envs: dict[str, dict[str, str]]  # image id -> its Config.Env

    def _with_configs(self, containers: Iterable[ObservedContainer], inspected: Mapping[str, dict | None],
                      listed: bool) -> list[ObservedContainer]:
        """`containers` with their config: from this observation's inspect answers (`inspected`, by
        id), from what earlier ones read, else one inspect each. `listed`: `containers` are all the
        owned ones (a full list), so the configs of the others are forgotten."""
        found = []
        for container in containers:
            config = self._configs.get(container.id)
            if config is None:
                answer = inspected.get(container.id) if container.id in inspected else self._inspect(container.id)
                if answer is not None:
                    config = self._configs[container.id] = config_from_inspect(answer, self._image_env(answer))
            found.append(replace(container, config=config))
        if listed:
            ids = {c.id for c in found}
            self._configs = {id: config for id, config in self._configs.items() if id in ids}
        return found

    def _config_created(self, container_id: str, body: Mapping[str, Any]) -> None:
        """A container this adapter created from the create `body`: its config as sent, its env
        merged over its image's as the engine merges it, so that observing it costs no inspect
        (one image inspect here instead). Left to be read by inspect when the image is gone."""
        try:
            with engine_errors():
                image = self.api.inspect_image(body.get("Image") or "")
        except NotFound:
            return
        image_env = self._image_envs.setdefault(image["Id"], env_map((image.get("Config") or {}).get("Env")))
        self._configs[container_id] = config_from_inspect({"Config": {**body, "Env": [
            f"{key}={value}" for key, value in {**image_env, **env_map(body.get("Env"))}.items()]}}, image_env)

    def _image_env(self, inspected: Mapping[str, Any]) -> dict[str, str]:
        """The Config.Env of the image a container was created from (by its id); {} when the image
        is gone (its defaults are then unknown: every undeclared variable counts)."""
        image = inspected.get("Image") or ""
        if image not in self._image_envs:
            try:
                with engine_errors():
                    answer = self.api.inspect_image(image)
            except NotFound:
                return {}
            self._image_envs[image] = env_map((answer.get("Config") or {}).get("Env"))
        return self._image_envs[image]
