"""The JSON Schema is a valid draft 2020-12 schema that editors can use for completion."""

import json

from jsonschema import Draft202012Validator

from reconciler.desired.schema import SCHEMA_PATH


def _schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text())


def _subschemas(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _subschemas(value)
    elif isinstance(node, list):
        for value in node:
            yield from _subschemas(value)


def test_the_schema_is_a_valid_draft_2020_12_schema():
    schema = _schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_every_table_with_known_keys_forbids_unknown_ones():
    for node in _subschemas(_schema()):
        if "properties" in node:
            assert node.get("additionalProperties") is False, sorted(node["properties"])


def test_every_property_has_a_description():
    for node in _subschemas(_schema()):
        for name, prop in node.get("properties", {}).items():
            assert prop.get("description"), name


def test_the_kinds_are_the_top_level_tables():
    assert sorted(_schema()["properties"]) == ["config", "container", "network", "secret", "volume"]


def test_the_container_schema_covers_the_design_feature_set():
    expected = {
        "image", "pull", "command", "entrypoint", "working_dir", "user", "hostname", "env", "env_file", "labels",
        "ports", "mounts", "networks", "network_mode", "restart", "state", "depends_on", "update", "healthcheck",
        "resources", "extra_hosts", "dns", "cap_add", "cap_drop", "privileged", "read_only", "security_opt",
        "devices", "sysctls", "ulimits", "init", "tty", "stop_signal", "stop_timeout", "logging", "volumes_from",
        "pull_interval", "hosts", "build", "push", "secrets", "configs",
        "pull_policy", "stop_grace_period", "mem_limit", "mem_reservation", "cpus", "pids_limit", "shm_size",
        "environment", "volumes", "profiles",
        "post_start", "pre_stop",
    }
    assert expected <= set(_schema()["$defs"]["container"]["properties"])


def test_patterns_accept_the_documented_forms_and_reject_others():
    defs = _schema()["$defs"]

    def valid(definition: str, value) -> bool:
        return Draft202012Validator({"$defs": defs, "$ref": f"#/$defs/{definition}"}).is_valid(value)

    assert all(valid("duration", v) for v in ["5s", "1m30s", "500ms", "1h", "1.5s", 10])
    assert not any(valid("duration", v) for v in ["5", "5 s", "s", "-1s", 1.5])
    assert all(valid("size", v) for v in ["64m", "1g", "512k", "100b", "1gb", "1024", 4096])
    assert not any(valid("size", v) for v in ["64 m", "1x", "m", -1])
    assert all(valid("port", v) for v in [80, "80", "8080:80", "127.0.0.1:8080:80/udp", "[::1]:80:80", "127.0.0.1::80"])
    assert not any(valid("port", v) for v in [0, 70000, "80:80:80:80", "80/icmp", "host:80:80"])
    assert all(valid("name", v) for v in ["web", "w1", "my_app.v2-x"])
    assert not any(valid("name", v) for v in ["w", "-web", ".web", "my app", "web/1"])
