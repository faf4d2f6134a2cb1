"""Pushes with registry credentials (reconciler/images/authenticated.py) on the in-memory engine: a
built image with `push = true` is pushed with the credentials its registry has in the config file,
and a push the registry refuses is that container's failure, said as unauthorized, without the
secret, while the container already running keeps running."""

from __future__ import annotations

import json

from reconciler.converge import converge
from reconciler.desired.loader import load
from reconciler.images.authenticated import Authenticated
from runtime.base import InvalidSpec, RegistryAuth
from runtime.memory import MemoryRuntime
from tests.conftest import DEMO_IMAGE
from tests.unit.test_builds import tree

NS = "ns"
SECRET = "pw-canary-5e0a"
REF = "127.0.0.1:5000/app:1"
PUSHED = f"""
[container.app]
image = "{REF}"
build = {{ context = "./app" }}
push = true
command = ["sleep", "300"]
"""


def config_file(tmp_path) -> str:
    path = tmp_path / "config" / "config.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"auths": {"127.0.0.1:5000": {"username": "deploy", "password": SECRET}}}))
    return str(path)


def engine() -> MemoryRuntime:
    return MemoryRuntime(images={DEMO_IMAGE: "sha256:" + "d" * 64})


def test_a_push_carries_the_credentials_of_the_images_registry(tmp_path):
    runtime = engine()
    report = converge(Authenticated(runtime, config_file(tmp_path)), load(tree(tmp_path, PUSHED)).state, NS)
    assert report.converged
    assert [(ref, auth) for ref, _progress, auth in runtime.calls_to("push_image")] == [
        (REF, RegistryAuth("deploy", SECRET, server="127.0.0.1:5000"))]


def test_a_refused_push_fails_its_container_as_unauthorized_and_the_old_one_keeps_running(tmp_path):
    runtime, config = engine(), config_file(tmp_path)
    root = tree(tmp_path, PUSHED)
    assert converge(Authenticated(runtime, config), load(root).state, NS).converged
    running = {c.id for c in runtime.containers.values() if c.state == "running"}
    (root / "app" / "main.sh").write_text("echo changed\n")
    runtime.fail_next("push_image", InvalidSpec(f"push {REF}: unauthorized: authentication required"))
    report = converge(Authenticated(runtime, config), load(root).state, NS)
    [failure] = report.failures
    assert failure.error == (f"push {REF}: unauthorized: 127.0.0.1:5000 refused the credentials from {config}: "
                             "unauthorized: authentication required")
    assert SECRET not in failure.error
    assert {c.id for c in runtime.containers.values() if c.state == "running"} == running
