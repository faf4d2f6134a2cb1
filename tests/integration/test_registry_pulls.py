"""Pulls from real registries (tests/integration/registry.py) on the real engine, as a user runs
`reconciler apply` and `reconciler run`: without auth, with credentials from a config.json named by
`--registry-config`, with a wrong password (that container's failure only, while the running one
keeps running), with the registry down (the agent keeps the container and retries), and pinned by
digest (accepted, pulled once)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import DEMO_IMAGE, remove_containers
from tests.integration.agents import eventually, running
from tests.integration.registry import Registry, drop_local, push, push_moved

pytestmark = pytest.mark.integration


def reconciler(*args: str, namespace: str, config: Path | None = None) -> subprocess.CompletedProcess:
    extra = ["--registry-config", str(config)] if config else []
    return subprocess.run([sys.executable, "-m", "reconciler", *args, "--namespace", namespace, *extra],
                          capture_output=True, text=True, timeout=180)


def container(name: str, image: str) -> str:
    return f'[container.{name}]\nimage = "{image}"\ncommand = ["sleep", "3600"]\ninit = true\nstop_timeout = 1\n'


def write(directory: Path, **containers: str) -> None:
    """One file per container: name -> image."""
    for old in directory.glob("*.toml"):
        old.unlink()
    for name, image in containers.items():
        (directory / f"{name}.toml").write_text(container(name, image))


def registry_config(path: Path, registry: Registry, password: str) -> Path:
    encoded = base64.b64encode(f"{registry.auth.username}:{password}".encode()).decode()
    path.write_text(json.dumps({"auths": {registry.host: {"auth": encoded}}}))
    return path


@pytest.fixture
def pushed(docker_client, namespace):
    """`pushed(registry, tag="1", moved=False)`: push the demo image (with `moved`, a new image:
    `push_moved`) to `registry` as NAMESPACE/demo:TAG and return its reference. Afterwards the
    namespace's containers are removed and the references pulled dropped, so no test finds
    another's pull (the agents a test started are stopped by then)."""
    refs = []

    def push_demo(registry: Registry, tag: str = "1", moved: bool = False) -> str:
        refs.append(f"{registry.host}/{namespace}/demo:{tag}")
        (push_moved if moved else push)(docker_client, registry, f"{namespace}/demo", tag)
        return refs[-1]

    yield push_demo
    remove_containers(docker_client, docker_client.containers.list(
        all=True, filters={"label": f"io.reconciler.managed={namespace}"}))
    for ref in refs:
        drop_local(docker_client, ref)


def failed_pulls(log: Path, ref: str) -> list[float]:
    """When the agent logged a failed pull of `ref` (seconds since the epoch)."""
    events = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return [datetime.fromisoformat(e["timestamp"]).timestamp() for e in events
            if e.get("event") == "image.failed" and e.get("name") == ref]


def image_of(docker_client, name: str) -> str:
    return running(docker_client, name).attrs["Image"]


def test_apply_pulls_an_image_from_an_open_registry(docker_client, registry, pushed, desired, namespace):
    ref = pushed(registry)
    write(desired, **{f"{namespace}-web": ref})
    applied = reconciler("apply", str(desired), namespace=namespace)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert image_of(docker_client, f"{namespace}-web") == docker_client.images.get(ref).id


def test_apply_pulls_with_the_credentials_of_the_registry_config(docker_client, auth_registry, pushed, desired,
                                                                 namespace, tmp_path):
    ref = pushed(auth_registry)
    config = registry_config(tmp_path / "config.json", auth_registry, auth_registry.auth.password)
    write(desired, **{f"{namespace}-web": ref})
    applied = reconciler("apply", str(desired), namespace=namespace, config=config)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert image_of(docker_client, f"{namespace}-web") == docker_client.images.get(ref).id
    assert auth_registry.auth.password not in applied.stdout + applied.stderr


