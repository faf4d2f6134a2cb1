"""Compose's profiles (`reconciler.desired.profiles`): which containers are active, the references an
active one may not make, and the plan of a profile deactivated."""

from __future__ import annotations

import pytest

from reconciler.commands.cli import build_parser
from reconciler.control.server import ApiError, _check_profiles
from reconciler.desired.hosts import placer
from reconciler.desired.profiles import check_view, declared, from_environment, parse, select, unknown, views
from reconciler.model import DesiredState, spec_hash
from tests.unit.desired import container, errors, load_texts
from tests.unit.test_diff_plan import db, desired, observed, printed, running, web

FILES = """
[container.web]
image = "demo"

[container.debug]
image = "demo"
profiles = ["debug"]

[container.tools]
image = "demo"
profiles = ["tools", "debug"]
"""


def state_of(root, text: str = FILES) -> DesiredState:
    result = load_texts(root, {"app.toml": text})
    assert result.errors == (), [str(e) for e in result.errors]
    return result.state


def view_problems(root, text: str, given: tuple[str, ...]) -> list[str]:
    return [str(p) for p in check_view(state_of(root, text), given, placer(root))]


# -- the key ----------------------------------------------------------------------------------


def test_profiles_are_loaded_in_the_order_written(tmp_path):
    assert container(tmp_path, 'profiles = ["tools", "debug"]\n').profiles == ("tools", "debug")


def test_profiles_leave_the_spec_hash_as_it_was(tmp_path):
    assert spec_hash(container(tmp_path / "a", 'profiles = ["debug"]\n')) == spec_hash(container(tmp_path / "b", ""))


@pytest.mark.parametrize("name", ["-debug", "d", "de bug", "débug"])
def test_a_profile_name_outside_composes_grammar_is_an_error_at_its_item(tmp_path, name):
    found = errors(tmp_path, {"a.toml": f'[container.web]\nimage = "demo"\nprofiles = ["{name}"]\n'})
    assert len(found) == 1 and found[0].startswith("a.toml:3: container.web.profiles[0]: ")


def test_profiles_on_a_network_are_an_unknown_key_as_in_compose(tmp_path):
    found = errors(tmp_path, {"a.toml": '[network.front]\nprofiles = ["debug"]\n'})
    assert len(found) == 1 and "network.front.profiles: unknown key 'profiles'" in found[0]


# -- names given ------------------------------------------------------------------------------


def test_a_given_name_follows_composes_grammar():
    assert parse("debug_1.x-y") == "debug_1.x-y"
    with pytest.raises(ValueError, match="is not a profile name"):
        parse("-x")


def test_the_environment_names_profiles_separated_by_commas():
    assert from_environment(" debug, tools ,,") == ("debug", "tools")


def test_an_unset_environment_names_no_profile():
    assert from_environment(None) == ()


def test_profile_options_repeat_on_each_command_that_loads_files():
    parser = build_parser()
    for command in ("validate", "plan", "apply", "run"):
        assert parser.parse_args([command, "--profile", "ab", "--profile", "cd"]).profiles == ["ab", "cd"]


# -- a view -----------------------------------------------------------------------------------


def test_without_profiles_only_the_containers_without_profiles_are_active(tmp_path):
    view = select(state_of(tmp_path), ())
    assert (sorted(view.containers), view.inactive) == (["web"], {"debug": ("debug",), "tools": ("tools", "debug")})


def test_one_profile_of_a_container_given_is_enough(tmp_path):
    assert sorted(select(state_of(tmp_path), ("tools",)).containers) == ["tools", "web"]


def test_a_view_keeps_every_network_and_volume(tmp_path):
    state = state_of(tmp_path, FILES + "[network.front]\n[volume.data]\n")
    view = select(state, ())
    assert (list(view.networks), list(view.volumes)) == (["front"], ["data"])


def test_the_profiles_declared_and_those_given_that_none_declares(tmp_path):
    state = state_of(tmp_path)
    assert (declared(state), unknown(state, ("debug", "typo"))) == (("debug", "tools"), ("typo",))


def test_validate_checks_the_view_without_profiles_and_each_profile_alone(tmp_path):
    assert views(state_of(tmp_path)) == [(), ("debug",), ("tools",)]


# -- references -------------------------------------------------------------------------------


@pytest.mark.parametrize(("added", "key"), [
    ('depends_on = ["debug"]\n', "container.web.depends_on.debug"),
    ('volumes_from = ["debug:ro"]\n', "container.web.volumes_from[0]"),
    ('network_mode = "container:debug"\n', "container.web.network_mode"),
])
def test_an_active_container_may_not_reference_an_inactive_one(tmp_path, added, key):
    text = FILES.replace('[container.web]\nimage = "demo"\n', f'[container.web]\nimage = "demo"\n{added}')
    assert view_problems(tmp_path, text, ("tools",)) == [
        f"app.toml:3: {key}: container 'debug' is not active: it is in profiles [\"debug\"] (at app.toml:5), and "
        "the profiles given are tools; give --profile debug, or leave the reference out"]


def test_the_reference_holds_once_the_profile_is_given(tmp_path):
    text = FILES.replace('image = "demo"\n', 'image = "demo"\ndepends_on = ["debug"]\n', 1)
    assert view_problems(tmp_path, text, ("debug",)) == []


def test_an_inactive_container_may_reference_another_inactive_one(tmp_path):
    text = FILES + 'depends_on = ["debug"]\n'
    assert view_problems(tmp_path, text, ()) == []


# -- the plan ---------------------------------------------------------------------------------


def test_a_deactivated_profile_removes_its_containers_with_that_reason_and_nothing_else():
    debug = db(profiles=("debug",))
    both = desired(web(), debug)
    o = observed(running(web(), "1"), running(debug, "2"))
    assert printed(select(both, ()), o) == "- remove container db (profile not active: debug)\nPlan: 1 to remove."


def test_an_activated_profile_creates_its_containers():
    debug = db(profiles=("debug",))
    o = observed(running(web(), "1"))
    assert printed(select(desired(web(), debug), ("debug",)), o).splitlines()[0] == "+ create container db (missing)"


def test_a_view_that_leaves_every_container_inactive_refuses_to_remove_them():
    debug = web(profiles=("debug",), depends_on=())
    o = observed(running(debug, "1"))
    assert printed(select(desired(debug), ()), o).splitlines()[:2] == [
        "- remove container web (profile not active: debug; would remove every owned container: none is active: "
        "debug)",
        "    blocked: refused: every container the files declare is in a profile not given (debug; a missing "
        "--profile?); pass --allow-empty to remove them",
    ]


def test_allow_empty_removes_every_container_of_an_inactive_profile():
    debug = web(profiles=("debug",), depends_on=())
    o = observed(running(debug, "1"))
    assert printed(select(desired(debug), ()), o, allow_empty=True) == (
        "- remove container web (profile not active: debug)\nPlan: 1 to remove.")


# -- an agent's profiles ----------------------------------------------------------------------


def test_a_sync_with_the_agents_profiles_or_none_named_is_taken():
    _check_profiles(["debug"], ("debug",))
    _check_profiles(None, ("debug",))


def test_a_sync_with_other_profiles_than_the_agents_is_refused_with_409():
    with pytest.raises(ApiError) as refused:
        _check_profiles([], ("debug",))
    assert refused.value.code == 409 and "this agent converges the profiles debug, not none" in str(refused.value)
