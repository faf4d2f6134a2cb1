"""A fleet from one directory: `hosts` patterns, a host's view and its references, the inventory."""

from __future__ import annotations

import dataclasses

import pytest

from reconciler.commands.render import plan_text
from reconciler.converge import make_plan
from reconciler.desired.hosts import check_view, matches, named_hosts, placer, read_inventory, select, unmatched
from reconciler.desired.problems import LoadFailure
from reconciler.model import ContainerSpec, DesiredState, NetworkSpec, Source, VolumeSpec, spec_hash
from runtime.base import ObservedState
from tests.unit.desired import errors, load_texts, write
from tests.unit.test_diff_plan import IMAGE, IMAGE_ID, NS, running

FLEET = """
[network.front]
hosts = ["web-*"]

[volume.data]
hosts = ["db-1"]

[container.web]
image = "demo"
hosts = ["web-*"]
networks = ["front"]

[container.db]
image = "demo"
hosts = ["db-1"]
mounts = ["data:/var/lib/db"]

[container.log]
image = "demo"
"""


def fleet(root, text: str = FLEET) -> DesiredState:
    result = load_texts(root, {"fleet.toml": text})
    assert result.errors == (), [str(e) for e in result.errors]
    return result.state


def names(state: DesiredState) -> list[str]:
    return sorted(spec.key for spec in state.specs())


def view_problems(root, text: str, host_id: str) -> list[str]:
    return [str(p) for p in check_view(fleet(root, text), host_id, placer(root))]


# -- matching ---------------------------------------------------------------------------------


def test_a_resource_without_hosts_patterns_is_for_every_host():
    assert matches((), "any-host")


def test_a_pattern_is_a_glob_matched_against_the_whole_host_id():
    assert [matches(("web-*",), h) for h in ("web-1", "web-", "db-1", "my-web-1")] == [True, True, False, False]


def test_patterns_are_case_sensitive():
    assert not matches(("web-*",), "WEB-1")


def test_one_matching_pattern_of_several_is_enough():
    assert matches(("web-*", "db-1"), "db-1")


def test_question_marks_and_sets_match_one_character():
    assert [matches(("web-?", "db-[12]"), h) for h in ("web-1", "web-10", "db-2", "db-3")] == [True, False, True, False]


# -- a host's view ----------------------------------------------------------------------------


def test_a_hosts_view_holds_its_own_resources_and_those_for_every_host(tmp_path):
    view = select(fleet(tmp_path), "web-2")
    assert names(view) == ["container/log", "container/web", "network/front"]


def test_another_hosts_view_holds_other_resources_from_the_same_files(tmp_path):
    view = select(fleet(tmp_path), "db-1")
    assert names(view) == ["container/db", "container/log", "volume/data"]


def test_a_view_that_leaves_out_a_container_names_its_host(tmp_path):
    assert select(fleet(tmp_path), "db-1").selected_for == "db-1"


def test_a_view_that_leaves_out_no_container_names_no_host(tmp_path):
    state = fleet(tmp_path, '[network.front]\nhosts = ["web-*"]\n[container.log]\nimage = "demo"\n')
    assert select(state, "db-1").selected_for is None


def test_the_specs_of_a_view_are_those_of_the_whole_state(tmp_path):
    state = fleet(tmp_path)
    assert select(state, "db-1").containers["db"] is state.containers["db"]


def test_the_host_ids_written_literally_are_those_without_glob_characters(tmp_path):
    assert named_hosts(fleet(tmp_path)) == ("db-1",)


def test_a_resource_whose_patterns_match_no_host_of_the_inventory_is_found(tmp_path):
    assert [spec.key for spec in unmatched(fleet(tmp_path), ["web-1", "mail-1"])] == ["volume/data", "container/db"]


# -- references within a view -----------------------------------------------------------------


@pytest.mark.parametrize(("added", "host_id", "problem"), [
    ('networks = ["front"]\n', "db-1", "fleet.toml:19: container.log.networks.front: on host 'db-1': network 'front' "
     'is not for this host (hosts = ["web-*"], at fleet.toml:1)'),
    ('mounts = [\n  "/tmp:/tmp",\n  "data:/data",\n]\n', "web-1", "fleet.toml:21: container.log.mounts[1]: on host "
     "'web-1': volume 'data' is not for this host (hosts = [\"db-1\"], at fleet.toml:4)"),
    ('depends_on = ["db"]\n', "web-1", "fleet.toml:19: container.log.depends_on.db: on host 'web-1': container 'db' "
     'is not for this host (hosts = ["db-1"], at fleet.toml:12)'),
])
def test_a_reference_to_a_resource_not_for_the_host_is_an_error_of_that_hosts_view_at_the_reference(
    tmp_path, added, host_id, problem
):
    assert view_problems(tmp_path, FLEET + added, host_id) == [problem]


def test_the_same_reference_is_no_error_on_a_host_the_network_is_for(tmp_path):
    assert view_problems(tmp_path, FLEET + 'networks = ["front"]\n', "web-1") == []


def test_the_view_of_a_fleet_whose_references_all_hold_has_no_problem(tmp_path):
    assert [view_problems(tmp_path, FLEET, host) for host in ("web-1", "db-1", "mail-1")] == [[], [], []]


# -- the hosts key ----------------------------------------------------------------------------


def test_hosts_patterns_are_kept_on_every_kind_of_resource(tmp_path):
    state = fleet(tmp_path)
    assert (state.containers["web"].hosts, state.networks["front"].hosts, state.volumes["data"].hosts) == (
        ("web-*",), ("web-*",), ("db-1",))


