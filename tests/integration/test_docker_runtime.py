"""The Docker adapter on the real engine: observe's cost, and every spec field reaching the engine."""

from __future__ import annotations

import random
import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from reconciler.fields import Device, Healthcheck, Logging, Mount, NetworkAttachment, PortMapping, Resources, Ulimit
from reconciler.model import LABEL_MANAGED, ContainerSpec, NetworkSpec, VolumeSpec
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
    # Podman's compat list lacks health and networks: its libpod list is one more call
    assert calls_for_one <= (8 if runtime.capabilities.kind == "podman" else 7)
    assert calls_for_200 == calls_for_one - 1  # every desired name is held now: no name query


def _mounts(info: dict) -> dict[str, tuple[str, str | None, bool]]:
    """Container path -> (type, source, read only), as the engine shows them: Docker keeps the
    create's HostConfig.Mounts; Podman shows them in `Mounts`, tmpfs in HostConfig.Tmpfs."""
    made = info["HostConfig"].get("Mounts")
    if made is not None:
        return {m["Target"]: (m["Type"], m.get("Source"), m.get("ReadOnly", False)) for m in made}
    found = {m["Destination"]: (m["Type"], m["Name"] if m["Type"] == "volume" else m["Source"], not m["RW"])
             for m in info["Mounts"]}
    found.update({target: ("tmpfs", None, False) for target in info["HostConfig"].get("Tmpfs") or {}})  # and more
    return found


def _tmpfs_sizes(info: dict) -> dict[str, int]:
    made = info["HostConfig"].get("Mounts")
    if made is not None:
        return {m["Target"]: m["TmpfsOptions"]["SizeBytes"] for m in made if m["Type"] == "tmpfs"}
    options = {target: dict(o.partition("=")[::2] for o in value.split(","))
               for target, value in (info["HostConfig"].get("Tmpfs") or {}).items()}
    return {target: int(o["size"]) for target, o in options.items() if "size" in o}  # Podman adds /run, /tmp...


def _devices(info: dict) -> list[tuple[str, str, str]]:
    """(host path, container path, permissions); Podman shows "" for the permissions it applies."""
    return [(d["PathOnHost"], d["PathInContainer"], d["CgroupPermissions"]) for d in info["HostConfig"]["Devices"]]


def test_observe_asks_the_engine_only_about_desired_names_no_owned_container_holds(namespace):
    runtime = DockerRuntime()
    labels = {LABEL_MANAGED: namespace}
    spec = ContainerSpec(name="c", image=DEMO_IMAGE, command=("sleep", "300"))
    held = [f"{namespace}-c{i}" for i in range(3)]
    for name in held:
        runtime.create_container(spec, name, labels)

    sent = _count_requests(runtime)
    runtime.observe(namespace, {"container": held})
    assert sent.count(f"GET /v{runtime.api.api_version}/containers/json") == 1  # the owned list only

    sent = _count_requests(runtime)
    state = runtime.observe(namespace, {"container": [*held, f"{namespace}-new"]})
    assert sent.count(f"GET /v{runtime.api.api_version}/containers/json") == 2
    assert state.unowned == {}


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
    # Podman sets a limit it is not given among nofile and nproc to 1048576, above these hosts'
    # hard limit: given one, it must be given both (docs/engines.md)
    ulimits = (Ulimit("nofile", 1024, 2048), Ulimit("nproc", 1000, 2000))
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
        sysctls={"net.ipv4.tcp_syncookies": "1"}, ulimits=ulimits,
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
    (binding,) = host["PortBindings"]["8080/tcp"]
    assert binding["HostIp"] == "127.0.0.1"
    assert re.fullmatch(r"\d*", binding["HostPort"])  # Docker keeps it empty, Podman shows the one it took
    mounts = _mounts(info)
    assert mounts["/data"] == ("volume", volume, False)
    assert mounts["/certs"] == ("bind", "/etc", True)
    assert mounts["/scratch"] == ("tmpfs", None, False)
    assert _tmpfs_sizes(info) == {"/scratch": 16 * 2**20}
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
    assert host["ReadonlyRootfs"] is True
    assert host["SecurityOpt"] in (["no-new-privileges:true"], ["no-new-privileges"])  # Podman's spelling
    assert _devices(info) in ([("/dev/null", "/dev/mynull", "rwm")], [("/dev/null", "/dev/mynull", "")])
    if "Sysctls" in host:
        assert host["Sysctls"] == {"net.ipv4.tcp_syncookies": "1"}
    else:  # Podman applies them without showing them
        read = docker_client.containers.get(id).exec_run(["cat", "/proc/sys/net/ipv4/tcp_syncookies"])
        assert read.output.strip() == b"1"
    ulimits_shown = {u["Name"].removeprefix("RLIMIT_").lower(): (u["Soft"], u["Hard"]) for u in host["Ulimits"]}
    assert ulimits_shown == {"nofile": (1024, 2048), "nproc": (1000, 2000)}  # Podman says RLIMIT_NOFILE
    assert (host["Init"], config["Tty"], config["StopTimeout"]) == (True, True, 7)
    assert config["StopSignal"] in ("SIGINT", "2")  # Podman shows the number
    if host["LogConfig"]["Config"] is None:  # Podman shows the size in its own inspect
        own = docker_client.api.get(docker_client.api.base_url + f"/v4.0.0/libpod/containers/{id}/json").json()
        assert (own["HostConfig"]["LogConfig"]["Type"], own["HostConfig"]["LogConfig"]["Size"]) == ("json-file", "1MB")
    else:
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
    podman = runtime.capabilities.kind == "podman"
    subnet, prefix = _subnet()
    options = {"com.docker.network.driver.mtu": "1400"} if podman else {"com.docker.network.bridge.enable_icc": "false"}
    spec = NetworkSpec(name=f"{namespace}-{driver}", driver=driver, subnet=subnet, gateway=f"{prefix}.1",
                       ip_range=f"{prefix}.128/25", internal=True, attachable=True, options=options,
                       labels={"tier": "x"})
    id = runtime.create_network(spec, {LABEL_MANAGED: namespace})
    info = docker_client.api.inspect_network(id)
    assert info["Driver"] == driver
    assert info["Labels"] == {"tier": "x", LABEL_MANAGED: namespace}
    assert info["Internal"] is True
    if podman:  # the compat inspect shows neither the range nor the options: Podman's own does
        own = docker_client.api.get(docker_client.api.base_url + f"/v4.0.0/libpod/networks/{id}/json").json()
        assert own["subnets"] == [{"subnet": subnet, "gateway": f"{prefix}.1",
                                   "lease_range": {"start_ip": f"{prefix}.129", "end_ip": f"{prefix}.255"}}]
        assert own["options"]["mtu"] == "1400"
    else:
        assert info["IPAM"]["Config"] == [{"Subnet": subnet, "Gateway": f"{prefix}.1", "IPRange": f"{prefix}.128/25"}]
        assert info["Attachable"] is True
        assert info["Options"] == options


