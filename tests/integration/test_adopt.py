"""Adoption on a real engine (docs/adoption.md): Docker, or Podman with DOCKER_HOST at its socket.

A container made by hand (as `docker run` or Compose makes one) is taken over with its volumes'
data; a volume and a network are adopted by a record and kept; without `adopt`, nothing changes.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import docker.errors
import pytest

from reconciler.converge import converge
from reconciler.ownership import owned_labels
from tests.conftest import DEMO_IMAGE, remove_containers
from tests.integration.test_converge import NO_CHANGES, pending, sleeper, state

pytestmark = pytest.mark.integration

COMPOSE_LABELS = {"com.docker.compose.project": "proj", "com.docker.compose.service": "app"}


def reconciler(*args: str, namespace: str, state: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reconciler", *args, "--namespace", namespace, "--state-dir", state],
                          capture_output=True, text=True, timeout=180)


@pytest.fixture
def made_by_hand(docker_client, namespace):
    """Removes, after the test, what a test made by hand under the namespace's prefix."""
    made: list[tuple[str, str]] = []
    yield lambda kind, name: made.append((kind, name))
    for kind, name in reversed(made):
        try:
            if kind == "container":
                docker_client.api.remove_container(name, force=True, v=True)
            elif kind == "volume":
                docker_client.api.remove_volume(name, force=True)
            else:
                docker_client.api.remove_network(name)
        except docker.errors.NotFound:
            pass


@pytest.fixture
def anonymous_volumes(docker_client, namespace):
    """Removes, after the test, the namespace's containers, then the anonymous volumes the test
    names: mounted by name into a replacement, an engine no longer removes one with its container."""
    volumes: list[str] = []
    yield volumes.append
    owned = docker_client.containers.list(all=True, filters={"label": f"io.reconciler.managed={namespace}"})
    remove_containers(docker_client, owned)
    for name in volumes:
        try:
            docker_client.api.remove_volume(name, force=True)
        except docker.errors.NotFound:
            pass


def anonymous_at(docker_client, container: str, path: str) -> str:
    """The name of the volume the engine mounts at `path` in `container`."""
    mounts = docker_client.api.inspect_container(container)["Mounts"]
    return next(m["Name"] for m in mounts if m["Destination"] == path)


def run_by_hand(docker_client, name: str, volume: str) -> str:
    """A running container as `docker run -v VOLUME:/srv -v /cache` makes it, with Compose's labels
    and a data file in each volume; returns its id."""
    api = docker_client.api
    created = api.create_container(DEMO_IMAGE, ["sleep", "3600"], name=name, volumes=["/cache"], labels=COMPOSE_LABELS,
                                   host_config=api.create_host_config(binds=[f"{volume}:/srv"], init=True))
    api.start(created["Id"])
    exec_in(docker_client, created["Id"], "echo named > /srv/f && echo anonymous > /cache/f")
    return created["Id"]


def exec_in(docker_client, container: str, script: str) -> str:
    code, output = docker_client.containers.get(container).exec_run(["sh", "-c", script])
    assert code == 0, output
    return output.decode().strip()


def test_an_adopted_container_is_replaced_by_an_owned_one_that_keeps_its_volumes_data(
    docker_client, namespace, made_by_hand, tmp_path
):
    app, data = f"{namespace}-app", f"{namespace}-data"
    made_by_hand("volume", data)
    made_by_hand("container", app)
    old = run_by_hand(docker_client, app, data)
    files = tmp_path / "desired"
    files.mkdir()
    (files / "app.toml").write_text(
        f'[volume.{data}]\nadopt = true\n\n[container.{app}]\nimage = "{DEMO_IMAGE}"\ncommand = ["sleep", "3600"]\n'
        f'init = true\nstop_timeout = 1\nmounts = ["{data}:/srv"]\nadopt = true\n'
    )
    state = str(tmp_path / "state")

    applied = reconciler("apply", str(files), namespace=namespace, state=state)

    assert applied.returncode == 0, applied.stdout + applied.stderr
    new = docker_client.api.inspect_container(app)
    assert new["Id"] != old and new["State"]["Running"]
    assert new["Config"]["Labels"]["io.reconciler.managed"] == namespace
    assert not set(COMPOSE_LABELS) & set(new["Config"]["Labels"])
    assert exec_in(docker_client, app, "cat /srv/f /cache/f").split() == ["named", "anonymous"]
    with pytest.raises(docker.errors.NotFound):
        docker_client.api.inspect_container(old)
    assert json.loads((tmp_path / "state" / "adopted.json").read_text()).keys() == {f"volume/{data}"}
    again = reconciler("plan", str(files), "--detailed-exitcode", "--brief", namespace=namespace, state=state)
    assert again.returncode == 0, again.stdout + again.stderr


