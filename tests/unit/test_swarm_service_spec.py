"""reconciler.swarm.service_spec: a container spec as the Engine API's ServiceSpec body, field by field."""

from __future__ import annotations

import dataclasses
import json

from reconciler import fields
from reconciler.model import (
    LABEL_MANAGED,
    LABEL_SPEC_HASH,
    LABEL_TARGET,
    TARGET_SWARM,
    ContainerSpec,
    SecretSpec,
    Source,
    VolumeSpec,
    spec_hash,
)
from reconciler.swarm.service_spec import (
    LABEL_SERVICE_KEYS,
    constraints,
    mode_name,
    object_name,
    render,
    service_keys,
)
from runtime.swarm_base import ObservedNode

NS = "ns"
DIGEST = "sha256:" + "d" * 64
NODES = (ObservedNode("n1", "web-1"), ObservedNode("n2", "web-2.example.org"), ObservedNode("n3", "db-1"))


def spec(**changes) -> ContainerSpec:
    return dataclasses.replace(ContainerSpec(name="web", image="127.0.0.1:5000/demo:1", source=Source("web.toml", 1)),
                               **changes)


def body(**changes) -> dict:
    return render(spec(**changes), NS, DIGEST, NODES)


def container(**changes) -> dict:
    return body(**changes)["TaskTemplate"]["ContainerSpec"]


def test_the_image_is_pinned_to_the_registry_digest():
    assert container()["Image"] == "127.0.0.1:5000/demo:1@" + DIGEST


def test_an_image_written_with_a_digest_is_pinned_to_the_resolved_one():
    assert container(image="demo:1@sha256:" + "0" * 64)["Image"] == "demo:1@" + DIGEST


def test_command_is_args_and_entrypoint_is_command():
    rendered = container(command=("echo", "hi"), entrypoint=("/bin/sh", "-c"))
    assert (rendered["Command"], rendered["Args"]) == (["/bin/sh", "-c"], ["echo", "hi"])


def test_env_is_sorted_key_equals_value():
    assert container(env={"B": "2", "A": "1=x"})["Env"] == ["A=1=x", "B=2"]


def test_plain_fields_keep_their_values():
    rendered = container(working_dir="/srv", user="1000", hostname="h", init=True, tty=True, read_only=True,
                         stop_signal="SIGINT", group_add=("audio",), stdin_open=True)
    assert {k: rendered[k] for k in ("Dir", "User", "Hostname", "Init", "TTY", "ReadOnly", "StopSignal", "Groups",
                                     "OpenStdin")} == {
        "Dir": "/srv", "User": "1000", "Hostname": "h", "Init": True, "TTY": True, "ReadOnly": True,
        "StopSignal": "SIGINT", "Groups": ["audio"], "OpenStdin": True}


def test_stop_timeout_is_a_grace_period_in_nanoseconds():
    assert container(stop_timeout=3)["StopGracePeriod"] == 3_000_000_000


def test_task_containers_carry_only_the_users_labels():
    assert container(labels={"team": "a"})["Labels"] == {"team": "a"}


def test_the_service_carries_ownership_the_spec_hash_and_the_users_labels():
    labels = body(labels={"team": "a"})["Labels"]
    assert labels["team"] == "a"
    assert labels[LABEL_MANAGED] == NS
    assert labels[LABEL_SPEC_HASH] == spec_hash(spec(labels={"team": "a"}))


def test_the_service_carries_the_swarm_targets_mark():
    assert body()["Labels"][LABEL_TARGET] == TARGET_SWARM


def test_the_service_records_its_unhashed_keys():
    keys = json.loads(body(replicas=3)["Labels"][LABEL_SERVICE_KEYS])
    assert (keys["replicas"], keys["mode"], keys["state"]) == (3, "replicated", "running")


def test_capabilities_sysctls_and_ulimits():
    rendered = container(cap_add=("NET_ADMIN",), cap_drop=("MKNOD",), sysctls={"net.core.somaxconn": "1024"},
                         ulimits=(fields.Ulimit("nofile", 1024, 2048),))
    assert rendered["CapabilityAdd"] == ["NET_ADMIN"]
    assert rendered["CapabilityDrop"] == ["MKNOD"]
    assert rendered["Sysctls"] == {"net.core.somaxconn": "1024"}
    assert rendered["Ulimits"] == [{"Name": "nofile", "Soft": 1024, "Hard": 2048}]


