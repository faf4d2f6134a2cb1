"""The pure parts of the Docker adapter: list parsing, error mapping, spec mapping, wait conditions."""

from __future__ import annotations

from datetime import UTC, datetime

import docker.errors
import pytest
import requests

from reconciler.fields import Device, Mount, NetworkAttachment
from reconciler.model import ContainerSpec, NetworkSpec
from runtime.base import Conflict, EngineUnavailable, Forbidden, InvalidSpec, NotFound
from runtime.conditions import reached
from runtime.docker_errors import translate
from runtime.docker_observe import (
    container,
    declared_volumes,
    exit_code_from_status,
    health_from_status,
    image_ids,
    may_be_restarting,
    normalise_reference,
    sharing_stacks,
    up_seconds_from_status,
    up_since,
)
from runtime.docker_specs import container_body, network_kwargs, restart_policy


@pytest.mark.parametrize("status, health", [
    ("Up 3 minutes (healthy)", "healthy"),
    ("Up 2 seconds (health: starting)", "starting"),
    ("Up 1 hour (unhealthy)", "unhealthy"),
    ("Up 5 seconds", None),
    ("Exited (0) 2 seconds ago", None),
])
def test_health_is_read_from_the_status_text(status, health):
    assert health_from_status(status) == health


@pytest.mark.parametrize("status, code", [
    ("Exited (137) 5 seconds ago", 137), ("Exited (0) About a minute ago", 0), ("Up 2 seconds", None),
    ("Created", None),
])
def test_exit_code_is_read_from_the_status_text(status, code):
    assert exit_code_from_status(status) == code


def test_a_list_entry_becomes_an_observed_container_with_its_own_name_and_networks():
    entry = {"Id": "abc", "Names": ["/other/alias", "/web"], "Labels": None, "State": "running",
             "Status": "Up 1 second (health: starting)", "ImageID": "sha256:1", "Created": 1700000000,
             "NetworkSettings": {"Networks": {"front": {}, "back": {}}}}
    observed = container(entry)
    assert (observed.name, observed.labels, observed.health) == ("web", {}, "starting")
    assert observed.networks == {"front", "back"} and observed.created == 1700000000.0


@pytest.mark.parametrize("ref, listed", [
    ("busybox", "busybox:latest"), ("docker.io/library/busybox:1", "busybox:1"),
    ("localhost:5000/demo", "localhost:5000/demo:latest"), ("localhost/demo:1", "localhost/demo:1"),
    ("repo@sha256:abc", "repo@sha256:abc"),
    ("127.0.0.1:5000/team/app:1.2@sha256:abc", "127.0.0.1:5000/team/app@sha256:abc"),
    ("docker.io/library/busybox:1@sha256:abc", "busybox@sha256:abc"),
])
def test_references_are_normalised_as_the_engine_lists_them(ref, listed):
    assert normalise_reference(ref) == listed


def test_image_ids_map_tags_and_digests_and_leave_out_absent_references():
    images = [{"Id": "sha256:1", "RepoTags": ["busybox:latest"], "RepoDigests": ["busybox@sha256:d"]},
              {"Id": "sha256:2", "RepoTags": None, "RepoDigests": None}]
    assert image_ids(images, ["busybox", "busybox@sha256:d", "absent:1"]) == {
        "busybox": "sha256:1", "busybox@sha256:d": "sha256:1"}


def _api_error(status: int, message: str) -> docker.errors.APIError:
    response = requests.Response()
    response.status_code = status
    return docker.errors.APIError(message, response=response, explanation=message)


@pytest.mark.parametrize("error, expected", [
    (_api_error(404, "No such container: x"), NotFound),
    (_api_error(409, "name already in use"), Conflict),
    (_api_error(403, "network has active endpoints"), Forbidden),
    (_api_error(400, "invalid mount config"), InvalidSpec),
    (_api_error(500, "OCI runtime create failed: unable to apply caps"), InvalidSpec),
    (_api_error(500, "dial unix /run/containerd/containerd.sock: connect: connection refused"),
     EngineUnavailable),
    (_api_error(503, "whatever"), EngineUnavailable),
    (requests.exceptions.ConnectionError("Connection aborted"), EngineUnavailable),
    (docker.errors.DockerException("Error while fetching server API version: ..."), EngineUnavailable),
    (docker.errors.InvalidArgument("bad value"), InvalidSpec),
    # Podman 4.3 answers these with a 500 and its own words
    (_api_error(500, 'the container name "web" is already in use by 1a2b'), Conflict),
    (_api_error(500, "network name front already used: network already exists"), Conflict),
    (_api_error(500, '"front" has associated containers with it: network is being used'), Forbidden),
    (_api_error(500, "container 1a2b is already connected to network front: network is already connected"),
     Forbidden),
    (_api_error(500, "container 1a2b has dependent containers which must be removed before it: 3c4d: "
                     "container already exists"), Forbidden),
    (_api_error(500, "container 1a2b does not exist in database: no such container"), NotFound),
])
def test_engine_errors_map_to_runtime_errors_with_the_engine_message(error, expected):
    translated = translate(error)
    assert type(translated) is expected
    assert str(error.explanation if isinstance(error, docker.errors.APIError) else error) in str(translated)


