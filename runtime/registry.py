"""A registry client for one question: what digest does this tag name now? (`pull = "newer"`)

It asks the registry itself with a manifest HEAD, as the OCI distribution spec describes it
(`HEAD /v2/<name>/manifests/<reference>`, the answer's `Docker-Content-Digest` header), with the
Accept header of every manifest type an engine pulls (OCI indexes and Docker manifest lists first,
then single manifests), so the digest is the one a pull would record in `RepoDigests`. The engine's
distribution endpoint is not used: Docker 20.10 GETs the whole manifest there, Podman 4.3 has none.

Auth is what the registry asks for in its 401 (Docker's token protocol, distribution's
docs/spec/auth/token.md): `Bearer realm=...,service=...,scope=...` -> a GET of the realm (with
basic credentials when there are any) for a token, cached per registry and scope for its
`expires_in`; `Basic realm=...` -> basic credentials on every request. A registry's scheme is
remembered, so a check with a cached token is one round trip. Registries on 127.0.0.0/8 and
localhost are spoken to over plain HTTP (Docker treats them as insecure by default), others over
HTTPS. Docker Hub (`docker.io`) is reached at registry-1.docker.io.

This module is the only one that speaks HTTP to registries: `requests` errors become the few
exceptions below, whose messages never hold a credential or token.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import requests
import structlog

log = structlog.get_logger("runtime.registry")

# The manifest media types an engine pulls, most specific first (OCI image-spec media-types.md,
# Docker's manifest list and image manifest v2 schema 2).
MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
ACCEPT = ", ".join(MANIFEST_TYPES)
DOCKER_HUB = "docker.io"
_HUB_API = "registry-1.docker.io"
# seconds to connect, seconds to read: a manifest HEAD or a token answers at once, and a registry
# that accepts and never answers must not hold the pass (the other containers' repairs) long
_TIMEOUT = (5.0, 10.0)
_TOKEN_LIFETIME = 60.0  # seconds a token lives when the token server does not say (token.md)
_TOKEN_MARGIN = 5.0  # seconds before its expiry that a cached token is fetched again
_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?')


class RegistryError(Exception):
    """Base of every error of this client; the message names the reference, never a secret."""


class RegistryUnauthorized(RegistryError):
    """The registry refused the credentials (or wants some and there are none): 401 or 403."""


class RegistryNotFound(RegistryError):
    """The registry has no such repository or tag (404)."""


class RegistryUnavailable(RegistryError):
    """The registry cannot be reached, timed out, or answered a server error or 429: retry later."""


class Login(Protocol):
    """Basic credentials for one registry (`reconciler.images.credentials.RegistryAuth` is one)."""

    username: str
    password: str


@dataclass(frozen=True)
class ImageName:
    """A reference split as Docker normalises it (distribution's ParseNormalizedNamed): a
    registry host[:port] ("docker.io" by default), a repository ("library/" added to a one-part
    Docker Hub name), and the tag ("latest" by default) or digest it names."""

    registry: str
    repository: str
    reference: str


def parse_name(ref: str) -> ImageName:
    """`ref` split into registry, repository and tag or digest (a digest wins over a tag)."""
    first, slash, rest = ref.partition("/")
    if slash and (any(c in first for c in ".:") or first == "localhost" or first.lower() != first):
        registry, remainder = first, rest
    else:
        registry, remainder = DOCKER_HUB, ref
    remainder, at, digest = remainder.partition("@")
    name, colon, tag = remainder.partition(":")
    if registry == DOCKER_HUB and "/" not in name:
        name = f"library/{name}"
    return ImageName(registry, name, digest if at else (tag if colon else "latest"))


def repo_digest(ref: str, repo_digests: tuple[str, ...]) -> str | None:
    """The digest of `ref`'s repository among an image's `RepoDigests` ("reg/app@sha256:..."),
    names compared as normalised ("nginx" and "docker.io/library/nginx" are one), or None."""
    want = parse_name(ref)
    for entry in repo_digests:
        name = parse_name(entry)
        if (name.registry, name.repository) == (want.registry, want.repository) and "@" in entry:
            return name.reference
    return None


def insecure(registry: str) -> bool:
    """Whether Docker speaks plain HTTP to `registry` by default: a loopback address
    (127.0.0.0/8, ::1) or localhost (moby registry/config.go, the default insecure CIDR)."""
    host = registry.rsplit(":", 1)[0] if registry.count(":") == 1 else registry
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """A `WWW-Authenticate` header -> (scheme in lower case, {parameter: value}) (RFC 7235:
    quoted or bare values, commas between). ("", {}) for an empty header."""
    scheme, _, rest = header.strip().partition(" ")
    params = {m.group(1).lower(): (m.group(2).replace('\\"', '"') if m.group(2) is not None else m.group(3))
              for m in _PARAM.finditer(rest)}
    return scheme.lower(), params


class RegistryClient:
    """Manifest digests from registries over one kept-alive `requests.Session`, with each
    registry's auth scheme and its tokens cached (thread-safe)."""

    def __init__(self, session: requests.Session | None = None, clock=time.monotonic) -> None:
        self._session = session or requests.Session()
        self._clock = clock
        self._lock = threading.Lock()
        self._challenges: dict[str, tuple[str, dict[str, str]]] = {}  # registry -> its 401 challenge
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}  # (registry, scope) -> (token, expiry)

    def digest(self, ref: str, login: Login | None = None) -> str:
        """The digest ("sha256:...") the registry gives now for `ref`'s tag: one HEAD when the
        registry's auth is known (and a token for the repository cached). Raises RegistryError."""
        name = parse_name(ref)
        url = f"{'http' if insecure(name.registry) else 'https'}://{_api_host(name.registry)}" \
              f"/v2/{name.repository}/manifests/{name.reference}"
        scope = f"repository:{name.repository}:pull"
        started = time.monotonic()
        answer = self._request("HEAD", url, ref, self._authorization(name.registry, scope, login, ref))
        if answer.status_code == 401:  # auth not known yet, or a token that expired early: learn, retry once
            self._learn(name.registry, scope, answer.headers.get("WWW-Authenticate", ""), ref)
            answer = self._request("HEAD", url, ref, self._authorization(name.registry, scope, login, ref))
        digest = _digest_of(answer, ref) or _digest_of(
            self._request("GET", url, ref, self._authorization(name.registry, scope, login, ref)), ref, body=True)
        log.debug("registry.head", ref=ref, digest=digest, seconds=round(time.monotonic() - started, 3))
        return digest

    def _learn(self, registry: str, scope: str, header: str, ref: str) -> None:
        """Keep the registry's challenge (a 401's WWW-Authenticate) and forget the token for `scope`."""
        scheme, params = parse_challenge(header)
        if scheme not in ("bearer", "basic"):
            raise RegistryUnauthorized(f"{ref}: the registry asks for auth this client does not speak: "
                                       f"{scheme or 'no WWW-Authenticate header'}")
        with self._lock:
            self._challenges[registry] = (scheme, params)
            self._tokens.pop((registry, scope), None)

    def _authorization(self, registry: str, scope: str, login: Login | None, ref: str) -> Mapping[str, str]:
        """The Authorization header the registry's known challenge calls for ({} while unknown)."""
        scheme, params = self._challenges.get(registry, ("", {}))
        if scheme == "basic":
            if login is None:
                raise RegistryUnauthorized(f"{ref}: unauthorized: the registry wants credentials and there are none")
            pair = base64.b64encode(f"{login.username}:{login.password}".encode()).decode("ascii")
            return {"Authorization": f"Basic {pair}"}
        if scheme == "bearer":
            return {"Authorization": f"Bearer {self._token(registry, scope, params, login, ref)}"}
        return {}

    def _token(self, registry: str, scope: str, params: dict[str, str], login: Login | None, ref: str) -> str:
        with self._lock:
            cached = self._tokens.get((registry, scope))
        if cached and cached[1] > self._clock():
            return cached[0]
        if "realm" not in params:
            raise RegistryUnauthorized(f"{ref}: the registry's Bearer challenge names no realm")
        query = {"scope": scope, **({"service": params["service"]} if "service" in params else {})}
        auth = (login.username, login.password) if login else None
        answer = self._request("GET", params["realm"], ref, {}, params=query, auth=auth)
        if answer.status_code in (401, 403):
            raise RegistryUnauthorized(f"{ref}: unauthorized: the token server refused the credentials")
        _raise_for(answer, ref)
        try:
            body = answer.json()
            token = body.get("token") or body["access_token"]
            lifetime = float(body.get("expires_in") or _TOKEN_LIFETIME)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise RegistryError(f"{ref}: the token server's answer holds no token") from None
        with self._lock:
            self._tokens[(registry, scope)] = (token, self._clock() + max(lifetime - _TOKEN_MARGIN, 1.0))
        return token

    def _request(self, method: str, url: str, ref: str, headers: Mapping[str, str], **kwargs) -> requests.Response:
        try:
            return self._session.request(method, url, headers={"Accept": ACCEPT, **headers}, timeout=_TIMEOUT,
                                         allow_redirects=True, **kwargs)
        except requests.RequestException as error:
            raise RegistryUnavailable(f"{ref}: registry unreachable: {type(error).__name__}: "
                                      f"{_without_secrets(str(error))}") from None


