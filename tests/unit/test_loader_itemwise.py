"""Every bad item of a list of Compose's container keys is reported at once: an item that fails
the schema does not leave the other items of its list unchecked (docs/format.md)."""

import pytest

from tests.unit.desired import errors


def _errors(tmp_path, body: str) -> list[str]:
    return errors(tmp_path, {"a.toml": f"[container.web]\nimage = 'demo'\n{body}\n"})


def test_a_search_domain_next_to_an_item_of_the_wrong_type_is_still_checked(tmp_path):
    assert _errors(tmp_path, 'dns_search = ["exa mple.com", 5]') == [
        "a.toml:3: container.web.dns_search[0]: 'exa mple.com' is not a search domain: expected a domain name such"
        " as example.com, or '.'",
        "a.toml:3: container.web.dns_search[1]: expected a string, got an integer"]


def test_every_bad_exposed_port_is_reported(tmp_path):
    assert [line.split(": ", 2)[1] for line in _errors(tmp_path, 'expose = [0, "70000", "abc/tcp", "53/icmp", "10-5"]')
            ] == [f"container.web.expose[{index}]" for index in range(5)]


@pytest.mark.parametrize("key, items, bad", [
    ("group_add", '["a:b", 1.5, "audio"]', [0, 1]),
    ("dns_opt", '["a b", 4, "ndots:2"]', [0, 1]),
    ("device_cgroup_rules", '["x", 4, "c 1:3 mr"]', [0, 1]),
    ("tmpfs", '["/x:foo", 3, "/y"]', [0, 1]),
    ("gpus", '[{ count = 1, device_ids = ["0"] }, { count = "some" }, { count = 1 }]', [0, 1]),
])
def test_an_item_failing_the_schema_leaves_the_other_items_of_its_list_checked(tmp_path, key, items, bad):
    paths = [line.split(": ", 2)[1] for line in _errors(tmp_path, f"{key} = {items}")]
    assert [path.split("]")[0] + "]" for path in paths] == [f"container.web.{key}[{index}]" for index in bad]


def test_a_repeated_tmpfs_path_is_reported_at_its_own_index_after_a_failed_item(tmp_path):
    assert _errors(tmp_path, 'tmpfs = [3, "/x", "/x"]') == [
        "a.toml:3: container.web.tmpfs[0]: expected an absolute path, then :options, got an integer",
        "a.toml:3: container.web.tmpfs[2]: /x is already a tmpfs path"]


# -- what the schema's messages say is expected ------------------------------------------------


@pytest.mark.parametrize("body, message", [
    ('gpus = "some"', 'gpus: "some" is not "all" or a list of GPU requests ({ driver, count, device_ids,'
                      ' capabilities, options })'),
    ("gpus = 2", 'gpus: expected "all" or a list of GPU requests ({ driver, count, device_ids, capabilities,'
                 " options }), got an integer"),
    ("gpus = [{ count = -2 }]", 'gpus[0].count: -2 is not -1 or "all" (every GPU), or a number at least 1'),
    ('gpus = [{ count = "some" }]', 'gpus[0].count: "some" is not -1 or "all" (every GPU), or a number at least 1'),
    ('mounts = [{ type = "tmpfs", target = "/t", mode = "999" }]',
     'mounts[0].mode: "999" is not an octal mode ("1777", or a number such as 0o1777)'),
    ('mounts = [{ type = "tmpfs", target = "/t", tmpfs = { mode = "999" } }]',
     'mounts[0].tmpfs.mode: "999" is not an octal mode ("1777", or a number such as 0o1777)'),
    ('tmpfs = "run"', 'tmpfs: "run" is not an absolute path (then :options), or a list of them'),
])
def test_a_schema_error_says_what_is_expected(tmp_path, body, message):
    assert _errors(tmp_path, body) == [f"a.toml:3: container.web.{message}"]
