"""Checks across files: unique names, declared references, no dependency cycles."""

from pathlib import Path

from reconciler.desired.loader import combine, load_file
from reconciler.fields import Dependency
from reconciler.model import ContainerSpec, Source
from tests.unit.desired import errors, load_texts, write


def test_a_name_declared_in_two_files_names_both(tmp_path):
    files = {"a.toml": "[container.web]\nimage = 'x'\n", "b/c.toml": "# again\n[container.web]\nimage = 'y'\n"}
    assert errors(tmp_path, files) == ["b/c.toml:2: container.web: container 'web' is also declared in a.toml:1"]


def test_the_same_name_in_different_kinds_is_fine(tmp_path):
    assert errors(tmp_path, {"a.toml": "[container.web]\nimage = 'x'\n[network.web]\n[volume.web]\n"}) == []


def test_an_undeclared_network_suggests_a_declared_one(tmp_path):
    files = {"net.toml": "[network.front]\n", "web.toml": "[container.web]\nimage = 'x'\nnetworks = ['frnt']\n"}
    assert errors(tmp_path, files) == [
        "web.toml:3: container.web.networks.frnt: network 'frnt' is not declared (did you mean 'front'?)"
    ]


def test_waiting_for_health_of_a_container_without_healthcheck_is_an_error(tmp_path):
    files = {
        "db.toml": "[container.db]\nimage = 'x'\n",
        "web.toml": "[container.web]\nimage = 'x'\ndepends_on = { db = 'healthy' }\n",
    }
    assert errors(tmp_path, files) == [
        "web.toml:3: container.web.depends_on.db: 'db' has no healthcheck, so it never becomes healthy"
    ]


def test_a_dependency_on_a_stopped_container_is_an_error_whatever_its_condition(tmp_path):
    files = {
        "db.toml": "[container.db]\nimage = 'x'\nstate = 'stopped'\nhealthcheck = { test = 'true' }\n",
        "web.toml": "[container.web]\nimage = 'x'\ndepends_on = ['db']\n"
                    "[container.api]\nimage = 'x'\ndepends_on = { db = 'healthy' }\n"
                    "[container.job]\nimage = 'x'\nstate = 'completed'\ndepends_on = { db = 'completed' }\n",
    }
    assert errors(tmp_path, files) == [
        f"web.toml:{line}: container.{name}.depends_on.db: 'db' is declared state = \"stopped\": it is never"
        f" started, so the condition {condition} is never met"
        for line, name, condition in ((3, "web", "started"), (6, "api", "healthy"), (10, "job", "completed"))
    ]


def test_a_stopped_container_may_depend_on_a_stopped_one_as_it_waits_for_nothing(tmp_path):
    files = {"a.toml": "[container.db]\nimage = 'x'\nstate = 'stopped'\n"
                       "[container.web]\nimage = 'x'\nstate = 'stopped'\ndepends_on = ['db']\n"}
    assert errors(tmp_path, files) == []


def test_an_undeclared_volume_in_a_mount_is_an_error(tmp_path):
    files = {
        "v.toml": "[volume.web-data]\n",
        "web.toml": "[container.web]\nimage = 'x'\nmounts = ['/a:/a', 'webdata:/srv']\n",
    }
    assert errors(tmp_path, files) == [
        "web.toml:3: container.web.mounts[1]: volume 'webdata' is not declared (did you mean 'web-data'?)"
    ]


def test_undeclared_containers_in_depends_on_volumes_from_and_network_mode(tmp_path):
    text = """\
        [container.web]
        image = 'x'
        depends_on = { dbb = 'healthy' }
        volumes_from = ['data:ro']
        [container.side]
        image = 'x'
        network_mode = 'container:wbe'
        [container.db]
        image = 'x'
        """
    assert errors(tmp_path, {"a.toml": text}) == [
        "a.toml:3: container.web.depends_on.dbb: container 'dbb' is not declared (did you mean 'db'?)",
        "a.toml:4: container.web.volumes_from[0]: container 'data' is not declared",
        "a.toml:7: container.side.network_mode: container 'wbe' is not declared (did you mean 'web'?)",
    ]


