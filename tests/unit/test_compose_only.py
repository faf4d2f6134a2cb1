"""A Compose key without an equivalent here is reported with the reason, not as a bare unknown key."""

import json

from reconciler.desired.compose_only import WHY_NOT, WRITTEN_AS
from reconciler.desired.schema import SCHEMA_PATH
from tests.unit.desired import errors


def test_a_deploy_table_says_its_keys_are_the_containers_own(tmp_path):
    assert errors(tmp_path, {"a.toml": "[container.web]\nimage = 'demo'\ndeploy = { replicas = 2 }\n"}) == [
        "a.toml:3: container.web.deploy: Compose's 'deploy' is written as keys of the container itself "
        "(docs/format.md, Compose keys): replicas, mode, update (update_config), resources (resources.limits and "
        "reservations), restart (restart_policy), hosts (placement); there is no deploy table here"
    ]


def test_container_name_says_the_table_name_is_the_container_name(tmp_path):
    assert errors(tmp_path, {"a.toml": "[container.web]\nimage = 'demo'\ncontainer_name = 'w'\n"}) == [
        "a.toml:3: container.web.container_name: Compose's 'container_name' has no equivalent here: "
        "the table's name is the container's name: [container.NAME]"
    ]


def test_a_compose_services_table_says_how_containers_are_written(tmp_path):
    assert errors(tmp_path, {"a.toml": "[services.web]\nimage = 'demo'\n"}) == [
        "a.toml:1: services: Compose's 'services' is written as [container.NAME] tables here"
    ]


def test_a_network_driver_opts_says_it_is_written_options(tmp_path):
    assert errors(tmp_path, {"a.toml": "[network.front]\ndriver_opts = { mtu = '1400' }\n"}) == [
        "a.toml:2: network.front.driver_opts: Compose's 'driver_opts' is written as options here"
    ]


def test_a_key_compose_does_not_have_still_suggests_the_closest_key(tmp_path):
    assert errors(tmp_path, {"a.toml": "[container.web]\nimage = 'demo'\nimagee = 'x'\n"}) == [
        "a.toml:3: container.web.imagee: unknown key 'imagee' (did you mean 'image'?)"
    ]


def test_no_key_the_schema_knows_is_said_to_have_no_equivalent():
    schema = json.loads(SCHEMA_PATH.read_text())
    known = {"": set(schema["properties"]),
             **{kind: set(schema["$defs"][kind]["properties"]) for kind in ("container", "network", "volume")}}
    listed = {kind: set(WHY_NOT.get(kind, {})) | set(WRITTEN_AS.get(kind, {})) for kind in known}
    assert {kind: listed[kind] & known[kind] for kind in known} == {kind: set() for kind in known}
