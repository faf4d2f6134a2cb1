"""The image benchmark's registry: Debian's `docker-registry` (`scripts/registry.sh install`) on a
free port of 127.0.0.1 with htpasswd basic auth (a bcrypt entry made by `htpasswd -B`), its
storage in a temporary directory and its access log on, so the benchmark counts the HTTP requests
the registry itself saw. The test fixtures (tests/integration/registry.py) start theirs the same
way with the access log off; benchmarks do not import the tests.
"""

from __future__ import annotations

import base64
import io
import json
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import docker
import requests

REGISTRY = "/usr/bin/docker-registry"
USER = "bench"
ACCEPT = ", ".join((
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
))
# one access log line (Apache combined format): "METHOD /v2/... HTTP/1.1" STATUS
_REQUEST = re.compile(r'"([A-Z]+) (/v2/\S*) HTTP/[\d.]+" (\d{3})')


class BenchRegistry:
    """A running registry asking for USER and a random password (with `auth`, else open to anyone);
    `stop()` removes everything."""

    def __init__(self, auth: bool = True) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="bench-registry-"))
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.host = f"127.0.0.1:{probe.getsockname()[1]}"
        self.password = secrets.token_hex(16)
        entry = subprocess.run(["htpasswd", "-Bbn", USER, self.password], capture_output=True, text=True, check=True)
        (self.root / "htpasswd").write_text(entry.stdout.strip() + "\n")
        (self.root / "config.yml").write_text(
            f"version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: false\n"
            f"storage:\n  filesystem:\n    rootdirectory: {self.root / 'storage'}\n"
            f"http:\n  addr: {self.host}\n  secret: {secrets.token_hex(16)}\n"
            + (f"auth:\n  htpasswd:\n    realm: bench\n    path: {self.root / 'htpasswd'}\n" if auth else ""))
        self.log = self.root / "access.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen([REGISTRY, "serve", str(self.root / "config.yml")], stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.session = requests.Session()
        self.session.auth = (USER, self.password)
        self._wait_answering()

    def _wait_answering(self) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                requests.get(f"http://{self.host}/v2/", timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.1)
        self.stop()
        raise SystemExit(f"image bench: docker-registry on {self.host} did not start (scripts/registry.sh install)")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)

    def config_json(self, directory: Path) -> Path:
        """A Docker config.json in `directory` holding this registry's credentials (as `docker login`)."""
        pair = base64.b64encode(f"{USER}:{self.password}".encode()).decode()
        path = directory / "config.json"
        path.write_text(json.dumps({"auths": {self.host: {"auth": pair}}}))
        return path

    def requests_seen(self) -> list[tuple[str, str, int]]:
        """(method, path, status) of every request the registry answered so far, from its access log."""
        return [(m.group(1), m.group(2), int(m.group(3))) for m in _REQUEST.finditer(self.log.read_text())]

    def push(self, engine: docker.DockerClient, source: str, repository: str, tag: str) -> None:
        """Push local image `source` as HOST/`repository`:`tag` through the engine; the local tag is
        removed again."""
        ref = f"{self.host}/{repository}"
        engine.images.get(source).tag(ref, tag)
        try:
            auth = {"username": USER, "password": self.password, "serveraddress": self.host}
            for line in engine.images.push(ref, tag, auth_config=auth, stream=True, decode=True):
                if "error" in line:
                    raise SystemExit(f"image bench: push {ref}:{tag}: {line['error']}")
        finally:
            engine.images.remove(f"{ref}:{tag}")

    def push_new(self, engine: docker.DockerClient, base: str, repository: str, tag: str) -> None:
        """Build a new image from `base` (a label of its own) and push it as `repository`:`tag`."""
        local = f"localhost/bench-images-{secrets.token_hex(6)}:1"
        dockerfile = io.BytesIO(f"FROM {base}\nLABEL io.reconciler.bench={local}\n".encode())
        engine.images.build(fileobj=dockerfile, tag=local, rm=True)
        try:
            self.push(engine, local, repository, tag)
        finally:
            engine.images.remove(local)

    def move(self, repository: str, source: str, tag: str) -> str:
        """Point `repository`:`tag` at the manifest `repository`:`source` names, inside the registry
        (a manifest GET and PUT, as `crane tag` does): the tag moves without touching the host's
        images. Returns the digest it names now."""
        url = f"http://{self.host}/v2/{repository}/manifests"
        manifest = self.session.get(f"{url}/{source}", headers={"Accept": ACCEPT}, timeout=10)
        manifest.raise_for_status()
        answer = self.session.put(f"{url}/{tag}", data=manifest.content, timeout=10,
                                  headers={"Content-Type": manifest.headers["Content-Type"]})
        answer.raise_for_status()
        return answer.headers["Docker-Content-Digest"]
