"""Every number has a finite range checked at validation, so nothing that validates is refused by
the engine (or crashes before reaching it) for its size, sign or kind."""

import pytest

from tests.unit.desired import errors

_LONGEST = "must be at most 2562047h47m16s, the engine's longest duration (int64 nanoseconds)"
_LARGEST = "must be at most 9223372036854775807 bytes, the engine's largest size (int64)"


def _container(body: str) -> dict[str, str]:
    return {"a.toml": "[container.web]\nimage = 'demo'\n" + body + "\n"}


@pytest.mark.parametrize("key", ["interval", "timeout", "start_period"])
def test_healthcheck_durations_under_1ms_are_refused_in_every_field(tmp_path, key):
    assert errors(tmp_path, _container(f"healthcheck = {{ test = 'true', {key} = '500us' }}")) == [
        f"a.toml:3: container.web.healthcheck.{key}: must be at least 1ms: the engine refuses shorter durations"
    ]


def test_a_healthcheck_interval_or_timeout_of_0_is_refused_rather_than_becoming_the_engine_default(tmp_path):
    body = "healthcheck = { test = 'true', interval = '0s', timeout = 0, start_period = '0s' }"
    assert errors(tmp_path, _container(body)) == [
        "a.toml:3: container.web.healthcheck.interval: 0 would make the engine use its default (30s):"
        " leave interval out for that, or give at least 1ms",
        "a.toml:3: container.web.healthcheck.timeout: 0 would make the engine use its default (30s):"
        " leave timeout out for that, or give at least 1ms",
    ]


def test_healthcheck_retries_of_0_is_refused_rather_than_becoming_the_engine_default(tmp_path):
    assert errors(tmp_path, _container("healthcheck = { test = 'true', retries = 0 }")) == [
        "a.toml:3: container.web.healthcheck.retries: 0 would make the engine use its default (3):"
        " leave retries out for that, or give at least 1"
    ]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "+nan"])
def test_nan_and_infinities_are_refused_wherever_a_number_is_expected(tmp_path, value):
    shown = value.lstrip("+")
    assert errors(tmp_path, _container(f"resources = {{ cpus = {value} }}\nlabels = {{ x = {value} }}")) == [
        f"a.toml:3: container.web.resources.cpus: expected a number, got {shown}",
        f"a.toml:4: container.web.labels.x: expected a string, number or boolean, got {shown}",
    ]


def test_a_float_is_never_taken_for_an_integer(tmp_path):
    body = "ports = [80.0]\nstop_timeout = 5.0\nhealthcheck = { test = 'true', retries = 3.0 }"
    assert errors(tmp_path, _container(body)) == [
        'a.toml:3: container.web.ports[0]: expected a port: "[ip:][host:]container[/protocol]", a container port'
        " number, or a table with target, got a float",
        'a.toml:4: container.web.stop_timeout: expected a duration such as "5s", "1m30s", "500ms", or a whole'
        " number of seconds, got a float",
        "a.toml:5: container.web.healthcheck.retries: expected an integer, got a float",
    ]


def test_cpus_from_the_kernels_smallest_quota_to_an_int64_of_nanocpus(tmp_path):
    assert errors(tmp_path / "a", _container("resources = { cpus = 0.005 }")) == [
        "a.toml:3: container.web.resources.cpus: 0.005 is less than the minimum 0.01"
    ]
    assert errors(tmp_path / "b", _container("resources = { cpus = 1e10 }")) == [
        "a.toml:3: container.web.resources.cpus: 10000000000.0 is more than the maximum 9223372036"
    ]
    assert errors(tmp_path / "c", _container("resources = { cpus = 0.01 }")) == []


def test_sizes_and_durations_beyond_the_engines_int64_are_refused(tmp_path):
    body = ("resources = { memory = 9223372036854775808, shm_size = '99999999999g' }\n"
            "stop_timeout = '2562048h'\nhealthcheck = { test = 'true', interval = 9999999999 }\n"
            "update = { timeout = '" + "9" * 400 + "h' }")
    assert errors(tmp_path, _container(body)) == [
        f"a.toml:3: container.web.resources.memory: {_LARGEST}",
        f"a.toml:3: container.web.resources.shm_size: {_LARGEST}",
        f"a.toml:4: container.web.stop_timeout: {_LONGEST}",
        f"a.toml:5: container.web.healthcheck.interval: {_LONGEST}",
        f"a.toml:6: container.web.update.timeout: {_LONGEST}",
    ]


def test_integers_beyond_int64_are_refused(tmp_path):
    body = ("resources = { pids_limit = 9223372036854775808 }\nulimits = { nofile = 9223372036854775808 }\n"
            "healthcheck = { test = 'true', retries = 9223372036854775808 }")
    big = "9223372036854775808 is more than the maximum 9223372036854775807"
    assert errors(tmp_path / "a", _container(body)) == [
        f"a.toml:3: container.web.resources.pids_limit: {big}",
        f"a.toml:4: container.web.ulimits.nofile: {big}",
        f"a.toml:5: container.web.healthcheck.retries: {big}",
    ]
    assert errors(tmp_path / "b", _container("restart = 'on-failure:9223372036854775808'")) == [
        "a.toml:3: container.web.restart: the retry count must be at most 9223372036854775807 (int64)"
    ]


def test_a_memory_reservation_under_6m_is_refused_as_the_engine_does(tmp_path):
    assert errors(tmp_path, _container("resources = { memory_reservation = '4m' }")) == [
        "a.toml:3: container.web.resources.memory_reservation: must be 0 (none) or at least 6m: the engine refuses less"
    ]


def test_an_update_timeout_of_0_is_refused(tmp_path):
    assert errors(tmp_path, _container("update = { timeout = '0s' }")) == [
        "a.toml:3: container.web.update.timeout: must be more than 0"
    ]