@pytest.mark.parametrize("restart, policy", [
    ("no", {"Name": "no"}), ("unless-stopped", {"Name": "unless-stopped"}),
    ("on-failure", {"Name": "on-failure"}), ("on-failure:5", {"Name": "on-failure", "MaximumRetryCount": 5}),
])
def test_restart_policies_map_to_the_engine_form(restart, policy):
    assert restart_policy(restart) == policy


def test_networks_go_to_the_create_call_as_far_as_the_api_version_allows():
    spec = ContainerSpec(name="web", image="i", networks=(NetworkAttachment("front", ("www",)),
                                                        NetworkAttachment("back", (), "10.0.0.5")))
    old, later = container_body(spec, {}, "1.41")
    assert old["HostConfig"]["NetworkMode"] == "front"
    assert old["NetworkingConfig"]["EndpointsConfig"] == {"front": {"Aliases": ["www"]}}
    assert [a.name for a in later] == ["back"]
    new, later = container_body(spec, {}, "1.44")
    assert set(new["NetworkingConfig"]["EndpointsConfig"]) == {"front", "back"}
    assert new["NetworkingConfig"]["EndpointsConfig"]["back"] == {"IPAMConfig": {"IPv4Address": "10.0.0.5"}}
    assert later == ()


def test_unset_optional_fields_are_left_to_the_engine_and_given_labels_win():
    body, _ = container_body(ContainerSpec(name="web", image="i", labels={"a": "spec", "b": "spec"}),
                             {"b": "given"}, "1.41")
    assert not {"Cmd", "Entrypoint", "User", "Healthcheck", "StopTimeout"} & set(body)
    assert not {"Memory", "NanoCpus", "LogConfig"} & set(body["HostConfig"])
    assert body["HostConfig"]["NetworkMode"] == "default"
    assert body["Labels"] == {"a": "spec", "b": "given"}


def test_a_short_form_bind_is_sent_as_a_bind_the_engine_creates_and_the_long_form_as_a_mount():
    mounts = (Mount("bind", "/a", "/srv/a", read_only=True, create_host_path=True),
              Mount("bind", "/b", "/srv/b", create_host_path=True), Mount("bind", "/c", "/srv/c"),
              Mount("volume", "/d", "data"))
    host = container_body(ContainerSpec(name="web", image="i", mounts=mounts), {}, "1.41")[0]["HostConfig"]
    assert host["Binds"] == ["/srv/a:/a:ro", "/srv/b:/b"]
    assert host["Mounts"] == [{"Type": "bind", "Target": "/c", "ReadOnly": False, "Source": "/srv/c"},
                              {"Type": "volume", "Target": "/d", "ReadOnly": False, "Source": "data"}]


def test_devices_are_sent_with_their_host_path_container_path_and_permissions():
    devices = (Device("/dev/null", "/dev/null", "r"), Device("/dev/fuse", "/dev/f", "rwm"))
    host = container_body(ContainerSpec(name="web", image="i", devices=devices), {}, "1.41")[0]["HostConfig"]
    assert host["Devices"] == [
        {"PathOnHost": "/dev/null", "PathInContainer": "/dev/null", "CgroupPermissions": "r"},
        {"PathOnHost": "/dev/fuse", "PathInContainer": "/dev/f", "CgroupPermissions": "rwm"},
    ]


def test_network_ipam_is_sent_only_when_given():
    assert network_kwargs(NetworkSpec(name="n"), {})["ipam"] is None
    ipam = network_kwargs(NetworkSpec(name="n", subnet="10.1.0.0/24"), {})["ipam"]
    assert ipam == {"Driver": "default", "Config": [{"Subnet": "10.1.0.0/24"}]}


