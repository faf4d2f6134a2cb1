"""Pulls and pushes that carry registry credentials: a Runtime whose `pull_image` and `push_image`
look up the credentials of the image's registry (`credentials.credentials_for`, from the config
file of `--registry-config` or Docker's default) and hand them to the engine, as `docker pull`
and `docker push` do on every call: a changed password or a rotated helper secret is used by the
next one, and a pull that needs none runs no helper. Every other call goes to the wrapped runtime
unchanged.

The executor decides nothing here: it asks for a pull or a push, and the commands (`apply`, `plan`, `run`)
set the runtime up with the credentials source when they open the engine.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import structlog

from reconciler.images.credentials import CredentialsError, config_path, credentials_for, registry_host
from runtime.base import InvalidSpec, ProgressCallback, RegistryAuth, Runtime

log = structlog.get_logger("reconciler.images")

# what a registry's refusal of a pull for its credentials reads like, through either engine
_REFUSED = ("unauthorized", "no basic auth credentials", "authentication required")


class Authenticated:
    """`runtime`, with credentials from config file `config` (None: Docker's default) on its pulls."""

    def __init__(self, runtime: Runtime, config: str | os.PathLike | None = None) -> None:
        self.runtime = runtime
        self.config = config

    def __getattr__(self, name: str) -> Any:
        return getattr(self.runtime, name)

    def pull_image(self, ref: str, progress: ProgressCallback | None = None, auth: RegistryAuth | None = None) -> str:
        """The wrapped runtime's pull, with `auth` or else the credentials found for `ref`'s
        registry. InvalidSpec "pull REF: ..." naming the config file or helper when the lookup
        fails (that image's failure only), never holding a secret."""
        return self._with_credentials("pull", self.runtime.pull_image, ref, progress, auth)

    def push_image(self, ref: str, progress: ProgressCallback | None = None, auth: RegistryAuth | None = None) -> str:
        """The wrapped runtime's push, with credentials as `pull_image` finds them (`docker push`
        sends the same AuthConfig): InvalidSpec "push REF: unauthorized: ..." when the registry
        refuses them; returns the digest pushed."""
        return self._with_credentials("push", self.runtime.push_image, ref, progress, auth)

    def _with_credentials(self, action: str, call: Callable[..., str], ref: str, progress: ProgressCallback | None,
                          auth: RegistryAuth | None) -> str:
        """`call(ref, progress, auth)`, `auth` being else the credentials found for `ref`'s registry;
        a refusal for want of (valid) credentials said as such (see `_refusal`)."""
        if auth is None:
            try:
                auth = credentials_for(ref, self.config)
            except CredentialsError as error:
                raise InvalidSpec(f"{action} {ref}: registry credentials: {error}") from None
        if auth is not None:
            log.debug(f"image.{action}_credentials", ref=ref, registry=auth.server,
                      kind="identity token" if auth.identity_token else "user and password")
        try:
            return call(ref, progress, auth)
        except InvalidSpec as error:
            refusal = self._refusal(action, ref, auth, error)
            if refusal is None:
                raise
            raise refusal from None

    def _refusal(self, action: str, ref: str, auth: RegistryAuth | None, error: InvalidSpec) -> InvalidSpec | None:
        """A pull or push (`action`) the registry refused for want of (valid) credentials, said as
        such: "pull REF: unauthorized: ..." with where the credentials came from; None for any other
        failure. (The engines' words: Docker's "no basic auth credentials" and the registry's
        "unauthorized: authentication required", the distribution spec's UNAUTHORIZED code.)"""
        said = str(error).removeprefix(f"{action} {ref}: ")
        if not any(words in said.lower() for words in _REFUSED):
            return None
        host, (path, _) = registry_host(ref), config_path(self.config)
        why = f"{host} refused the credentials from {path}" if auth else f"no credentials for {host} in {path}"
        return InvalidSpec(f"{action} {ref}: unauthorized: {why}: {said}")