def test_dns_settings_are_one_dns_config():
    rendered = container(dns=("10.0.0.2",), dns_search=("example.org",), dns_opt=("ndots:2",))
    assert rendered["DNSConfig"] == {"Nameservers": ["10.0.0.2"], "Search": ["example.org"], "Options": ["ndots:2"]}


def test_no_dns_setting_is_no_dns_config():
    assert container()["DNSConfig"] is None


def test_extra_hosts_are_in_the_hosts_file_form():
    assert container(extra_hosts=("db:10.0.0.5", "v6:::1"))["Hosts"] == ["10.0.0.5 db", "::1 v6"]


def test_healthcheck_durations_are_nanoseconds():
    check = fields.Healthcheck(("CMD", "true"), interval=5.0, timeout=2.0, retries=4, start_period=1.5)
    assert container(healthcheck=check)["Healthcheck"] == {
        "Test": ["CMD", "true"], "Interval": 5_000_000_000, "Timeout": 2_000_000_000, "Retries": 4,
        "StartPeriod": 1_500_000_000}


def test_mounts_of_each_type():
    mounts = (fields.Mount("volume", "/data", "data", nocopy=True),
              fields.Mount("bind", "/etc/x", "/srv/x", read_only=True),
              fields.Mount("tmpfs", "/tmp", tmpfs_size=1024, tmpfs_mode=0o1777))
    assert container(mounts=mounts)["Mounts"] == [
        {"Type": "volume", "Source": "data", "Target": "/data", "ReadOnly": False,
         "VolumeOptions": {"NoCopy": True, "Labels": {}, "DriverConfig": None}},
        {"Type": "bind", "Source": "/srv/x", "Target": "/etc/x", "ReadOnly": True, "BindOptions": None},
        {"Type": "tmpfs", "Source": None, "Target": "/tmp", "ReadOnly": False,
         "TmpfsOptions": {"SizeBytes": 1024, "Mode": 0o1777}},
    ]


DATA = VolumeSpec("data", driver="local", options={"type": "tmpfs", "device": "tmpfs"}, labels={"team": "a"})


def test_a_mount_of_a_declared_volume_carries_its_driver_options_and_labels():
    mounts = (fields.Mount("volume", "/data", "data", labels={"role": "db"}),)
    rendered = render(spec(mounts=mounts), NS, DIGEST, NODES, {"data": DATA})
    assert rendered["TaskTemplate"]["ContainerSpec"]["Mounts"][0]["VolumeOptions"] == {
        "NoCopy": False, "Labels": {"team": "a", "role": "db"},
        "DriverConfig": {"Name": "local", "Options": {"type": "tmpfs", "device": "tmpfs"}}}


def test_a_volume_declaration_is_recorded_in_the_service_keys_only_when_a_mount_uses_it():
    mounted = spec(mounts=(fields.Mount("volume", "/data", "data"),))
    other = dataclasses.replace(DATA, options={"type": "tmpfs", "device": "tmpfs", "o": "size=1m"})
    assert "volumes" not in service_keys(spec(), {"data": DATA})
    assert service_keys(mounted, {"data": DATA})["volumes"] != service_keys(mounted, {"data": other})["volumes"]


def test_secrets_and_configs_are_referenced_by_their_versioned_names():
    secret = fields.FileGrant("db_pw", "/run/secrets/db_pw", uid=1, gid=2, digest="hmac-sha256:" + "ab" * 32)
    config = fields.FileGrant("app", "/app.conf", mode=0o444, digest="hmac-sha256:" + "cd" * 32)
    rendered = container(secrets=(secret,), configs=(config,))
    assert rendered["Secrets"] == [{"File": {"Name": "/run/secrets/db_pw", "UID": "1", "GID": "2", "Mode": 0o400},
                                    "SecretName": "db_pw-abababababab"}]
    assert rendered["Configs"] == [{"File": {"Name": "/app.conf", "UID": "0", "GID": "0", "Mode": 0o444},
                                    "ConfigName": "app-cdcdcdcdcdcd"}]


def test_object_name_is_the_name_and_twelve_hex_of_the_digest():
    assert object_name(SecretSpec("db_pw", digest="hmac-sha256:0123456789abcdef")) == "db_pw-0123456789ab"


def test_networks_are_attachments_with_aliases_sorted_by_name():
    networks = (fields.NetworkAttachment("front", ("www",)), fields.NetworkAttachment("back"))
    assert body(networks=networks)["TaskTemplate"]["Networks"] == [
        {"Target": "back", "Aliases": []}, {"Target": "front", "Aliases": ["www"]}]


