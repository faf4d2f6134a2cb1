"""The options of a short-form mount ("/host:/ctr:ro,rslave", "vol:/ctr:nocopy", "/host:/ctr:z"), as
Compose and `docker run -v` take them, and Compose's long-form `consistency`, `bind.selinux` and
`bind.recursive`."""

from __future__ import annotations

import pytest

from reconciler.fields import Mount
from reconciler.model import spec_hash
from tests.unit.desired import container, errors


def _mounts(tmp_path, *written: str) -> tuple[Mount, ...]:
    items = ", ".join(f'"{item}"' for item in written)
    return container(tmp_path, f"volumes = [{items}]\n[volume.vv]").mounts


def _problems(tmp_path, item: str) -> list[str]:
    return errors(tmp_path, {"a.toml": f"[container.web]\nimage = 'demo'\nvolumes = [{item}]\n[volume.vv]\n"})


@pytest.mark.parametrize(("written", "fields"), [
    ("/srv:/a:ro", {"read_only": True}),
    ("/srv:/a:rw", {"read_only": False}),
    ("/srv:/a:ro,rslave", {"read_only": True, "propagation": "rslave"}),
    ("/srv:/a:rshared", {"propagation": "rshared"}),
    ("/srv:/a:z", {"selinux": "z"}),
    ("/srv:/a:ro,Z", {"read_only": True, "selinux": "Z"}),
    ("vv:/a:nocopy", {"nocopy": True}),
    ("vv:/a:ro,nocopy", {"read_only": True, "nocopy": True}),
])
def test_each_short_form_option_sets_its_mount_field(tmp_path, written, fields):
    [mount] = _mounts(tmp_path, written)
    assert {key: getattr(mount, key) for key in fields} == fields


@pytest.mark.parametrize("option", ["cached", "delegated", "consistent"])
def test_the_macos_consistency_options_are_accepted_and_ignored(tmp_path, option):
    assert _mounts(tmp_path / "with", f"/srv:/a:ro,{option}") == _mounts(tmp_path / "without", "/srv:/a:ro")


def test_options_that_are_not_set_leave_the_spec_hash_as_it_was(tmp_path):
    with_rw = container(tmp_path / "a", 'volumes = ["/srv:/a:rw,cached"]')
    assert spec_hash(with_rw) == spec_hash(container(tmp_path / "b", 'volumes = ["/srv:/a"]'))


@pytest.mark.parametrize(("item", "problem"), [
    ('"/srv:/a:nocopy"', "'nocopy' is only for volume mounts"),
    ('"vv:/a:rslave"', "'rslave' is only for bind mounts"),
    ('"vv:/a:z"', "'z' (SELinux relabel) is taken on binds only here: a volume is mounted through the Engine API's "
                  "Mounts, which cannot relabel"),
    ('"/srv:/a:ro,rw"', "'ro,rw' gives read-only twice: keep one"),
    ('"/srv:/a:shared,slave"', "'shared,slave' gives propagation twice: keep one"),
    ('"/srv:/a:z,Z"', "'z,Z' gives selinux twice: keep one"),
])
def test_an_option_for_another_mount_type_or_given_twice_is_an_error_at_the_mount(tmp_path, item, problem):
    assert _problems(tmp_path, item) == [f"a.toml:3: container.web.volumes[0]: {problem}"]


def test_an_unknown_option_is_an_error_naming_the_ones_taken(tmp_path):
    [found] = _problems(tmp_path, '"/srv:/a:bogus"')
    assert found.startswith("a.toml:3: container.web.volumes[0]: 'bogus' is not a mount option: expected ro or rw, ")


def test_a_long_form_bind_takes_selinux_and_ignores_consistency(tmp_path):
    [mount] = container(tmp_path, "mounts = [{ type = 'bind', source = '/srv', target = '/a', "
                                  "bind = { selinux = 'Z' }, consistency = 'delegated' }]").mounts
    assert (mount.selinux, mount.create_host_path) == ("Z", False)


def test_bind_recursive_enabled_is_the_default(tmp_path):
    [mount] = container(tmp_path, "mounts = [{ type = 'bind', source = '/srv', target = '/a', "
                                  "bind = { recursive = 'enabled' } }]").mounts
    assert mount == Mount("bind", "/a", "/srv")


def test_bind_recursive_other_than_enabled_is_refused_with_the_api_it_needs(tmp_path):
    assert _problems(tmp_path, "{ type = 'bind', source = '/srv', target = '/a', bind = { recursive = 'writable' } }") \
        == ['a.toml:3: container.web.volumes[0]: bind.recursive = "writable" is not taken: it needs '
            'BindOptions.ReadOnlyNonRecursive (Engine API 1.44); leave it out (or "enabled", the default: submounts '
            'are bound too)']
