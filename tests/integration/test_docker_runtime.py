"""The Docker adapter on the real engine: observe's cost, and every spec field reaching the engine."""

from __future__ import annotations

import random
import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from reconciler.model import (
    LABEL_MANAGED,
    ContainerSpec,
    Device,
    Healthcheck,
    Logging,
    Mount,
    NetworkAttachment,
    NetworkSpec,
    PortMapping,
    Resources,
    Ulimit,
    VolumeSpec,
)
from runtime.base import InvalidSpec
from runtime.docker import DockerRuntime
from tests.conftest import DEMO_IMAGE

pytestmark = pytest.mark.integration


def _count_requests(runtime: DockerRuntime) -> list[str]:
    """Every HTTP request the runtime's client sends from now on, as 'METHOD path'."""
    sent: list[str] = []
    api = runtime.api
    send = api.send

    def counting(request, **kwargs):
        sent.append(f"{request.method} {request.path_url.split('?')[0]}")
        return send(request, **kwargs)

    api.send = counting
    return sent


def test_observe_costs_the_same_few_calls_for_1_and_for_200_containers(namespace):
    runtime = DockerRuntime()
    labels = {LABEL_MANAGED: namespace}
    spec = ContainerSpec(name="c", image=DEMO_IMAGE, command=("sleep", "300"))
    names = {"container": [f"{namespace}-c{i}" for i in range(200)], "network": ["bridge"],
             "volume": [f"{namespace}-v"]}

    def observe_counted() -> tuple[int, int]:
        sent = _count_requests(runtime)
        state = runtime.observe(namespace, names, [DEMO_IMAGE])
        return len(sent), len(state.containers)

    runtime.create_container(spec, f"{namespace}-c0", labels)
    calls_for_first, _ = observe_counted()
    calls_for_one, seen = observe_counted()
    assert seen == 1
    assert calls_for_first == calls_for_one + 1  # the image is inspected once, then known by its id

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: runtime.create_container(spec, f"{namespace}-c{i}", labels), range(1, 200)))
    calls_for_200, seen = observe_counted()
    assert seen == 200
    assert calls_for_200 == calls_for_one <= 7


def _subnet() -> tuple[str, str]:
    prefix = f"10.{random.randint(100, 199)}.{random.randint(0, 255)}"
    return f"{prefix}.0/24", prefix