def _api_host(registry: str) -> str:
    return _HUB_API if registry == DOCKER_HUB else registry


def _digest_of(answer: requests.Response, ref: str, body: bool = False) -> str | None:
    """The answer's `Docker-Content-Digest`; for a GET without it, the sha256 of the manifest
    bytes (the digest is the hash of the content: OCI distribution spec). Raises on an error status."""
    if answer.status_code == 401:
        raise RegistryUnauthorized(f"{ref}: unauthorized: the registry refused the credentials")
    _raise_for(answer, ref)
    found = answer.headers.get("Docker-Content-Digest")
    if found or not body:
        return found
    return "sha256:" + hashlib.sha256(answer.content).hexdigest()


def _raise_for(answer: requests.Response, ref: str) -> None:
    status = answer.status_code
    if status < 400:
        return
    if status in (401, 403):
        raise RegistryUnauthorized(f"{ref}: unauthorized ({status})")
    if status == 404:
        raise RegistryNotFound(f"{ref}: the registry has no such repository or tag")
    if status == 429 or status >= 500:
        raise RegistryUnavailable(f"{ref}: the registry answered {status}")
    raise RegistryError(f"{ref}: the registry answered {status}")


def _without_secrets(message: str) -> str:
    """requests' messages name the URL; a URL never carries credentials here, but a token
    server's realm might: user:password@ is cut out all the same."""
    return re.sub(r"//[^/@\s]+@", "//", message)
