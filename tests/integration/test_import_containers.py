"""`reconciler import containers` end to end on the engine at $DOCKER_HOST (Docker 20.10 or Podman
4.3.1): containers started as `docker run` starts them, imported, validated, planned as adoption
only, applied, and then nothing left to do; no env value in any output."""

from __future__ import annotations

import subprocess
import sys

import docker.errors
import pytest

from runtime.capabilities import is_podman
from tests.conftest import DEMO_IMAGE

CANARY = "canary-import-s3cret"


def reconciler(*args: str, namespace: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reconciler", *args, "--namespace", namespace],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def running(docker_client, names, tmp_path):
    """A user network, a named volume and two containers with the options real hosts use."""
    network = docker_client.networks.create(names("front"), labels={"team": "web"})
    volume = docker_client.volumes.create(names("data"), labels={"keep": "yes"})
    (tmp_path / "conf").mkdir()
    web = docker_client.containers.create(
        DEMO_IMAGE, ["sh", "-c", "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www"],
        name=names("web"), init=True, environment={"DB_PASSWORD": CANARY, "MODE": "dev"},
        labels={"team": "web"}, ports={"8080/tcp": ("127.0.0.1", None)}, restart_policy={"Name": "unless-stopped"},
        volumes={volume.name: {"bind": "/data", "mode": "rw"}, str(tmp_path / "conf"): {"bind": "/conf", "mode": "ro"}},
        healthcheck={"test": ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"],
                     "interval": 1_000_000_000, "retries": 5},
        mem_limit="64m", pids_limit=100, cap_add=["NET_ADMIN"],
        log_config={"type": "json-file", "config": {"max-size": "10m"}}, network=network.name)
    network.disconnect(web)
    network.connect(web, aliases=["www"])
    plain = docker_client.containers.create(DEMO_IMAGE, ["sleep", "300"], name=names("plain"), init=True)
    for container in (web, plain):
        container.start()
    yield [web, plain]
    for container in docker_client.containers.list(all=True, filters={"name": names("")}):
        container.remove(force=True, v=True)
    network.remove()
    volume.remove(force=True)


def test_imported_containers_validate_and_plan_as_adoption_only(running, names, namespace, tmp_path):
    out, env = tmp_path / "ds", tmp_path / "ds.env"
    imported = reconciler("import", "containers", names("web"), names("plain"), "--out", str(out),
                          namespace=namespace)
    assert imported.returncode == 0, imported.stderr
    texts = [path.read_text() for path in out.glob("*.toml")]
    assert CANARY not in imported.stdout + imported.stderr + "".join(texts)
    assert CANARY in env.read_text() and env.stat().st_mode & 0o777 == 0o600

    validated = reconciler("validate", str(out), "--env-file", str(env), namespace=namespace)
    assert validated.returncode == 0, validated.stdout + validated.stderr

    plan = reconciler("plan", str(out), "--env-file", str(env), "--brief", "--state-dir", str(tmp_path / "state"),
                      namespace=namespace)
    lines = [line for line in plan.stdout.splitlines() if line.strip()]
    assert plan.returncode == 0, plan.stderr
    assert all(line.startswith("& adopt") for line in lines[:-1]), plan.stdout
    assert lines[-1] == "Plan: 4 to adopt."
    assert CANARY not in plan.stdout + plan.stderr


def test_after_apply_nothing_is_left_to_do_and_the_config_is_kept(running, docker_client, names, namespace,
                                                                   tmp_path):
    out, env, state = tmp_path / "ds", tmp_path / "ds.env", str(tmp_path / "state")
    before = docker_client.api.inspect_container(names("web"))
    reconciler("import", "containers", names("web"), names("plain"), "--out", str(out), namespace=namespace)

    applied = reconciler("apply", str(out), "--env-file", str(env), "--state-dir", state, namespace=namespace)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    plan = reconciler("plan", str(out), "--env-file", str(env), "--brief", "--state-dir", state, namespace=namespace)

    after = docker_client.api.inspect_container(names("web"))
    assert plan.stdout.splitlines()[-1] == "No changes: the engine matches the desired state.", plan.stdout
    assert CANARY not in applied.stdout + applied.stderr + plan.stdout
    kept = ("Cmd", "Image", "ExposedPorts")
    assert {key: after["Config"][key] for key in kept} == {key: before["Config"][key] for key in kept}
    def env(config):  # Podman reorders it and adds HOSTNAME, the new container's short id
        return sorted(entry for entry in config["Env"] if not entry.startswith("HOSTNAME="))

    assert env(after["Config"]) == env(before["Config"])
    # the spec sends every healthcheck field: a timeout left to the engine's default is now its 30s
    assert after["Config"]["Healthcheck"] == {"Timeout": 30_000_000_000, **before["Config"]["Healthcheck"]}
    for key in ("PortBindings", "RestartPolicy", "Memory", "PidsLimit", "CapAdd", "LogConfig", "Init"):
        assert after["HostConfig"][key] == before["HostConfig"][key], key


@pytest.fixture
def anonymous(docker_client, names):
    """A container as `docker run -v /anon` makes it, a file in its anonymous volume; yields its
    name and the volume's."""
    container = docker_client.containers.create(DEMO_IMAGE, ["sleep", "300"], name=names("anon"), init=True,
                                                volumes=["/anon"])
    container.start()
    assert container.exec_run(["sh", "-c", "echo kept > /anon/f"]).exit_code == 0
    mounts = docker_client.api.inspect_container(container.id)["Mounts"]
    volume = next(m["Name"] for m in mounts if m["Destination"] == "/anon")
    yield container.name, volume
    for left in docker_client.containers.list(all=True, filters={"name": names("anon")}):
        left.remove(force=True, v=True)
    try:
        docker_client.api.remove_volume(volume, force=True)
    except docker.errors.NotFound:
        pass


def test_an_anonymous_volume_is_skipped_and_its_data_kept_by_the_adoption_then_nothing_left_to_do(
    anonymous, docker_client, namespace, tmp_path
):
    name, volume = anonymous
    out, state = tmp_path / "ds", str(tmp_path / "state")

    imported = reconciler("import", "containers", name, "--out", str(out), namespace=namespace)

    assert imported.returncode == 0, imported.stderr
    assert f"container.{name}.mounts./anon: the anonymous volume {volume[:12]} has no form here" in imported.stderr
    assert [path.name for path in out.glob("*.toml")] == [f"{name}.toml"]
    assert volume not in (out / f"{name}.toml").read_text()
    applied = reconciler("apply", str(out), "--state-dir", state, namespace=namespace)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert f"keeps the data of its anonymous volume: /anon in {volume[:12]}" in applied.stdout
    assert docker_client.containers.get(name).exec_run(["cat", "/anon/f"]).output == b"kept\n"
    plan = reconciler("plan", str(out), "--brief", "--state-dir", state, namespace=namespace)
    assert plan.stdout.splitlines()[-1] == "No changes: the engine matches the desired state.", plan.stdout


@pytest.fixture
def limited(docker_client, names):
    """A container as `docker run --ulimit nofile=1024:2048 --ulimit nproc=4096` makes it (Podman's inspect
    names them RLIMIT_NOFILE, RLIMIT_NPROC)."""
    container = docker_client.containers.create(
        DEMO_IMAGE, ["sleep", "300"], name=names("ulim"), init=True,
        ulimits=[docker.types.Ulimit(name="nofile", soft=1024, hard=2048),
                 docker.types.Ulimit(name="nproc", soft=4096, hard=4096)])
    container.start()
    yield container.name
    for left in docker_client.containers.list(all=True, filters={"name": names("ulim")}):
        left.remove(force=True)


def test_ulimits_are_written_under_their_compose_names_and_validate(limited, namespace, tmp_path):
    out = tmp_path / "ds"

    imported = reconciler("import", "containers", limited, "--out", str(out), namespace=namespace)

    assert imported.returncode == 0, imported.stderr
    assert "ulimits = {nofile = {soft = 1024, hard = 2048}, nproc = 4096}" in (out / f"{limited}.toml").read_text()
    validated = reconciler("validate", str(out), namespace=namespace)
    assert validated.returncode == 0, validated.stdout + validated.stderr


@pytest.fixture
def sidecar(docker_client, names):
    """`docker run --name base` and `docker run --network container:base --name side`; yields both names."""
    base = docker_client.containers.create(DEMO_IMAGE, ["sleep", "300"], name=names("base"), init=True)
    base.start()
    side = docker_client.containers.create(DEMO_IMAGE, ["sleep", "300"], name=names("side"), init=True,
                                           network_mode=f"container:{base.id}")
    side.start()
    yield base.name, side.name
    for name in (side.name, base.name):
        for container in docker_client.containers.list(all=True, filters={"name": name}):
            container.remove(force=True)


def test_a_container_in_anothers_network_namespace_is_adopted_and_runs(sidecar, docker_client, namespace, tmp_path):
    if is_podman(docker_client.version()):
        pytest.skip("Podman 4.3 refuses to remove the adopted base while the side container depends on it")
    base, side = sidecar
    out, state = tmp_path / "ds", str(tmp_path / "state")

    imported = reconciler("import", "containers", base, side, "--out", str(out), namespace=namespace)

    assert imported.returncode == 0, imported.stderr
    assert "hostname" not in (out / f"{side}.toml").read_text()
    applied = reconciler("apply", str(out), "--state-dir", state, namespace=namespace)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert docker_client.containers.get(side).status == "running"
    plan = reconciler("plan", str(out), "--brief", "--state-dir", state, namespace=namespace)
    assert plan.stdout.splitlines()[-1] == "No changes: the engine matches the desired state.", plan.stdout
