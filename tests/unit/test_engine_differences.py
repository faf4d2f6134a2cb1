"""The probe and Podman's differences, on the engines' answers as recorded (docs/engines.md)."""

from __future__ import annotations

from reconciler.fields import Mount, Resources
from reconciler.model import ContainerSpec
from runtime import podman
from runtime.base import ObservedContainer
from runtime.capabilities import Capabilities, probe
from runtime.docker_specs import container_body

DOCKER_VERSION = {"Version": "20.10.24+dfsg1", "ApiVersion": "1.41", "MinAPIVersion": "1.12",
                  "Components": [{"Name": "Engine", "Version": "20.10.24+dfsg1"}]}
PODMAN_VERSION = {"Version": "4.3.1", "ApiVersion": "1.41", "MinAPIVersion": "1.24",
                  "Components": [{"Name": "Podman Engine", "Version": "4.3.1", "Details": {"APIVersion": "4.3.1"}},
                                 {"Name": "Conmon", "Version": "conmon version 2.1.6"}]}
PODMAN_INFO = {"host": {"cgroupManager": "cgroupfs", "security": {"rootless": False}}}


def test_docker_is_probed_as_able_to_do_everything():
    assert probe(DOCKER_VERSION) == Capabilities(kind="docker", version="20.10.24+dfsg1", api_version="1.41")


def test_podman_without_systemd_runs_no_healthchecks_and_has_no_update_nor_distribution():
    found = probe(PODMAN_VERSION, PODMAN_INFO)
    assert (found.kind, found.version, found.api_version) == ("podman", "4.3.1", "1.41")
    assert found.default_network == "podman"
    assert not (found.in_place_update or found.distribution or found.runs_healthchecks or found.unless_stopped)
    assert not found.rootless


def test_podman_under_systemd_runs_its_healthchecks_and_a_rootless_one_says_so():
    found = probe(PODMAN_VERSION, {"host": {"cgroupManager": "systemd", "security": {"rootless": True}}})
    assert found.runs_healthchecks and found.rootless


def test_capabilities_are_described_as_json_ready_fields():
    assert probe(PODMAN_VERSION, PODMAN_INFO).describe() == {
        "kind": "podman", "version": "4.3.1", "api_version": "1.41", "default_network": "podman",
        "in_place_update": False, "distribution": False, "runs_healthchecks": False, "unless_stopped": False,
        "rootless": False, "kernel": None, "storage": None, "local": False}


def test_event_filters_take_podmans_names_and_events_come_back_in_dockers():
    wanted = ["die", "stop", "destroy", "health_status"]
    assert podman.event_filter(wanted) == ["died", "health_status", "remove", "stop"]
    assert [podman.event_action("container", a) for a in ("died", "remove", "stop")] == ["die", "destroy", "stop"]
    assert podman.event_action("image", "remove") == "delete"


def _listed(state: str = "running", networks=frozenset({"podman"})) -> ObservedContainer:
    return ObservedContainer(id="c" * 64, name="web", labels={}, state=state, health=None, image_id="sha256:1",
                             networks=networks, created=0.0)


def test_the_default_network_podman_is_observed_as_bridge_and_health_comes_from_the_libpod_list():
    seen = podman.observed_container(_listed(), {"Networks": ["podman", "front"], "Status": "healthy"}, None)
    assert (seen.networks, seen.health) == ({"bridge", "front"}, "healthy")


def test_a_container_on_another_stack_is_on_no_network_though_the_compat_list_shows_the_others():
    seen = podman.observed_container(_listed(), {"Networks": [], "Status": ""}, None)
    assert (seen.networks, seen.health) == (frozenset(), None)
    assert podman.needs_network_mode({"Networks": []}) and not podman.needs_network_mode({"Networks": ["podman"]})


def test_a_stopped_container_its_policy_starts_again_is_restarting_else_exited():
    stopped = _listed(state="stopped")
    always = {"HostConfig": {"RestartPolicy": {"Name": "always"}}, "State": {"ExitCode": 0}}
    done = {"HostConfig": {"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 2}}, "State": {"ExitCode": 1},
            "RestartCount": 2}
    retrying = {**done, "RestartCount": 1}
    assert podman.observed_container(stopped, None, always).state == "restarting"
    assert podman.observed_container(stopped, None, retrying).state == "restarting"
    assert podman.observed_container(stopped, None, done).state == "exited"
    assert podman.observed_container(stopped, None, None).state == "exited"


def test_network_options_podman_would_drop_are_named():
    options = {"com.docker.network.driver.mtu": "1400", "com.docker.network.bridge.enable_icc": "false"}
    assert podman.unsupported_network_options(options) == ["com.docker.network.bridge.enable_icc"]


def test_a_tmpfs_mount_gets_dockers_default_mode_on_podman():
    spec = ContainerSpec(name="web", image="demo:1", mounts=(Mount("tmpfs", "/scratch", tmpfs_size=1024),))
    body, _ = container_body(spec, {}, "1.41")
    (mount,) = podman.container_body(body)["HostConfig"]["Mounts"]
    assert mount["TmpfsOptions"] == {"Mode": 0o1777, "SizeBytes": 1024}


def test_podman_is_sent_no_pids_limit_where_none_is_declared_and_the_declared_one_where_it_is():
    plain, _ = container_body(ContainerSpec(name="web", image="demo:1"), {}, "1.41")
    limited_spec = ContainerSpec(name="web", image="demo:1", resources=Resources(pids_limit=50))
    limited, _ = container_body(limited_spec, {}, "1.41")
    assert podman.container_body(plain)["HostConfig"]["PidsLimit"] == -1
    assert podman.container_body(limited)["HostConfig"]["PidsLimit"] == 50