def test_a_network_option_podman_would_drop_is_refused_naming_the_engine(docker_client, namespace):
    runtime = DockerRuntime()
    if runtime.capabilities.kind != "podman":
        pytest.skip("Docker honours every bridge option")
    spec = NetworkSpec(name=f"{namespace}-icc", options={"com.docker.network.bridge.enable_icc": "false"})
    with pytest.raises(InvalidSpec, match=r"podman 4\.3\.1 does not honour .*enable_icc"):
        runtime.create_network(spec, {LABEL_MANAGED: namespace})
    assert docker_client.api.networks(names=[spec.name]) == []


def test_a_volume_with_driver_options_reaches_the_engine(docker_client, namespace):
    runtime = DockerRuntime()
    options = {"type": "tmpfs", "device": "tmpfs", "o": "nodev,mode=0755"}  # Podman 4.3 takes size= as a quota
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
                         devices=(Device("/dev/full", "/dev/full", "r"), Device("/dev/zero", "/dev/z", "rw")))
    id = runtime.create_container(spec, f"{namespace}-short", labels)
    runtime.start_container(id)
    runtime.wait_container(id, "running", timeout=10)
    host = docker_client.api.inspect_container(id)["HostConfig"]
    (bind,) = host["Binds"]  # Podman adds the propagation it applied: ":ro,rprivate,rbind"
    assert (bind.split(",")[0], host.get("Mounts")) == (f"{missing}:/data:ro", None)
    assert missing.is_dir()
    assert _devices(docker_client.api.inspect_container(id)) in (
        [("/dev/full", "/dev/full", "r"), ("/dev/zero", "/dev/z", "rw")],
        [("/dev/full", "/dev/full", ""), ("/dev/zero", "/dev/z", "")])
    written = docker_client.containers.get(id).exec_run(["sh", "-c", "echo x > /dev/full"])
    assert b"Operation not permitted" in written.output  # read-only: not the ENOSPC a write gets

    long = Mount("bind", "/data", str(tmp_path / "never" / "there"))
    create_long = lambda: runtime.create_container(  # noqa: E731
        ContainerSpec(name="long", image=DEMO_IMAGE, mounts=(long,)), f"{namespace}-long", labels)
    if runtime.capabilities.kind == "podman":  # Podman makes it: the plan blocks it on both (hostpaths)
        create_long()
        assert (tmp_path / "never" / "there").is_dir()
    else:
        with pytest.raises(InvalidSpec, match="bind source path does not exist"):
            create_long()
