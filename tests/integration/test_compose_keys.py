"""Compose's one-to-one container keys and mount options on the real engine: each one applied,
read back with inspect (and inside the container where inspect does not show it), and a second
pass changes nothing; on Podman 4.3 the keys it drops in silence are refused in the plan instead."""

from __future__ import annotations

import subprocess
import sys

import pytest

from runtime.capabilities import is_podman

pytestmark = pytest.mark.integration

IMAGE = "localhost/demo:1"


def reconciler(*args: str, namespace: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reconciler", *args, "--namespace", namespace],
                          capture_output=True, text=True, timeout=180)


@pytest.fixture
def podman(docker_client) -> bool:
    return is_podman(docker_client.version())


def _container(name: str, body: str, init: bool = True) -> str:
    return (f'[container.{name}]\nimage = "{IMAGE}"\ncommand = ["sleep", "3600"]\nstop_timeout = 1\n'
            + ("init = true\n" if init else "") + body + "\n")


def _docker_only(namespace: str) -> str:
    """The keys only Docker honours here (Podman 4.3 drops them: see test_podman_refuses_...)."""
    return ('domainname = "example.org"\nmac_address = "02:42:AC:11:00:99"\ncgroup = "private"\n'
            'device_cgroup_rules = ["c 1:3 mr", "b 7:* rwm"]\nplatform = "linux/amd64"\n')


def _files(tmp_path, namespace: str, podman: bool) -> None:
    base, app, host = (f"{namespace}-{n}" for n in ("base", "app", "host"))
    nocopy = "" if podman else ", volume = { nocopy = true, labels = { team = \"x\" } }"
    (tmp_path / "keys.toml").write_text(
        f"[volume.{namespace}-data]\n\n"
        + _container(base, 'ipc = "shareable"')
        # no init: an init process cannot be PID 1 in a shared PID namespace (Podman refuses it)
        + _container(app, f"""dns_search = ["example.com", "corp.example"]
dns_opt = ["ndots:2", "use-vc"]
expose = [3000, "8000-8001/udp"]
group_add = ["nogroup", 1234]
ipc = "service:{base}"
pid = "container:{base}"
cgroup_parent = "reconciler-keys-test"
stdin_open = true
runtime = "runc"
tmpfs = ["/run/a", "/run/b:size=64m,mode=1777"]
{'' if podman else _docker_only(namespace)}mounts = [
  {{ type = "volume", source = "{namespace}-data", target = "/data"{nocopy} }},
  {{ type = "tmpfs", target = "/scratch", tmpfs = {{ size = "16m", mode = "700" }} }},
  {{ type = "bind", source = "/tmp", target = "/hosttmp", bind = {{ propagation = "rprivate" }} }},
]""", init=False)
        + _container(host, 'uts = "host"\ncgroup = "host"\nuserns_mode = "host"'))


def _exec(docker_client, name: str, command: str) -> str:
    return docker_client.containers.get(name).exec_run(["sh", "-c", command]).output.decode()


def test_every_key_round_trips_through_create_and_inspect_and_a_second_pass_changes_nothing(
    tmp_path, namespace, docker_client, podman
):
    _files(tmp_path, namespace, podman)
    applied = reconciler("apply", str(tmp_path), namespace=namespace)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    base = docker_client.api.inspect_container(f"{namespace}-base")
    app = docker_client.api.inspect_container(f"{namespace}-app")
    host, config = app["HostConfig"], app["Config"]
    assert (host["DnsSearch"], host["DnsOptions"], host["GroupAdd"]) == (
        ["example.com", "corp.example"], ["ndots:2", "use-vc"], ["nogroup", "1234"])
    assert host["IpcMode"] == host["PidMode"] == f"container:{base['Id']}"
    assert host["CgroupParent"] == "reconciler-keys-test"
    assert {"/run/a", "/run/b"} <= set(host["Tmpfs"]) and host["Tmpfs"]["/run/b"].startswith("size=64m,mode=1777")
    assert (config["OpenStdin"], set(config["ExposedPorts"])) == (True, {"3000/tcp", "8000/udp", "8001/udp"})
    assert {m["Destination"]: m["Propagation"] for m in app["Mounts"] if m["Type"] == "bind"} == {
        "/hosttmp": "rprivate"}
    inside = _exec(docker_client, f"{namespace}-app", "cat /etc/resolv.conf; id -G; stat -c %a /scratch /run/b")
    assert "search example.com corp.example" in inside and "options ndots:2 use-vc" in inside
    assert "1234 65534" in inside and "700\n1777" in inside
    outside = docker_client.api.inspect_container(f"{namespace}-host")["HostConfig"]
    assert outside["UTSMode"] == "host"
    assert _exec(docker_client, f"{namespace}-host", "hostname").strip() == subprocess.run(
        ["hostname"], capture_output=True, text=True).stdout.strip()
    if not podman:
        assert (config["Domainname"], config["MacAddress"]) == ("example.org", "02:42:ac:11:00:99")
        assert (host["CgroupnsMode"], host["DeviceCgroupRules"], host["Runtime"]) == (
            "private", ["c 1:3 mr", "b 7:* rwm"], "runc")
        assert (outside["CgroupnsMode"], outside["UsernsMode"]) == ("host", "host")
        (volume,) = [m for m in host["Mounts"] if m["Type"] == "volume"]
        assert volume["VolumeOptions"] == {"NoCopy": True, "Labels": {"team": "x"}}
    again = reconciler("plan", str(tmp_path), "--detailed-exitcode", namespace=namespace)
    assert (again.returncode, again.stdout) == (0, "No changes: the engine matches the desired state.\n")


