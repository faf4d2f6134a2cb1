"""Compose's string form of a number (`cpus = "0.5"`, `cpu_shares = "512"`; compose-spec's schema
takes `number|string` for these keys): the same spec and spec hash as the number, checked as the
number is, and text that is no number an error at its key."""

from __future__ import annotations

import pytest

from reconciler.model import spec_hash
from tests.unit.desired import container, errors


def _errors(tmp_path, body: str) -> list[str]:
    return errors(tmp_path, {"a.toml": f"[container.web]\nimage = 'demo'\n{body}\n"})


@pytest.mark.parametrize(("text", "number"), [
    ('cpus = "0.5"', "cpus = 0.5"),
    ('cpus = "2"', "cpus = 2"),
    ('cpu_shares = "512"', "cpu_shares = 512"),
    ('cpu_period = "100000"', "cpu_period = 100000"),
    ('cpu_quota = "-1"', "cpu_quota = -1"),
    ('cpu_quota = "50000"', "cpu_quota = 50000"),
    ('pids_limit = "100"', "pids_limit = 100"),
    ('mem_swappiness = "10"', "mem_swappiness = 10"),
    ('oom_score_adj = "-10"', "oom_score_adj = -10"),
    ('memswap_limit = "-1"', "memswap_limit = -1"),
    ('blkio_config = { weight = "300" }', "blkio_config = { weight = 300 }"),
    ('blkio_config = { weight_device = [{ path = "/dev/sda", weight = "400" }] }',
     'blkio_config = { weight_device = [{ path = "/dev/sda", weight = 400 }] }'),
    ('blkio_config = { device_read_iops = [{ path = "/dev/sda", rate = "100" }] }',
     'blkio_config = { device_read_iops = [{ path = "/dev/sda", rate = 100 }] }'),
    ('ulimits = { nproc = "100", nofile = { soft = "1024", hard = "2048" } }',
     "ulimits = { nproc = 100, nofile = { soft = 1024, hard = 2048 } }"),
    ('healthcheck = { test = "true", retries = "5" }', 'healthcheck = { test = "true", retries = 5 }'),
    ('resources = { cpus = "1.5", pids_limit = "50" }', "resources = { cpus = 1.5, pids_limit = 50 }"),
])
def test_the_text_of_a_number_gives_the_spec_and_hash_of_the_number(tmp_path, text, number):
    from_text, from_number = container(tmp_path / "text", text), container(tmp_path / "number", number)
    assert from_text == from_number
    assert spec_hash(from_text) == spec_hash(from_number)


def test_an_interpolated_number_is_taken_as_the_number(tmp_path):
    spec = container(tmp_path, 'cpus = "${CPUS:-0.5}"\ncpu_shares = "${SHARES}"\n', environ={"SHARES": "256"})
    assert (spec.resources.cpus, spec.resources.cpu_shares) == (0.5, 256)


def test_the_text_of_a_number_out_of_range_is_reported_as_the_number_would_be(tmp_path):
    assert _errors(tmp_path, 'mem_swappiness = "200"') == [
        "a.toml:3: container.web.mem_swappiness: 200 is more than the maximum 100"]


def test_the_text_of_a_number_meets_the_checks_joining_two_keys(tmp_path):
    assert _errors(tmp_path, 'cpu_quota = "500"') == [
        "a.toml:3: container.web.cpu_quota: must be at least 1ms (1000), or -1 for no quota: the engine refuses less"]


def test_text_that_is_no_number_is_an_error_at_its_key(tmp_path):
    assert _errors(tmp_path, 'cpus = "half"') == [
        'a.toml:3: container.web.cpus: "half" is not the text of a number (such as "0.5")']


def test_a_fraction_where_a_whole_number_is_wanted_is_an_error_at_its_key(tmp_path):
    assert _errors(tmp_path, 'cpu_shares = "1.5"') == [
        'a.toml:3: container.web.cpu_shares: "1.5" is not the text of a whole number (such as "512")']


def test_a_cfs_key_still_takes_a_duration_and_names_both_forms_when_given_neither(tmp_path):
    assert container(tmp_path, 'cpu_period = "100ms"').resources.cpu_period == 100000
    assert _errors(tmp_path / "bad", 'cpu_quota = "abc"') == [
        'a.toml:3: container.web.cpu_quota: "abc" is not integer microseconds (or their text, "1000") or a duration '
        'such as "100ms"']


def test_memswap_limit_text_that_is_neither_a_size_nor_minus_one_names_both(tmp_path):
    assert _errors(tmp_path, 'memswap_limit = "lots"') == [
        'a.toml:3: container.web.memswap_limit: "lots" is not a size such as "1g", a whole number of bytes, or -1 '
        '(or "-1") for unlimited swap']


def test_a_secret_that_is_no_number_is_not_shown(tmp_path):
    (tmp_path / "env").write_text("CPUS=hunter2\n")
    found = errors(tmp_path / "d", {"a.toml": "[container.web]\nimage = 'demo'\ncpus = '${CPUS}'\n"},
                   env_file=str(tmp_path / "env"))
    assert found == ["a.toml:3: container.web.cpus: (a value from the env file) is not the text of a number (such as "
                     '"0.5")']
