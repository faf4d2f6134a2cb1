"""Registry credentials, found as the Docker CLI finds them (docker/cli, cli/config/configfile and
cli/config/credentials), so a host where `docker login` works needs nothing more:

- the config file: `--registry-config FILE`, else `$DOCKER_CONFIG/config.json`, else
  `~/.docker/config.json`; a missing default file means no credentials;
- for a registry host, `credHelpers[host]` comes first, then `credsStore`, then `auths[host]`
  (`auth`: base64 of `user:password`, or `username`/`password`, or `identitytoken`); an `auths`
  key written as a URL (`https://host/v1/`) matches its host, as Docker's file store allows;
- a helper is run as the Docker CLI runs it: `docker-credential-<name> get`, the server on stdin,
  `{"ServerURL", "Username", "Secret"}` on stdout (a Username of `<token>` makes the secret an
  identity token); "credentials not found" means none.

The registry host of an image is Docker's (distribution's ParseNormalizedNamed): the first path
component when it holds "." or ":", is "localhost" or has a capital; else Docker Hub, whose
credentials Docker keeps under `https://index.docker.io/v1/`.

Errors are CredentialsError, naming the file or the helper and never a secret.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runtime.base import RegistryAuth

DOCKER_HUB = "https://index.docker.io/v1/"
_HUB_NAMES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
HELPER_TIMEOUT = 10.0  # seconds a credential helper may take (it may ask a keyring or a cloud API)
_NOT_FOUND = "credentials not found"


class CredentialsError(Exception):
    """The config file cannot be read or makes no sense, or a credential helper failed."""


def registry_host(ref: str) -> str:
    """The registry of image reference `ref` as Docker's config.json names it: `host[:port]`
    ("127.0.0.1:5000/demo:1" -> "127.0.0.1:5000"), or DOCKER_HUB for Docker Hub images
    ("nginx", "library/nginx", "docker.io/library/nginx")."""
    first, slash, _ = ref.partition("/")
    if slash and (any(c in first for c in ".:") or first == "localhost" or first.lower() != first):
        return DOCKER_HUB if first in _HUB_NAMES else first
    return DOCKER_HUB


def config_path(explicit: str | os.PathLike | None = None) -> tuple[Path, bool]:
    """(the config file to read, whether it was named explicitly): `explicit`, else
    `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`."""
    if explicit:
        return Path(explicit), True
    directory = os.environ.get("DOCKER_CONFIG")
    return (Path(directory) if directory else Path.home() / ".docker") / "config.json", False


def read_config(explicit: str | os.PathLike | None = None) -> Mapping[str, Any]:
    """The parsed config file (see `config_path`); {} when the default file does not exist.
    Raises CredentialsError naming the file when it cannot be read, is not JSON, or is not an
    object; a file named explicitly must exist."""
    path, named = config_path(explicit)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if named:
            raise CredentialsError(f"{path}: registry config file not found") from None
        return {}
    except (OSError, UnicodeDecodeError) as error:
        raise CredentialsError(f"{path}: cannot read the registry config file: {_reason(error)}") from None
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:  # its message holds the position, never the text
        raise CredentialsError(f"{path}:{error.lineno}: not valid JSON: {error.msg}") from None
    if not isinstance(config, dict):
        raise CredentialsError(f"{path}: a registry config file is a JSON object")
    return config


def credentials_for(ref: str, config: str | os.PathLike | None = None) -> RegistryAuth | None:
    """The credentials for the registry of image reference `ref` (see `registry_host`), from the
    config file `config` (see `config_path`), or None when there are none."""
    return host_credentials(registry_host(ref), config)


def host_credentials(host: str, config: str | os.PathLike | None = None) -> RegistryAuth | None:
    """The credentials for registry `host` (`host[:port]`, or DOCKER_HUB), or None.
    Raises CredentialsError for a bad config file, a bad `auths` entry or a failing helper."""
    path, _ = config_path(config)
    parsed = read_config(config)
    helpers = parsed.get("credHelpers") or {}
    if not isinstance(helpers, dict):
        raise CredentialsError(f"{path}: credHelpers is not an object")
    helper = helpers.get(host) or parsed.get("credsStore")
    if helper:
        if not isinstance(helper, str):
            raise CredentialsError(f"{path}: the credential helper for {host} is not a name")
        return run_helper(helper, host)
    return _from_auths(path, parsed.get("auths") or {}, host)


def run_helper(name: str, host: str, timeout: float = HELPER_TIMEOUT) -> RegistryAuth | None:
    """Ask `docker-credential-<name>` for `host`'s credentials (docker-credential-helpers'
    protocol: `get`, the server URL on stdin, JSON on stdout); None when it has none."""
    program = f"docker-credential-{name}"
    try:
        done = subprocess.run([program, "get"], input=host, capture_output=True, text=True, timeout=timeout,
                              check=False)
    except FileNotFoundError:
        raise CredentialsError(f"credential helper {program} for {host}: not found on PATH") from None
    except subprocess.TimeoutExpired:
        raise CredentialsError(f"credential helper {program} for {host}: no answer within {timeout:g}s") from None
    except OSError as error:
        raise CredentialsError(f"credential helper {program} for {host}: {_reason(error)}") from None
    if done.returncode != 0:
        said = (done.stdout.strip() or done.stderr.strip()).splitlines()
        if said and _NOT_FOUND in said[0].lower():
            return None
        detail = f": {said[0][:200]}" if said else ""  # a failing helper's words, never its answer
        raise CredentialsError(f"credential helper {program} for {host} exited {done.returncode}{detail}")
    try:
        answer = json.loads(done.stdout)
        username, secret = answer["Username"], answer["Secret"]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise CredentialsError(
            f"credential helper {program} for {host}: its answer is not JSON with Username and Secret") from None
    if not isinstance(username, str) or not isinstance(secret, str):
        raise CredentialsError(f"credential helper {program} for {host}: Username and Secret are not strings")
    if not secret:
        return None
    if username == "<token>":
        return RegistryAuth(identity_token=secret, server=host)
    return RegistryAuth(username=username, password=secret, server=host)


def _from_auths(path: Path, auths: Any, host: str) -> RegistryAuth | None:
    if not isinstance(auths, dict):
        raise CredentialsError(f"{path}: auths is not an object")
    key = host if host in auths else next((k for k in auths if _hostname(k) == _hostname(host)), None)
    if key is None:
        return None
    entry = auths[key]
    if not isinstance(entry, dict):
        raise CredentialsError(f"{path}: auths.{key} is not an object")
    if entry.get("identitytoken"):
        return RegistryAuth(identity_token=str(entry["identitytoken"]), server=host)
    username, password = entry.get("username") or "", entry.get("password") or ""
    if entry.get("auth"):
        username, password = _decode(path, key, entry["auth"])
    if not username and not password:
        return None
    return RegistryAuth(username=str(username), password=str(password), server=host)


def _decode(path: Path, key: str, encoded: Any) -> tuple[str, str]:
    """auths.KEY.auth: base64 of `user:password` (Docker's decodeAuth)."""
    try:
        username, colon, password = base64.b64decode(str(encoded), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise CredentialsError(f"{path}: auths.{key}.auth is not base64 of user:password") from None
    if not colon:
        raise CredentialsError(f"{path}: auths.{key}.auth is not base64 of user:password (no ':')")
    return username, password


def _hostname(key: str) -> str:
    """An `auths` key as a host (Docker's ConvertToHostname): scheme and path dropped."""
    for scheme in ("http://", "https://"):
        key = key.removeprefix(scheme)
    return key.split("/", 1)[0]


def _reason(error: Exception) -> str:
    return getattr(error, "strerror", None) or type(error).__name__