def test_a_spec_with_every_field_reaches_the_engine(docker_client, namespace):
    runtime = DockerRuntime()
    labels = {LABEL_MANAGED: namespace}
    subnet, prefix = _subnet()
    front, back = f"{namespace}-front", f"{namespace}-back"
    runtime.create_network(NetworkSpec(name=front, subnet=subnet, gateway=f"{prefix}.1"), labels)
    runtime.create_network(NetworkSpec(name=back), labels)
    volume = runtime.create_volume(VolumeSpec(name=f"{namespace}-data"), labels)
    runtime.create_container(
        ContainerSpec(name="donor", image=DEMO_IMAGE, mounts=(Mount("volume", "/shared"),)),
        f"{namespace}-donor", labels)
    spec = ContainerSpec(
        name="full", image=DEMO_IMAGE,
        command=("-c", "sleep 300"), entrypoint=("sh",), working_dir="/tmp", user="1000:1000",
        hostname="fullhost", env={"GREETING": "hello"}, labels={"tier": "front"},
        ports=(PortMapping(8080, "tcp", "127.0.0.1", None), PortMapping(53, "udp")),
        mounts=(Mount("volume", "/data", volume), Mount("bind", "/certs", "/etc", read_only=True),
                Mount("tmpfs", "/scratch", tmpfs_size=16 * 2**20)),
        networks=(NetworkAttachment(front, ("www", "web"), f"{prefix}.10"), NetworkAttachment(back, ("api",))),
        restart="on-failure:3",
        healthcheck=Healthcheck(("CMD", "true"), interval=5, timeout=2, retries=4, start_period=1.5),
        resources=Resources(memory=64 * 2**20, memory_reservation=32 * 2**20, cpus=0.5, pids_limit=100,
                            shm_size=8 * 2**20),
        extra_hosts=("db.local:10.0.0.5",), dns=("10.0.0.53",),
        cap_add=("NET_ADMIN",), cap_drop=("MKNOD",), privileged=False, read_only=True,
        security_opt=("no-new-privileges:true",), devices=(Device("/dev/null", "/dev/mynull", "rwm"),),
        sysctls={"net.ipv4.tcp_syncookies": "1"}, ulimits=(Ulimit("nofile", 1024, 2048),),
        init=True, tty=True, stop_signal="SIGINT", stop_timeout=7,
        logging=Logging("json-file", {"max-size": "1m"}), volumes_from=(f"{namespace}-donor",),
    )
    id = runtime.create_container(spec, f"{namespace}-full", labels)
    runtime.start_container(id)
    runtime.wait_container(id, "running", timeout=10)
    info = docker_client.api.inspect_container(id)
    config, host = info["Config"], info["HostConfig"]

    assert (config["Cmd"], config["Entrypoint"]) == (["-c", "sleep 300"], ["sh"])
    assert (config["WorkingDir"], config["User"], config["Hostname"]) == ("/tmp", "1000:1000", "fullhost")
    assert "GREETING=hello" in config["Env"]
    assert config["Labels"] == {"tier": "front", LABEL_MANAGED: namespace}
    assert set(config["ExposedPorts"]) == {"8080/tcp", "53/udp"}
    assert host["PortBindings"]["8080/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": ""}]
    mounts = {m["Target"]: m for m in host["Mounts"]}
    assert (mounts["/data"]["Type"], mounts["/data"]["Source"]) == ("volume", volume)
    assert (mounts["/certs"]["Type"], mounts["/certs"]["ReadOnly"]) == ("bind", True)
    assert mounts["/scratch"]["TmpfsOptions"]["SizeBytes"] == 16 * 2**20
    endpoints = info["NetworkSettings"]["Networks"]
    assert set(endpoints) == {front, back}
    assert {"www", "web"} <= set(endpoints[front]["Aliases"]) and "api" in endpoints[back]["Aliases"]
    assert endpoints[front]["IPAddress"] == f"{prefix}.10"
    assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert config["Healthcheck"] == {"Test": ["CMD", "true"], "Interval": 5 * 10**9, "Timeout": 2 * 10**9,
                                     "Retries": 4, "StartPeriod": 1_500_000_000}
    assert (host["Memory"], host["MemoryReservation"], host["NanoCpus"]) == (64 * 2**20, 32 * 2**20, 5 * 10**8)
    assert (host["PidsLimit"], host["ShmSize"]) == (100, 8 * 2**20)
    assert (host["ExtraHosts"], host["Dns"]) == (["db.local:10.0.0.5"], ["10.0.0.53"])
    assert (host["CapAdd"], host["CapDrop"], host["Privileged"]) == (["NET_ADMIN"], ["MKNOD"], False)
    assert (host["ReadonlyRootfs"], host["SecurityOpt"]) == (True, ["no-new-privileges:true"])
    assert host["Devices"] == [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/mynull",
                                "CgroupPermissions": "rwm"}]
    assert host["Sysctls"] == {"net.ipv4.tcp_syncookies": "1"}
    assert host["Ulimits"] == [{"Name": "nofile", "Soft": 1024, "Hard": 2048}]
    assert (host["Init"], config["Tty"], config["StopSignal"], config["StopTimeout"]) == (True, True, "SIGINT", 7)
    assert host["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "1m"}}
    assert host["VolumesFrom"] == [f"{namespace}-donor"]


def test_network_mode_of_another_container_and_privileged_reach_the_engine(docker_client, namespace):
    runtime = DockerRuntime()
    labels = {LABEL_MANAGED: namespace}
    base = ContainerSpec(name="main", image=DEMO_IMAGE, command=("sleep", "300"), init=True)
    main = runtime.create_container(base, f"{namespace}-main", labels)
    runtime.start_container(main)
    sidecar = ContainerSpec(name="side", image=DEMO_IMAGE, command=("sleep", "300"), init=True,
                            network_mode=f"container:{namespace}-main", restart="always")
    side = runtime.create_container(sidecar, f"{namespace}-side", labels)
    runtime.start_container(side)
    # created only: a sandboxed engine may not be allowed to start a privileged container
    privileged = runtime.create_container(ContainerSpec(name="p", image=DEMO_IMAGE, privileged=True),
                                          f"{namespace}-privileged", labels)

    host = docker_client.api.inspect_container(side)["HostConfig"]
    assert host["NetworkMode"] == f"container:{main}"  # the engine resolves the name to the id
    assert host["RestartPolicy"]["Name"] == "always"
    assert docker_client.api.inspect_container(privileged)["HostConfig"]["Privileged"] is True


def test_network_driver_ipam_and_options_reach_the_engine(docker_client, namespace):
    """macvlan and ipvlan take the same path (their kernel modules are missing on the CI hosts);
    tests/unit/test_runtime_docker_parts.py pins their request body."""
    driver = "bridge"
    runtime = DockerRuntime()
    subnet, prefix = _subnet()
    options = {"com.docker.network.bridge.enable_icc": "false"} if driver == "bridge" else {}
    spec = NetworkSpec(name=f"{namespace}-{driver}", driver=driver, subnet=subnet, gateway=f"{prefix}.1",
                       ip_range=f"{prefix}.128/25", internal=True, attachable=True, options=options,
                       labels={"tier": "x"})
    id = runtime.create_network(spec, {LABEL_MANAGED: namespace})
    info = docker_client.api.inspect_network(id)
    assert info["Driver"] == driver
    assert info["IPAM"]["Config"] == [{"Subnet": subnet, "Gateway": f"{prefix}.1", "IPRange": f"{prefix}.128/25"}]
    assert (info["Internal"], info["Attachable"]) == (True, True)
    assert info["Labels"] == {"tier": "x", LABEL_MANAGED: namespace}
    assert info["Options"] == options


def test_a_volume_with_driver_options_reaches_the_engine(docker_client, namespace):
    runtime = DockerRuntime()
    options = {"type": "tmpfs", "device": "tmpfs", "o": "size=1m"}
    spec = VolumeSpec(name=f"{namespace}-opts", options=options, labels={"tier": "x"})
    info = docker_client.api.inspect_volume(runtime.create_volume(spec, {LABEL_MANAGED: namespace}))
    assert (info["Driver"], info["Options"]) == ("local", options)
    assert info["Labels"] == {"tier": "x", LABEL_MANAGED: namespace}


def test_observe_inspects_only_the_containers_that_may_be_in_a_crash_loop(namespace):
    runtime = DockerRuntime()
    labels = {LABEL_MANAGED: namespace}
    runtime.create_container(ContainerSpec(name="idle", image=DEMO_IMAGE), f"{namespace}-idle", labels)
    looping = ContainerSpec(name="loop", image=DEMO_IMAGE, command=("sh", "-c", "exit 1"), restart="always")
    loop = runtime.create_container(looping, f"{namespace}-loop", labels)
    runtime.start_container(loop)
    deadline = time.monotonic() + 15
    while {c.name: c.restart_count for c in runtime.observe(namespace).containers}[f"{namespace}-loop"] < 1:
        assert time.monotonic() < deadline
        time.sleep(0.1)

    sent = _count_requests(runtime)
    runtime.observe(namespace)
    assert [r for r in sent if re.search(r"/containers/[0-9a-f]{64}/json$", r)] == [
        f"GET /v{runtime.api.api_version}/containers/{loop}/json"]


def test_a_short_form_bind_creates_its_missing_host_folder_a_long_form_one_is_refused_devices_keep_their_parts(
        docker_client, namespace, tmp_path):
    runtime = DockerRuntime()
    labels = {LABEL_MANAGED: namespace}
    missing = tmp_path / "not-yet" / "data"
    short = Mount("bind", "/data", str(missing), read_only=True, create_host_path=True)
    spec = ContainerSpec(name="short", image=DEMO_IMAGE, command=("sleep", "300"), mounts=(short,),
                         devices=(Device("/dev/null", "/dev/null", "r"), Device("/dev/zero", "/dev/z", "rw")))
    id = runtime.create_container(spec, f"{namespace}-short", labels)
    runtime.start_container(id)
    runtime.wait_container(id, "running", timeout=10)
    host = docker_client.api.inspect_container(id)["HostConfig"]
    assert (host["Binds"], host.get("Mounts")) == ([f"{missing}:/data:ro"], None)
    assert missing.is_dir()
    assert host["Devices"] == [
        {"PathOnHost": "/dev/null", "PathInContainer": "/dev/null", "CgroupPermissions": "r"},
        {"PathOnHost": "/dev/zero", "PathInContainer": "/dev/z", "CgroupPermissions": "rw"},
    ]

    long = Mount("bind", "/data", str(tmp_path / "never" / "there"))
    with pytest.raises(InvalidSpec, match="bind source path does not exist"):
        runtime.create_container(ContainerSpec(name="long", image=DEMO_IMAGE, mounts=(long,)),
                                 f"{namespace}-long", labels)