@pytest.mark.parametrize("driver", ["macvlan", "ipvlan", "overlay"])
def test_every_network_driver_is_sent_with_its_ipam_options_and_flags(driver):
    spec = NetworkSpec(name="n", driver=driver, subnet="10.1.0.0/24", gateway="10.1.0.1", internal=True,
                       attachable=True, options={"parent": "eth0"})
    sent = network_kwargs(spec, {"owner": "x"})
    assert (sent["driver"], sent["internal"], sent["attachable"], sent["options"]) == (
        driver, True, True, {"parent": "eth0"})
    assert sent["ipam"]["Config"] == [{"Subnet": "10.1.0.0/24", "Gateway": "10.1.0.1"}]


@pytest.mark.parametrize("condition, state, health, code, outcome", [
    ("running", "running", None, None, True),
    ("running", "created", None, None, False),
    ("running", "restarting", None, None, False),
    ("running", "exited", None, 1, InvalidSpec),
    ("healthy", "running", "starting", None, False),
    ("healthy", "running", "healthy", None, True),
    ("healthy", "running", "unhealthy", None, InvalidSpec),
    ("healthy", "running", None, None, InvalidSpec),
    ("exited", "exited", None, 2, True),
    ("exited", "running", None, None, False),
    ("completed", "exited", None, 0, True),
    ("completed", "exited", None, 2, InvalidSpec),
    ("completed", "running", None, None, False),
])
def test_wait_conditions(condition, state, health, code, outcome):
    if outcome is InvalidSpec:
        with pytest.raises(InvalidSpec):
            reached(condition, state, health, code)
    else:
        assert reached(condition, state, health, code) is outcome


@pytest.mark.parametrize("config, paths", [
    ({"Volumes": {"/var/lib/db": {}, "/data": {}}}, ("/data", "/var/lib/db")),
    ({"Volumes": None}, ()),
    (None, ()),
])
def test_declared_volumes_are_the_sorted_volume_paths_of_the_image_config(config, paths):
    assert declared_volumes({"Id": "sha256:1", "Config": config}) == paths


@pytest.mark.parametrize("state, status, inspect", [
    ("restarting", "Restarting (1) Less than a second ago", True),
    ("running", "Up Less than a second", True),
    ("running", "Up 1 second", True),
    ("running", "Up 59 seconds (health: starting)", True),
    ("running", "Up About a minute", False),
    ("running", "Up 3 hours (healthy)", False),
    ("paused", "Up 5 seconds (Paused)", False),
    ("exited", "Exited (1) 2 seconds ago", False),
    ("created", "Created", False),
])
def test_only_a_restarting_container_or_one_up_for_under_a_minute_may_be_in_a_crash_loop(state, status, inspect):
    assert may_be_restarting({"State": state, "Status": status}) is inspect


def test_a_list_entry_carries_its_network_mode_and_the_restart_count_given():
    entry = {"Id": "abc", "Names": ["/side"], "State": "running", "Status": "Up 2 seconds",
             "HostConfig": {"NetworkMode": "container:" + "a" * 64}}
    observed = container(entry, restart_count=4)
    assert (observed.network_mode, observed.restart_count) == ("container:" + "a" * 64, 4)
    assert container(entry).restart_count == 0


@pytest.mark.parametrize(("status", "seconds"), [
    ("Up Less than a second", 0.0), ("Up 1 second", 1.0), ("Up 42 seconds (healthy)", 42.0),
    ("Up About a minute", 60.0), ("Up 3 minutes", 180.0), ("Up About an hour (unhealthy)", 3600.0),
    ("Up 5 hours", 18000.0), ("Up 2 days", 172800.0), ("Exited (0) 3 minutes ago", None), ("Created", None),
])
def test_uptime_is_read_from_the_status_text_as_a_lower_bound(status, seconds):
    assert up_seconds_from_status(status) == seconds


def test_containers_sharing_a_network_stack_and_their_targets_are_the_ones_whose_start_is_read_exactly():
    modes = {"p" * 64: None, "s" * 64: "container:" + "p" * 64, "a" * 64: "default"}
    assert sharing_stacks(modes) == {"p" * 64, "s" * 64}


def test_the_exact_uptime_comes_from_started_at_with_nanoseconds():
    inspected = {"State": {"Running": True, "StartedAt": "2026-11-30T06:00:00.123456789Z"}}
    now = datetime(2026, 11, 30, 6, 0, 10, 123456, tzinfo=UTC).timestamp()
    assert up_since(inspected, now) == pytest.approx(10.0)
    assert up_since({"State": {"Running": False, "StartedAt": "2026-11-30T06:00:00Z"}}, now) is None