def test_apply_without_credentials_for_an_authenticated_registry_says_unauthorized(auth_registry, pushed, desired,
                                                                                    namespace, tmp_path):
    ref = pushed(auth_registry)
    write(desired, **{f"{namespace}-web": ref})
    applied = reconciler("apply", str(desired), namespace=namespace, config=tmp_path / "none.json")
    assert applied.returncode == 1
    assert "registry config file not found" in applied.stderr
    (tmp_path / "empty.json").write_text("{}")
    applied = reconciler("apply", str(desired), namespace=namespace, config=tmp_path / "empty.json")
    assert applied.returncode == 1
    said = applied.stdout + applied.stderr
    assert f"pull {ref}: " in said and "unauthorized" in said.lower(), said


def test_a_wrong_password_fails_that_image_only_and_the_running_container_keeps_running(
        docker_client, auth_registry, pushed, desired, namespace, tmp_path):
    first = pushed(auth_registry, "1")
    config = registry_config(tmp_path / "config.json", auth_registry, auth_registry.auth.password)
    web, other = f"{namespace}-web", f"{namespace}-other"
    write(desired, **{web: first})
    assert reconciler("apply", str(desired), namespace=namespace, config=config).returncode == 0
    serving = running(docker_client, web).id
    second = pushed(auth_registry, "2", moved=True)
    wrong = "wrong-" + auth_registry.auth.password
    registry_config(config, auth_registry, wrong)
    write(desired, **{web: second, other: DEMO_IMAGE})
    applied = reconciler("apply", str(desired), namespace=namespace, config=config)
    said = applied.stdout + applied.stderr
    assert applied.returncode == 1
    assert f"pull {second}: " in said and "unauthorized" in said.lower(), said
    assert running(docker_client, web).id == serving
    assert running(docker_client, other) is not None
    assert wrong not in said and auth_registry.auth.password not in said


@pytest.mark.parametrize("form", ["digest", "tag and digest"])
def test_a_digest_pinned_image_is_pulled_once(docker_client, registry, pushed, desired, namespace, form):
    ref = pushed(registry)
    digest = registry.digest(f"{namespace}/demo", "1")
    name = ref.rsplit(":", 1)[0] if form == "digest" else ref
    pinned = f"{name}@{digest}"
    write(desired, **{f"{namespace}-web": pinned})
    applied = reconciler("apply", str(desired), namespace=namespace)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    try:
        planned = reconciler("plan", str(desired), "--detailed-exitcode", namespace=namespace)
        assert (planned.returncode, planned.stdout) == (0, "No changes: the engine matches the desired state.\n")
    finally:
        drop_local(docker_client, f"{ref.rsplit(':', 1)[0]}@{digest}")


def test_a_digest_that_is_not_one_is_refused_at_its_line(desired, namespace):
    write(desired, **{f"{namespace}-web": f"127.0.0.1:5000/demo@sha256:{'A' * 64}"})
    validated = reconciler("validate", str(desired), namespace=namespace)
    assert validated.returncode == 1
    assert f"{namespace}-web.toml:2:" in validated.stdout + validated.stderr


def test_with_the_registry_down_the_container_keeps_running_and_the_agent_retries(
        docker_client, start_registry, pushed, desired, namespace, start_agent):
    own = start_registry()
    web = f"{namespace}-web"
    write(desired, **{web: pushed(own, "1")})
    agent = start_agent()
    agent.wait_converged(web)
    serving = running(docker_client, web).id
    second = pushed(own, "2", moved=True)
    own.stop()
    try:
        write(desired, **{web: second})
        tried = eventually(lambda: len(failed_pulls(agent.log, second)) >= 3 and failed_pulls(agent.log, second),
                           "the agent tried the pull three times", timeout=60)
        assert tried[2] - tried[1] > tried[1] - tried[0], "the retries back off"
        assert running(docker_client, web).id == serving
    finally:
        own.start()
    agent.wait_converged(web)
    eventually(lambda: image_of(docker_client, web) == docker_client.images.get(second).id,
               "the container runs the pulled image", timeout=60)