def test_an_adopted_volume_and_network_are_kept_when_no_longer_declared(
    docker_client, namespace, made_by_hand, tmp_path
):
    data, net = f"{namespace}-data", f"{namespace}-net"
    made_by_hand("volume", data)
    made_by_hand("network", net)
    docker_client.volumes.create(data)
    network_id = docker_client.networks.create(net).id
    files = tmp_path / "desired"
    files.mkdir()
    (files / "shared.toml").write_text(f"[volume.{data}]\nadopt = true\n\n[network.{net}]\nadopt = true\n")
    state = str(tmp_path / "state")

    adopted = reconciler("apply", str(files), "--allow-empty", namespace=namespace, state=state)
    assert adopted.returncode == 0, adopted.stdout + adopted.stderr
    (files / "shared.toml").write_text("")
    kept = reconciler("apply", str(files), "--allow-empty", "--prune-volumes", namespace=namespace, state=state)

    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert docker_client.volumes.get(data).name == data
    assert docker_client.networks.get(net).id == network_id
    plan = reconciler("plan", str(files), "--allow-empty", "--brief", namespace=namespace, state=state)
    assert plan.stdout.splitlines() == [f"= retain volume {data} (no longer declared; adopted, kept)",
                                        "No changes: the engine matches the desired state."]


def test_without_adopt_a_container_made_by_hand_stays_a_conflict_and_nothing_changes(
    docker_client, namespace, made_by_hand, tmp_path
):
    app, data = f"{namespace}-app", f"{namespace}-data"
    made_by_hand("volume", data)
    made_by_hand("container", app)
    old = run_by_hand(docker_client, app, data)
    files = tmp_path / "desired"
    files.mkdir()
    (files / "app.toml").write_text(f'[container.{app}]\nimage = "{DEMO_IMAGE}"\ncommand = ["sleep", "3600"]\n')
    state = str(tmp_path / "state")

    applied = reconciler("apply", str(files), namespace=namespace, state=state)

    assert applied.returncode == 1
    assert f"! conflict container {app} (name held by a resource this namespace does not own)" in applied.stdout
    after = docker_client.api.inspect_container(app)
    assert (after["Id"], after["State"]["Running"]) == (old, True)


def test_the_anonymous_volume_an_adopted_container_had_moves_to_every_later_replacement(
    docker_client, namespace, made_by_hand, anonymous_volumes, tmp_path
):
    app, data = f"{namespace}-app", f"{namespace}-data"
    made_by_hand("volume", data)
    run_by_hand(docker_client, app, data)
    cache = anonymous_at(docker_client, app, "/cache")
    anonymous_volumes(cache)
    files = tmp_path / "desired"
    files.mkdir()
    toml = (f'[volume.{data}]\nadopt = true\n\n[container.{app}]\nimage = "{DEMO_IMAGE}"\n'
            f'command = ["sleep", "COMMAND"]\ninit = true\nstop_timeout = 1\nmounts = ["{data}:/srv"]\nadopt = true\n')
    (files / "app.toml").write_text(toml.replace("COMMAND", "3600"))
    state_dir = str(tmp_path / "state")
    adopted = reconciler("apply", str(files), namespace=namespace, state=state_dir)
    assert adopted.returncode == 0, adopted.stdout + adopted.stderr
    (files / "app.toml").write_text(toml.replace("COMMAND", "3601"))

    plan = reconciler("plan", str(files), "--brief", namespace=namespace, state=state_dir)
    applied = reconciler("apply", str(files), namespace=namespace, state=state_dir)

    assert (f"~ recreate container {app} (spec changed: command; keeps the data of its anonymous volume: "
            f"/cache in {cache[:12]})") in plan.stdout.splitlines()
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert docker_client.api.inspect_container(app)["Config"]["Cmd"] == ["sleep", "3601"]
    assert exec_in(docker_client, app, "cat /srv/f /cache/f").split() == ["named", "anonymous"]
    assert anonymous_at(docker_client, app, "/cache") == cache
    again = reconciler("plan", str(files), "--detailed-exitcode", "--brief", namespace=namespace, state=state_dir)
    assert again.returncode == 0, again.stdout + again.stderr


def test_an_owned_container_keeps_the_anonymous_volume_an_earlier_owned_container_made_through_replacements(
    engine, docker_client, namespace, names, anonymous_volumes
):
    cache = sleeper(names("cache"))
    earlier = docker_client.api.create_container(DEMO_IMAGE, ["sleep", "3600"], name=cache.name, volumes=["/cache"],
                                                 labels=owned_labels(cache, namespace),
                                                 host_config=docker_client.api.create_host_config(init=True))
    docker_client.api.start(earlier["Id"])
    exec_in(docker_client, cache.name, "echo kept > /cache/f")
    volume = anonymous_at(docker_client, cache.name, "/cache")
    anonymous_volumes(volume)

    first, second = (dataclasses.replace(cache, env={"V": v}) for v in ("1", "2"))
    assert converge(engine, state(first), namespace).converged
    assert converge(engine, state(second), namespace).converged

    assert docker_client.api.inspect_container(cache.name)["Id"] != earlier["Id"]
    assert exec_in(docker_client, cache.name, "cat /cache/f") == "kept"
    assert anonymous_at(docker_client, cache.name, "/cache") == volume
    assert pending(engine, namespace, state(second)) == NO_CHANGES