def test_hosts_must_be_a_list_of_non_empty_strings(tmp_path):
    assert errors(tmp_path, {"a.toml": '[container.web]\nimage = "demo"\nhosts = ["web-1", ""]\n'
                                       '[network.front]\nhosts = "web-1"\n[volume.data]\nhosts = []\n'}) == [
        "a.toml:3: container.web.hosts[1]: must not be empty",
        'a.toml:5: network.front.hosts: expected a list of host id patterns such as "web-*" or "db-1", got a string',
        "a.toml:7: volume.data.hosts: must not be empty",
    ]


@pytest.mark.parametrize("spec", [
    ContainerSpec(name="web", image=IMAGE, source=Source("a.toml", 1)),
    NetworkSpec(name="front", source=Source("a.toml", 1), subnet="10.9.0.0/24"),
    VolumeSpec(name="data", source=Source("a.toml", 1), driver="local"),
])
def test_the_spec_hash_is_the_same_with_and_without_hosts(spec):
    assert spec_hash(dataclasses.replace(spec, hosts=("web-*", "db-1"))) == spec_hash(spec)


def test_a_file_that_adds_hosts_to_a_resource_keeps_its_hash(tmp_path):
    body = '[container.web]\nimage = "demo"\nenv = { A = "1" }\n'
    before = spec_hash(fleet(tmp_path / "a", body).containers["web"])
    assert spec_hash(fleet(tmp_path / "b", body + 'hosts = ["web-*"]\n').containers["web"]) == before


# -- an empty view in a plan ------------------------------------------------------------------


def test_an_empty_view_with_owned_containers_blocks_every_removal_naming_the_host(tmp_path):
    state = fleet(tmp_path)
    observed = ObservedState(containers=(running(state.containers["web"], "1"),), images={IMAGE: IMAGE_ID})
    plan = make_plan(select(DesiredState(containers={"web": state.containers["web"]}), "wbe-1"), observed, NS)
    assert plan_text(plan).splitlines()[:2] == [
        "- remove container web (no longer declared; would remove every owned container: the selection for host "
        "'wbe-1' is empty)",
        "    blocked: refused: the selection for host 'wbe-1' is empty: the files declare containers for other hosts "
        "only (a mistyped --host-id?); pass --allow-empty to remove them",
    ]


# -- the inventory ----------------------------------------------------------------------------


def inventory(tmp_path, text: str) -> str:
    path = tmp_path / "inventory.toml"
    path.write_text(text)
    return str(path)


def test_an_inventory_lists_the_host_ids_of_the_fleet(tmp_path):
    assert read_inventory(inventory(tmp_path, 'hosts = ["web-1", "web-2", "db-1"]\n')) == ("web-1", "web-2", "db-1")


@pytest.mark.parametrize(("text", "problem"), [
    ('hosts = [\n  "web-1",\n  "web-*",\n]\n', ":3: hosts[1]: a host id is a non-empty string without * ? or ["),
    ('hosts = [\n  "web-1",\n  "",\n]\n', ":3: hosts[1]: a host id is a non-empty string without * ? or ["),
    ('hosts = ["web-1",\n "web-1"]\n', ":2: hosts[1]: 'web-1' is listed twice"),
    ('# the fleet\nhost = ["web-1"]\n', ':2: host: unknown key: an inventory holds only hosts = ["HOST-ID", ...]'),
    ("hosts = \"web-1\"\n", ':1: hosts: missing or not a list: write hosts = ["web-1", "db-1"]'),
    ('\nhosts = ["web-1" "db-1"]\n', ":2: TOML syntax: Unclosed array"),
])
def test_a_bad_inventory_is_refused_at_its_file_and_line(tmp_path, text, problem):
    path = inventory(tmp_path, text)
    with pytest.raises(LoadFailure) as raised:
        read_inventory(path)
    assert str(raised.value.problem) == path + problem


def test_an_unreadable_inventory_is_refused_naming_it(tmp_path):
    with pytest.raises(LoadFailure) as raised:
        read_inventory(str(tmp_path / "none.toml"))
    assert str(raised.value.problem) == f"{tmp_path / 'none.toml'}: cannot read: No such file or directory"


def test_an_inventory_is_read_whatever_the_directory_it_is_in(tmp_path):
    write(tmp_path, {"ops/fleet.toml": 'hosts = ["web-1"]\n'})
    assert read_inventory(str(tmp_path / "ops" / "fleet.toml")) == ("web-1",)


# -- the agent --------------------------------------------------------------------------------

WEB_AND_DB = {"fleet.toml": '[container.web]\nimage = "demo"\nhosts = ["web-*"]\n'
                            '[container.db]\nimage = "demo"\nhosts = ["db-1"]\n'}


def test_an_agent_with_a_host_id_converges_that_hosts_view_only(agent, engine, root):
    write(root, WEB_AND_DB)
    agent.host_id = "web-1"
    agent.run_pass()
    assert [c.name for c in engine.containers.values()] == ["web"]
    assert [r["name"] for r in agent.status.snapshot()["resources"]] == ["web"]


def test_an_agent_with_a_mistyped_host_id_removes_nothing_and_its_status_names_the_host(agent, engine, root):
    write(root, WEB_AND_DB)
    agent.host_id = "web-1"
    agent.run_pass()
    agent.host_id = "wbe-1"
    agent.run_pass()
    assert [c.name for c in engine.containers.values()] == ["web"]
    (web,) = agent.status.snapshot()["resources"]
    assert (web["state"], "the selection for host 'wbe-1' is empty" in web["message"]) == ("blocked", True)