def test_a_dependency_cycle_is_an_error_naming_the_cycle(tmp_path):
    files = {
        "a.toml": "[container.aa]\nimage = 'x'\ndepends_on = ['bb']\n",
        "b.toml": "[container.bb]\nimage = 'x'\nvolumes_from = ['cc']\n",
        "c.toml": "[container.cc]\nimage = 'x'\nnetwork_mode = 'container:aa'\n",
    }
    assert errors(tmp_path, files) == ["a.toml:3: container.aa.depends_on.bb: dependency cycle: aa -> bb -> cc -> aa"]


def test_a_container_depending_on_itself_is_a_cycle(tmp_path):
    assert errors(tmp_path, {"a.toml": "[container.aa]\nimage = 'x'\ndepends_on = ['aa']\n"}) == [
        "a.toml:3: container.aa.depends_on.aa: dependency cycle: aa -> aa"
    ]


def test_a_fixed_address_needs_a_subnet_that_holds_it(tmp_path):
    files = {
        "n.toml": "[network.auto]\n[network.fixed]\nsubnet = '10.0.0.0/24'\n",
        "c.toml": """\
            [container.web]
            image = 'x'
            networks = { auto = { ipv4_address = '10.0.0.5' }, fixed = { ipv4_address = '10.9.0.5' } }
            """,
    }
    assert errors(tmp_path, files) == [
        "c.toml:3: container.web.networks.auto.ipv4_address: a fixed address needs a subnet on network 'auto'",
        "c.toml:3: container.web.networks.fixed.ipv4_address: 10.9.0.5 is not inside fixed's subnet 10.0.0.0/24",
    ]


def test_cross_file_checks_wait_until_every_file_is_valid_on_its_own(tmp_path):
    files = {"net.toml": "[network.front\n", "web.toml": "[container.web]\nimage = 'x'\nnetworks = ['front']\n"}
    assert errors(tmp_path, files) == [
        "net.toml:1: TOML syntax error: Expected ']' at the end of a table declaration (column 15)"
    ]


def test_combine_works_on_any_set_of_file_decls_and_skips_invalid_ones(tmp_path):
    write(tmp_path, {"a.toml": "[network.front]\n", "b.toml": "[container.web]\nimage = 'x'\nnetworks = ['front']\n",
                     "c.toml": "[volume.data"})
    a, b, c = (load_file(tmp_path, name, {}) for name in ("a.toml", "b.toml", "c.toml"))
    state, problems = combine([a, b, c])
    assert problems == () and set(state.networks) == {"front"} and set(state.containers) == {"web"}
    state, problems = combine([b])
    assert [str(p) for p in problems] == ["b.toml:3: container.web.networks.front: network 'front' is not declared"]


def test_combine_places_problems_of_hand_made_decls_at_their_header_line():
    from reconciler.desired.loader import FileDecl

    web = ContainerSpec("web", "x", source=Source("w.toml", 7), depends_on=(Dependency("db"),))
    _, problems = combine([FileDecl("w.toml", (web,), ())])
    assert [str(p) for p in problems] == ["w.toml:7: container.web.depends_on.db: container 'db' is not declared"]


def test_the_state_maps_are_sorted_by_name(tmp_path):
    state = load_texts(tmp_path, {"a.toml": "[network.zz]\n[network.aa]\n", "b.toml": "[network.mm]\n"}).state
    assert list(state.networks) == ["aa", "mm", "zz"]


def test_load_file_is_self_contained(tmp_path):
    write(tmp_path, {"web.toml": "[container.web]\nimage = 'x'\nnetworks = ['nowhere']\n"})
    decl = load_file(Path(tmp_path), "web.toml", {})
    assert decl.valid and [s.name for s in decl.specs] == ["web"]
