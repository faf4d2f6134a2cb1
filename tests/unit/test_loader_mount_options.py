"""The options of a long-form mount in our flat spelling and Compose's nested one (`bind = { ... }`,
`volume = { ... }`, `tmpfs = { ... }`), each for its own mount type, and never both spellings."""

import pytest

from reconciler.fields import Mount
from tests.unit.desired import container, errors


def _mount(tmp_path, table: str) -> Mount:
    return container(tmp_path, f"mounts = [{{ {table} }}]\n[volume.vol]").mounts[0]


def _errors(tmp_path, table: str) -> list[str]:
    return errors(tmp_path, {"a.toml": f"[container.web]\nimage = 'demo'\nmounts = [{{ {table} }}]\n"})


def test_a_tmpfs_mount_takes_size_and_mode_in_either_spelling(tmp_path):
    flat = _mount(tmp_path, "type = 'tmpfs', target = '/t', tmpfs_size = '16m', mode = '1777'")
    nested = _mount(tmp_path, "type = 'tmpfs', target = '/t', tmpfs = { size = '16m', mode = '1777' }")
    assert (flat.tmpfs_size, flat.tmpfs_mode) == (nested.tmpfs_size, nested.tmpfs_mode) == (16 * 1024**2, 0o1777)


def test_a_tmpfs_mode_may_be_a_toml_octal_number(tmp_path):
    assert _mount(tmp_path, "type = 'tmpfs', target = '/t', mode = 0o700").tmpfs_mode == 0o700


def test_a_volume_mount_takes_nocopy_subpath_and_labels_in_either_spelling(tmp_path):
    flat = _mount(tmp_path, "type = 'volume', source = 'vol', target = '/t', nocopy = true, subpath = 'a/b',"
                            " labels = { team = 'x' }")
    nested = _mount(tmp_path, "type = 'volume', source = 'vol', target = '/t', volume = { nocopy = true,"
                              " subpath = 'a/b', labels = ['team=x'] }")
    assert flat == nested
    assert (flat.nocopy, flat.subpath, flat.labels) == (True, "a/b", {"team": "x"})


def test_a_bind_mount_takes_propagation_in_either_spelling_and_compose_create_host_path(tmp_path):
    flat = _mount(tmp_path, "type = 'bind', source = '/srv', target = '/t', propagation = 'rshared'")
    nested = _mount(tmp_path, "type = 'bind', source = '/srv', target = '/t', bind = { propagation = 'rshared',"
                              " create_host_path = true }")
    assert (flat.propagation, flat.create_host_path) == ("rshared", False)
    assert (nested.propagation, nested.create_host_path) == ("rshared", True)


def test_two_spellings_of_one_option_in_one_mount_is_an_error_naming_both(tmp_path):
    assert _errors(tmp_path, "type = 'tmpfs', target = '/t', tmpfs_size = '1m', tmpfs = { size = '2m' }") == [
        "a.toml:3: container.web.mounts[0]: tmpfs_size and tmpfs.size are two spellings of one option: keep one"]


@pytest.mark.parametrize("table, message", [
    ("type = 'bind', source = '/srv', target = '/t', nocopy = true", "nocopy is only for volume mounts"),
    ("type = 'volume', source = 'vol', target = '/t', mode = '700'", "mode is only for tmpfs mounts"),
    ("type = 'volume', source = 'vol', target = '/t', tmpfs_size = '1m'", "tmpfs_size is only for tmpfs mounts"),
    ("type = 'tmpfs', target = '/t', propagation = 'shared'", "propagation is only for bind mounts"),
    ("type = 'tmpfs', target = '/t', volume = { nocopy = true }", "volume options are only for volume mounts"),
])
def test_an_option_of_another_mount_type_is_an_error(tmp_path, table, message):
    assert _errors(tmp_path, table) == [f"a.toml:3: container.web.mounts[0]: {message}"]


@pytest.mark.parametrize("subpath", ["/abs", "a/../../b"])
def test_a_subpath_leading_out_of_the_volume_is_an_error(tmp_path, subpath):
    assert _errors(tmp_path, f"type = 'volume', source = 'vol', target = '/t', subpath = '{subpath}'") == [
        f"a.toml:3: container.web.mounts[0]: subpath '{subpath}' must be a relative path inside the volume,"
        " without '..'"]


def test_a_mount_without_options_keeps_its_defaults(tmp_path):
    assert _mount(tmp_path, "type = 'tmpfs', target = '/t'") == Mount("tmpfs", "/t")
