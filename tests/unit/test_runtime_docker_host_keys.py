"""Compose's one-to-one container keys and mount options in the create body, under the Engine API
1.41 field names; a key at its default sends nothing."""

from __future__ import annotations

from reconciler.fields import GpuRequest, Mount, PortMapping
from reconciler.model import ContainerSpec
from runtime.docker_specs import container_body


def _body(**fields) -> dict:
    return container_body(ContainerSpec(name="web", image="i", **fields), {}, "1.41")[0]


def test_a_spec_without_these_keys_sends_the_body_it_always_sent():
    body = _body()
    assert (body["OpenStdin"], body["ExposedPorts"]) == (False, {})
    assert not {"Domainname", "MacAddress"} & body.keys()
    assert not {"DnsSearch", "IpcMode", "Tmpfs", "DeviceRequests", "Runtime", "StorageOpt"} & body["HostConfig"].keys()


def test_the_config_keys_go_to_config():
    body = _body(domainname="example.org", mac_address="02:42:ac:11:00:99", stdin_open=True)
    assert (body["Domainname"], body["MacAddress"], body["OpenStdin"]) == ("example.org", "02:42:ac:11:00:99", True)


def test_exposed_ports_are_merged_with_the_published_ones():
    body = _body(expose=("53/udp", "80/tcp"), ports=(PortMapping(80, host_port=8080),))
    assert body["ExposedPorts"] == {"53/udp": {}, "80/tcp": {}}
    assert body["HostConfig"]["PortBindings"] == {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}


def test_the_host_keys_go_to_host_config_under_the_engines_names():
    host = _body(dns_search=("example.com",), dns_opt=("ndots:2",), group_add=("audio", "1234"),
                 ipc="container:db", pid="host", uts="host", userns_mode="host", cgroup="private",
                 cgroup_parent="jobs", runtime="runc", storage_opt={"size": "1G"}, tmpfs={"/run": "size=1m"},
                 device_cgroup_rules=("c 1:3 mr",))["HostConfig"]
    assert {key: host[key] for key in ("DnsSearch", "DnsOptions", "GroupAdd", "IpcMode", "PidMode", "UTSMode",
                                       "UsernsMode", "CgroupnsMode", "CgroupParent", "Runtime", "StorageOpt",
                                       "Tmpfs", "DeviceCgroupRules")} == {
        "DnsSearch": ["example.com"], "DnsOptions": ["ndots:2"], "GroupAdd": ["audio", "1234"],
        "IpcMode": "container:db", "PidMode": "host", "UTSMode": "host", "UsernsMode": "host",
        "CgroupnsMode": "private", "CgroupParent": "jobs", "Runtime": "runc", "StorageOpt": {"size": "1G"},
        "Tmpfs": {"/run": "size=1m"}, "DeviceCgroupRules": ["c 1:3 mr"]}


def test_gpus_are_device_requests_as_docker_run_gpus_sends_them():
    host = _body(gpus=(GpuRequest(count=-1), GpuRequest("nvidia", None, ("0",), ("gpu", "utility"), {"a": "b"})))
    assert host["HostConfig"]["DeviceRequests"] == [
        {"Driver": "", "Count": -1, "DeviceIDs": [], "Capabilities": [["gpu"]], "Options": {}},
        {"Driver": "nvidia", "Count": 0, "DeviceIDs": ["0"], "Capabilities": [["gpu", "utility"]],
         "Options": {"a": "b"}}]


def test_mount_options_go_to_the_mounts_options_beside_the_tmpfs_size():
    mounts = (Mount("volume", "/d", "data", nocopy=True, labels={"team": "x"}, subpath="a"),
              Mount("tmpfs", "/t", tmpfs_size=1024, tmpfs_mode=0o700),
              Mount("bind", "/b", "/srv", propagation="rslave"))
    assert _body(mounts=mounts)["HostConfig"]["Mounts"] == [
        {"Type": "volume", "Target": "/d", "ReadOnly": False, "Source": "data",
         "VolumeOptions": {"NoCopy": True, "Labels": {"team": "x"}, "Subpath": "a"}},
        {"Type": "tmpfs", "Target": "/t", "ReadOnly": False, "TmpfsOptions": {"SizeBytes": 1024, "Mode": 0o700}},
        {"Type": "bind", "Target": "/b", "ReadOnly": False, "Source": "/srv", "BindOptions": {"Propagation": "rslave"}},
    ]


def test_a_bind_the_engine_creates_carries_its_propagation_after_read_only():
    mounts = (Mount("bind", "/a", "/srv/a", read_only=True, propagation="rshared", create_host_path=True),
              Mount("bind", "/b", "/srv/b", propagation="rslave", create_host_path=True))
    assert _body(mounts=mounts)["HostConfig"]["Binds"] == ["/srv/a:/a:ro,rshared", "/srv/b:/b:rslave"]


def test_a_bind_relabelled_for_selinux_is_sent_in_binds_with_its_z_last():
    mounts = (Mount("bind", "/a", "/srv/a", read_only=True, propagation="rslave", selinux="Z", create_host_path=True),
              Mount("bind", "/b", "/srv/b", selinux="z"))
    host = _body(mounts=mounts)["HostConfig"]
    assert (host["Binds"], host["Mounts"]) == (["/srv/a:/a:ro,rslave,Z", "/srv/b:/b:z"], [])
