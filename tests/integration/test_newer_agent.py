"""`pull = "newer"` in a real agent process (`reconciler run`) on the real engine, against the
registry with htpasswd auth (tests/integration/registry.py), its credentials from the config.json
named by `--registry-config`: a tag re-pushed by another host is found by the agent's own checks
and its container replaced once, with "image moved: OLD -> NEW"; the checks are spaced by
`pull_interval`, which lasts across the agent's passes (one `NewerChecks` for its lifetime)."""

from __future__ import annotations

import base64
import json
import time
from datetime import datetime
from itertools import pairwise

import pytest
import requests

from tests.conftest import remove_containers
from tests.integration.agents import eventually, running
from tests.integration.registry import MANIFEST_TYPES, Registry, drop_local, push, push_moved

pytestmark = pytest.mark.integration

APP = ('[container.{name}]\nimage = "{ref}"\npull = "newer"\npull_interval = "2s"\ncommand = ["sleep", "3600"]\n'
       'init = true\nstop_timeout = 1\n')
# seconds of checks counted: with pull_interval 2s the agent wakes for a check every 2 s, whatever its
# resync period
WATCH = 7.0


def retag(registry: Registry, repository: str, source: str, tag: str) -> str:
    """Point `repository:tag` at the manifest of `repository:source` inside the registry (a GET of
    the manifest and a PUT under the new tag, as `crane tag` does), so the engine's local tag of
    the reference is never touched. Returns the digest the tag now names."""
    auth = (registry.auth.username, registry.auth.password)
    base = f"http://{registry.host}/v2/{repository}/manifests"
    manifest = requests.get(f"{base}/{source}", auth=auth, headers={"Accept": MANIFEST_TYPES}, timeout=10)
    manifest.raise_for_status()
    put = requests.put(f"{base}/{tag}", auth=auth, data=manifest.content, timeout=10,
                       headers={"Content-Type": manifest.headers["Content-Type"]})
    put.raise_for_status()
    return put.headers["Docker-Content-Digest"]


def stamp(event: dict) -> float:
    """When the agent logged `event`, in seconds since the epoch."""
    return datetime.fromisoformat(event["timestamp"]).timestamp()


def events(agent, name: str) -> list[dict]:
    lines = agent.log.read_text().splitlines()
    return [e for e in (json.loads(line) for line in lines if line.startswith("{")) if e.get("event") == name]


@pytest.fixture
def credentials(tmp_path, auth_registry):
    """A config.json holding the auth registry's credentials, as `docker login` writes it."""
    path = tmp_path / "config.json"
    pair = base64.b64encode(f"{auth_registry.auth.username}:{auth_registry.auth.password}".encode()).decode()
    path.write_text(json.dumps({"auths": {auth_registry.host: {"auth": pair}}}))
    return path


@pytest.fixture
def repository(docker_client, auth_registry, namespace):
    """NAMESPACE/demo on the auth registry; afterwards the namespace's containers and the local
    copy of its tag 1 go (the agents are stopped by then)."""
    yield f"{namespace}/demo"
    remove_containers(docker_client, docker_client.containers.list(
        all=True, filters={"label": f"io.reconciler.managed={namespace}"}))
    drop_local(docker_client, f"{auth_registry.host}/{namespace}/demo:1")


def test_the_agent_replaces_a_container_once_when_its_tag_moves_and_spaces_its_checks(
        docker_client, auth_registry, repository, credentials, desired, namespace, start_agent):
    name, ref = f"{namespace}-web", f"{auth_registry.host}/{repository}:1"
    old = push(docker_client, auth_registry, repository, "1")
    (desired / "web.toml").write_text(APP.format(name=name, ref=ref))
    agent = start_agent(extra=("--interval", "1s", "--registry-config", str(credentials)))
    agent.wait_converged(name)
    first = running(docker_client, name).image.id
    eventually(lambda: events(agent, "image.checked"), "a first check of the running image")

    push_moved(docker_client, auth_registry, repository, "next")  # as another host would
    new = retag(auth_registry, repository, "next", "1")
    eventually(lambda: (c := running(docker_client, name)) is not None and c.image.id != first,
               f"{name} running the image {ref} moved to", timeout=30)
    seen = len(events(agent, "image.checked"))
    eventually(lambda: len(events(agent, "image.checked")) >= seen + 2, "two more checks", timeout=WATCH + 3)

    replaced = [e for e in events(agent, "container.recreated") if e["name"] == name]
    assert [e["reason"] for e in replaced] == [f"image moved: {old} -> {new}"]
    assert docker_client.images.get(ref).id == running(docker_client, name).image.id
    assert auth_registry.auth.password not in agent.log.read_text()


def test_the_agent_wakes_for_each_check_spaced_by_the_pull_interval_whatever_its_resync_period(
        docker_client, auth_registry, repository, credentials, desired, namespace, start_agent):
    name, ref = f"{namespace}-web", f"{auth_registry.host}/{repository}:1"
    push(docker_client, auth_registry, repository, "1")
    (desired / "web.toml").write_text(APP.format(name=name, ref=ref))
    agent = start_agent(extra=("--registry-config", str(credentials)))  # resyncs every 30 s: checks wake it
    agent.wait_converged(name)
    since = time.time()
    time.sleep(WATCH)  # a rate is measured over a span of time

    checks = [e for e in events(agent, "image.checked") if stamp(e) >= since]
    gaps = [stamp(later) - stamp(earlier) for earlier, later in pairwise(checks)]
    # (on Podman, which lists no RepoDigests the check can trust, the first check records the digest)
    assert 3 <= len(checks) <= 4 and all(e["outcome"] in ("unchanged", "recorded") for e in checks)
    assert 1.7 <= min(gaps) and max(gaps) <= 2.5, gaps
