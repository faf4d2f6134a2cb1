"""Real registries for the image tests: Debian's `docker-registry` (the CNCF distribution registry,
`docker-registry serve CONFIG.yml`) on 127.0.0.1, on a free port, its storage in a tmp directory:
`registry` is open to anyone, `auth_registry` asks for htpasswd basic auth (bcrypt entries made by
`htpasswd -B`, the only kind the registry takes) of user `deploy` and a canary password. Both live
for the session; `start_registry` makes one for a single test (one that stops it, say).

Docker treats 127.0.0.0/8 registries as insecure (plain HTTP) by default; the private Podman
service lists 127.0.0.1 as insecure in its registries.conf (scripts/podman.sh).

`push` and `push_moved` put images there through the engine at $DOCKER_HOST: the demo image under
a repository and tag, and a new image under the same tag (a tag that moves). Without the registry
binary or htpasswd (`scripts/registry.sh install`) the tests are skipped locally and fail in CI
(`RECONCILER_REQUIRE_ENGINE=1`), as tests/integration/gitservers.py does."""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import docker
import pytest
import requests

from runtime.base import RegistryAuth
from tests.conftest import DEMO_IMAGE
from tests.integration.gitservers import canary

REGISTRY = Path("/usr/bin/docker-registry")
USER = "deploy"
# what a registry may answer a manifest HEAD with: Docker's and OCI's manifests and lists
MANIFEST_TYPES = ", ".join((
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
))


class Registry:
    """One `docker-registry` process on 127.0.0.1:`port`, storing under `root`. With `password`,
    every request needs basic auth as USER (`auth` is then those credentials, else None).
    `stop()` and `start()` again keep the port and the images."""

    def __init__(self, root: Path, password: str | None = None) -> None:
        self.root = root
        self.port = _free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.auth = RegistryAuth(USER, password, server=self.host) if password else None
        self._process: subprocess.Popen | None = None
        self._config = root / "config.yml"
        self._config.write_text(self._configuration(password))

    def start(self) -> None:
        log = open(self.root / "registry.log", "ab")
        self._process = subprocess.Popen([str(REGISTRY), "serve", str(self._config)], stdout=log, stderr=log,
                                         stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://{self.host}/v2/", timeout=1).status_code in (200, 401):
                    return
            except requests.ConnectionError:
                pass
            if self._process.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        tail = (self.root / "registry.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"docker-registry on {self.host} did not answer within 15 s:\n{tail}")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def digest(self, repository: str, tag: str) -> str:
        """The digest the registry holds for `repository:tag` now (a manifest HEAD)."""
        auth = (self.auth.username, self.auth.password) if self.auth else None
        answer = requests.head(f"http://{self.host}/v2/{repository}/manifests/{tag}", auth=auth, timeout=10,
                               headers={"Accept": MANIFEST_TYPES})
        answer.raise_for_status()
        return answer.headers["Docker-Content-Digest"]

    def _configuration(self, password: str | None) -> str:
        storage = self.root / "storage"
        storage.mkdir()
        config = (f"version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n"
                  f"storage:\n  filesystem:\n    rootdirectory: {storage}\n  delete:\n    enabled: true\n"
                  f"http:\n  addr: {self.host}\n  secret: {uuid.uuid4().hex}\n")
        if password is None:
            return config
        entry = subprocess.run(["htpasswd", "-Bbn", USER, password], capture_output=True, text=True, check=True)
        htpasswd = self.root / "htpasswd"
        htpasswd.write_text(entry.stdout.strip() + "\n")
        return config + f"auth:\n  htpasswd:\n    realm: reconciler-tests\n    path: {htpasswd}\n"


def push(client: docker.DockerClient, registry: Registry, repository: str, tag: str,
         source: str = DEMO_IMAGE) -> str:
    """Push image `source` as `registry`/`repository`:`tag` through the engine (with the
    registry's credentials when it asks for them); the local tag is removed again, so a pull is
    needed to run it. Returns the digest the registry now holds for the tag."""
    ref = f"{registry.host}/{repository}"
    client.images.get(source).tag(ref, tag)
    try:
        auth = registry.auth.engine_form() if registry.auth else None
        for line in client.images.push(ref, tag, auth_config=auth, stream=True, decode=True):
            if "error" in line:
                raise RuntimeError(f"push {ref}:{tag}: {line['error']}")
    finally:
        client.images.remove(f"{ref}:{tag}")
    return registry.digest(repository, tag)


def push_moved(client: docker.DockerClient, registry: Registry, repository: str, tag: str) -> str:
    """Move `registry`/`repository`:`tag` to a new image: the demo image with a label of its own,
    built by the engine and pushed (`push`). Returns the new digest."""
    marker = uuid.uuid4().hex[:12]
    local = f"localhost/moved-{marker}:1"
    dockerfile = io.BytesIO(f"FROM {DEMO_IMAGE}\nLABEL io.reconciler.test.moved={marker}\n".encode())
    client.images.build(fileobj=dockerfile, tag=local, rm=True)
    try:
        return push(client, registry, repository, tag, source=local)
    finally:
        client.images.remove(local)


def drop_local(client: docker.DockerClient, ref: str) -> None:
    """Remove the local image `ref` (untag it) if the engine has it: the next use must pull."""
    try:
        client.images.remove(ref)
    except docker.errors.NotFound:  # Podman's "image not known" is no ImageNotFound
        pass


def _require() -> None:
    missing = [what for what, there in ((f"{REGISTRY} (Debian package docker-registry)", REGISTRY.exists()),
                                        ("htpasswd (Debian package apache2-utils)", shutil.which("htpasswd")))
               if not there]
    if not missing:
        return
    message = f"{' and '.join(missing)} missing: run `scripts/registry.sh install`"
    if os.environ.get("RECONCILER_REQUIRE_ENGINE"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _running(root: Path, password: str | None) -> Registry:
    _require()
    server = Registry(root, password)
    server.start()
    return server


@pytest.fixture(scope="session")
def registry(tmp_path_factory) -> Registry:
    """An open registry for the whole session."""
    server = _running(tmp_path_factory.mktemp("registry"), None)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def auth_registry(tmp_path_factory) -> Registry:
    """A registry for the whole session that asks for basic auth: USER and a canary password
    (`auth_registry.auth`)."""
    server = _running(tmp_path_factory.mktemp("auth-registry"), canary())
    yield server
    server.stop()


@pytest.fixture
def start_registry(tmp_path_factory):
    """Start a registry of the test's own (`start_registry(password=None)`), which the test may
    stop and start again; each is stopped afterwards."""
    servers: list[Registry] = []

    def start(password: str | None = None) -> Registry:
        servers.append(_running(tmp_path_factory.mktemp("own-registry"), password))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()