def test_replacing_the_container_whose_namespaces_one_shares_replaces_that_one_too(tmp_path, namespace):
    base, app = f"{namespace}-base", f"{namespace}-app"
    (tmp_path / "a.toml").write_text(_container(base, 'ipc = "shareable"')
                                     + _container(app, f'ipc = "container:{base}"', init=False))
    assert reconciler("apply", str(tmp_path), namespace=namespace).returncode == 0
    (tmp_path / "a.toml").write_text(_container(base, 'ipc = "shareable"\nenv = { A = "b" }')
                                     + _container(app, f'ipc = "container:{base}"', init=False))
    plan = reconciler("plan", str(tmp_path), "--brief", namespace=namespace)
    assert f"~ recreate container {app} (tied to a replaced container: {base})" in plan.stdout.splitlines()
    assert reconciler("apply", str(tmp_path), namespace=namespace).returncode == 0
    assert reconciler("plan", str(tmp_path), "--detailed-exitcode", namespace=namespace).returncode == 0


def test_a_storage_size_on_overlay_over_extfs_is_blocked_in_the_plan_naming_the_driver(tmp_path, namespace):
    (tmp_path / "a.toml").write_text(_container(f"{namespace}-app", 'storage_opt = { size = "1G" }'))
    plan = reconciler("plan", str(tmp_path), namespace=namespace)
    assert "cannot limit a container's storage size (storage_opt.size): its storage driver overlay" in plan.stdout
    assert "on extfs does not support it" in plan.stdout


@pytest.mark.parametrize("key, body", [
    ("domainname", 'domainname = "example.org"'),
    ("mac_address", 'mac_address = "02:42:ac:11:00:99"'),
    ("cgroup", 'cgroup = "private"'),
    ("device_cgroup_rules", 'device_cgroup_rules = ["c 1:3 mr"]'),
    ("gpus", 'gpus = "all"'),
    ("platform", 'platform = "linux/arm64"'),
])
def test_podman_refuses_a_key_it_would_drop_in_silence_and_creates_nothing(
    tmp_path, namespace, docker_client, podman, key, body
):
    if not podman:
        pytest.skip("Docker honours the key: see the round trip")
    name = f"{namespace}-app"
    (tmp_path / "a.toml").write_text(_container(name, body))
    applied = reconciler("apply", str(tmp_path), namespace=namespace)
    assert f"drops {key} in silence (its Docker-compatible API ignores it)" in applied.stdout
    assert applied.returncode != 0
    assert docker_client.containers.list(all=True, filters={"name": name}) == []


def test_a_runtime_podman_would_ignore_is_refused_naming_the_one_it_runs(tmp_path, namespace, podman):
    (tmp_path / "a.toml").write_text(_container(f"{namespace}-app", 'runtime = "kata"'))
    plan = reconciler("plan", str(tmp_path), namespace=namespace)
    if podman:
        assert 'ignores runtime = "kata" and runs its default runtime runc' in plan.stdout
    else:
        assert 'has no runtime "kata": it lists' in plan.stdout


def test_gpus_reach_the_engine_as_a_device_request(tmp_path, namespace, docker_client, podman):
    """No GPU here: the container is created stopped and its DeviceRequests read back (starting
    it would fail: the engine finds no driver for the request)."""
    if podman:
        pytest.skip("Podman 4.3 drops gpus: refused, see the test above")
    name = f"{namespace}-gpu"
    body = 'state = "stopped"\ngpus = [{ count = 2, capabilities = ["gpu"] }]'
    (tmp_path / "a.toml").write_text(_container(name, body))
    applied = reconciler("apply", str(tmp_path), namespace=namespace)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert docker_client.api.inspect_container(name)["HostConfig"]["DeviceRequests"] == [
        {"Driver": "", "Count": 2, "DeviceIDs": [], "Capabilities": [["gpu"]], "Options": {}}]
