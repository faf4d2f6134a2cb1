"""What an engine cannot honour among Compose's container keys is refused before anything is
created: a storage size the storage driver cannot limit, a runtime the engine does not run, and
every key Podman 4.3 takes and drops in silence (each found by create and inspect on Podman 4.3.1)."""

from __future__ import annotations

import dataclasses

import pytest

from reconciler.fields import GpuRequest, Mount
from reconciler.model import ContainerSpec
from runtime.capabilities import DOCKER, PODMAN, Capabilities, Storage, kernel_of, probe, storage_of
from runtime.honoured import container_refusal

IMAGE = "localhost/demo:1"
# GET /info of the Docker 20.10 and Podman 4.3.1 here, as far as the checks read it
DOCKER_INFO = {"Driver": "overlay2", "DriverStatus": [["Backing Filesystem", "extfs"], ["Supports d_type", "true"]],
               "Runtimes": {"io.containerd.runc.v2": {}, "runc": {}}, "DefaultRuntime": "runc", "CgroupVersion": "1"}
PODMAN_INFO = {"Driver": "overlay", "DriverStatus": [["Backing Filesystem", "extfs"]],
               "Runtimes": {"crun": {}, "runc": {}, "kata": {}}, "DefaultRuntime": "runc", "CgroupVersion": "1"}
DOCKER_20 = Capabilities(kind=DOCKER, version="20.10.24", api_version="1.41", storage=storage_of(DOCKER_INFO))
PODMAN_43 = Capabilities(kind=PODMAN, version="4.3.1", api_version="1.41", storage=storage_of(PODMAN_INFO),
                         kernel=kernel_of(PODMAN_INFO))


def spec(**fields) -> ContainerSpec:
    return ContainerSpec("web", IMAGE, **fields)


def test_the_probe_reads_the_storage_driver_its_filesystem_and_the_runtimes_from_info():
    found = probe({"Version": "20.10.24", "ApiVersion": "1.41"}, None, DOCKER_INFO)
    assert found.storage == Storage("overlay2", "extfs", ("io.containerd.runc.v2", "runc"), "runc")


def test_a_storage_size_on_overlay2_over_extfs_is_refused_naming_the_driver():
    assert container_refusal(spec(storage_opt={"size": "1G"}), DOCKER_20) == (
        "docker 20.10.24 (API 1.41) cannot limit a container's storage size (storage_opt.size): its storage driver"
        " overlay2 on extfs does not support it (overlay2 does on xfs with pquota; btrfs, zfs and devicemapper do)")


@pytest.mark.parametrize("driver, filesystem", [("overlay2", "xfs"), ("btrfs", "btrfs"), ("zfs", "zfs")])
def test_a_storage_size_is_left_to_a_driver_that_can_limit_it(driver, filesystem):
    able = dataclasses.replace(DOCKER_20, storage=Storage(driver, filesystem, ("runc",), "runc"))
    assert container_refusal(spec(storage_opt={"size": "1G"}), able) is None


def test_storage_options_without_a_size_are_left_to_the_engine():
    assert container_refusal(spec(storage_opt={"other": "x"}), DOCKER_20) is None


def test_a_runtime_docker_does_not_list_is_refused_naming_those_it_lists():
    assert container_refusal(spec(runtime="runsc"), DOCKER_20) == (
        'docker 20.10.24 (API 1.41) has no runtime "runsc": it lists io.containerd.runc.v2, runc')
    assert container_refusal(spec(runtime="runc"), DOCKER_20) is None


def test_podman_runs_only_its_default_runtime_whatever_is_asked():
    assert container_refusal(spec(runtime="runc"), PODMAN_43) is None
    assert container_refusal(spec(runtime="kata"), PODMAN_43) == (
        'podman 4.3.1 (API 1.41) ignores runtime = "kata" and runs its default runtime runc')


@pytest.mark.parametrize("key, fields", [
    ("domainname", {"domainname": "example.org"}),
    ("mac_address", {"mac_address": "02:42:ac:11:00:99"}),
    ("cgroup", {"cgroup": "private"}),
    ("device_cgroup_rules", {"device_cgroup_rules": ("c 1:3 mr",)}),
    ("gpus", {"gpus": (GpuRequest(count=-1),)}),
    ("mounts.nocopy", {"mounts": (Mount("volume", "/d", "data", nocopy=True),)}),
    ("platform", {"platform": "linux/arm64"}),
])
def test_a_key_podman_drops_in_silence_is_refused_on_podman_and_honoured_by_docker(key, fields):
    assert container_refusal(spec(**fields), PODMAN_43) == (
        f"podman 4.3.1 (API 1.41) drops {key} in silence (its Docker-compatible API ignores it)")
    assert container_refusal(spec(**fields), DOCKER_20) is None


def test_every_key_podman_drops_is_named_in_one_refusal():
    assert container_refusal(spec(domainname="example.org", platform="linux/arm64"), PODMAN_43) == (
        "podman 4.3.1 (API 1.41) drops domainname, platform in silence (its Docker-compatible API ignores it)")


def test_every_refusal_of_a_container_is_reported_at_once_joined_with_semicolons():
    assert container_refusal(spec(runtime="kata", mac_address="02:42:ac:11:00:99", storage_opt={"size": "1G"}),
                             PODMAN_43) == (
        "podman 4.3.1 (API 1.41) cannot limit a container's storage size (storage_opt.size): its storage driver"
        " overlay on extfs does not support it (its overlay driver does on xfs mounted with pquota); "
        'podman 4.3.1 (API 1.41) ignores runtime = "kata" and runs its default runtime runc; '
        "podman 4.3.1 (API 1.41) drops mac_address in silence (its Docker-compatible API ignores it)")


def test_the_hosts_cgroup_namespace_is_what_podman_does_anyway_on_cgroup_v1():
    assert container_refusal(spec(cgroup="host"), PODMAN_43) is None
    on_v2 = dataclasses.replace(PODMAN_43, kernel=kernel_of({**PODMAN_INFO, "CgroupVersion": "2"}))
    assert container_refusal(spec(cgroup="host"), on_v2) == (
        "podman 4.3.1 (API 1.41) drops cgroup in silence (its Docker-compatible API ignores it)")


def test_keys_podman_honours_are_not_refused_on_podman():
    honoured = spec(dns_search=("a.example",), dns_opt=("ndots:2",), expose=("80/tcp",), group_add=("1234",),
                    ipc="shareable", pid="host", uts="host", userns_mode="host", cgroup_parent="jobs",
                    stdin_open=True, tmpfs={"/run": ""},
                    mounts=(Mount("tmpfs", "/t", tmpfs_mode=0o700), Mount("bind", "/b", "/srv", propagation="rslave")))
    assert container_refusal(honoured, PODMAN_43) is None


def test_a_storage_size_refused_on_podman_names_what_podman_can_limit():
    assert container_refusal(spec(storage_opt={"size": "1G"}), PODMAN_43) == (
        "podman 4.3.1 (API 1.41) cannot limit a container's storage size (storage_opt.size): its storage driver"
        " overlay on extfs does not support it (its overlay driver does on xfs mounted with pquota)")