def test_limits_and_reservations():
    resources = fields.Resources(memory=512 * 2**20, memory_reservation=128 * 2**20, cpus=1.5, pids_limit=100)
    assert body(resources=resources)["TaskTemplate"]["Resources"] == {
        "Limits": {"MemoryBytes": 512 * 2**20, "NanoCPUs": 1_500_000_000, "Pids": 100},
        "Reservations": {"MemoryBytes": 128 * 2**20}}


def test_restart_policies_map_as_compose_converts_them():
    policies = {r: body(restart=r)["TaskTemplate"]["RestartPolicy"]
                for r in ("always", "unless-stopped", "on-failure:3")}
    assert policies == {
        "always": {"Condition": "any", "MaxAttempts": None},
        "unless-stopped": {"Condition": "any", "MaxAttempts": None},
        "on-failure:3": {"Condition": "on-failure", "MaxAttempts": 3}}


def test_a_service_with_the_default_restart_has_its_dead_tasks_replaced():
    assert body()["TaskTemplate"]["RestartPolicy"] == {"Condition": "any", "MaxAttempts": None}


def test_a_job_with_the_default_restart_runs_a_failed_task_no_more():
    assert body(state="completed")["TaskTemplate"]["RestartPolicy"] == {"Condition": "none", "MaxAttempts": None}


def test_ports_publish_through_ingress_or_on_the_host():
    ports = (fields.PortMapping(80, host_port=8080), fields.PortMapping(53, "udp", host_port=53, mode="host"),
             fields.PortMapping(9000))
    assert body(ports=ports)["EndpointSpec"]["Ports"] == [
        {"Protocol": "udp", "TargetPort": 53, "PublishedPort": 53, "PublishMode": "host"},
        {"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 8080, "PublishMode": "ingress"},
        {"Protocol": "tcp", "TargetPort": 9000, "PublishedPort": None, "PublishMode": "ingress"}]


def test_replicas_global_and_stopped_modes():
    assert body(replicas=3)["Mode"] == {"Replicated": {"Replicas": 3}}
    assert body(mode="global")["Mode"] == {"Global": {}}
    assert body(state="stopped", replicas=2)["Mode"] == {"Replicated": {"Replicas": 0}}


def test_a_completed_container_is_a_job_without_update_config():
    rendered = body(state="completed", replicas=2)
    assert rendered["Mode"] == {"ReplicatedJob": {"MaxConcurrent": 2, "TotalCompletions": 2}}
    assert (rendered["UpdateConfig"], rendered["RollbackConfig"]) == (None, None)
    assert body(state="completed", mode="global")["Mode"] == {"GlobalJob": {}}


def test_mode_names_as_docker_service_ls_says_them():
    assert [mode_name(m) for m in ({"Replicated": {}}, {"Global": {}}, {"ReplicatedJob": {}}, {"GlobalJob": {}},
                                   None)] == ["replicated", "global", "replicated-job", "global-job", "replicated"]


def test_update_maps_to_update_and_rollback_config():
    update = fields.UpdatePolicy(order="start-first", parallelism=2, delay=5.0, monitor=10.0, failure_action="rollback")
    rendered = body(update=update)
    assert rendered["UpdateConfig"] == {"Parallelism": 2, "Delay": 5_000_000_000, "FailureAction": "rollback",
                                        "Monitor": 10_000_000_000, "MaxFailureRatio": 0, "Order": "start-first"}
    assert rendered["RollbackConfig"]["FailureAction"] == "pause"


def test_logging_is_the_log_driver():
    rendered = body(logging=fields.Logging("json-file", {"max-size": "1m"}))
    assert rendered["TaskTemplate"]["LogDriver"] == {"Name": "json-file", "Options": {"max-size": "1m"}}


def test_no_hosts_is_no_constraint():
    assert constraints((), NODES) == []


def test_hosts_matching_every_node_is_no_constraint():
    assert constraints(("*",), NODES) == []


def test_hosts_matching_one_node_pins_it_by_id():
    assert constraints(("db-*",), NODES) == ["node.id==n3"]


def test_a_node_matches_by_its_short_host_name():
    assert constraints(("web-2",), NODES) == ["node.id==n2"]


def test_hosts_matching_several_nodes_exclude_the_others():
    assert constraints(("web-*",), NODES) == ["node.id!=n3"]


def test_hosts_matching_no_node_is_none():
    assert constraints(("cache-*",), NODES) is None


def test_hosts_become_the_placement_constraints():
    assert body(hosts=("db-1",))["TaskTemplate"]["Placement"] == {"Constraints": ["node.id==n3"]}
