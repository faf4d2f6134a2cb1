"""Compose's names for our keys (`reconciler.desired.aliases`): each means our key, both names of one
key is an error naming both lines, and every problem in an alias's value is placed at the alias."""

from __future__ import annotations

import pytest

from reconciler.fields import Mount
from reconciler.model import spec_hash
from tests.unit.desired import container, errors

HEAD = '[container.web]\nimage = "localhost/demo:1"\n'


def problems(tmp_path, body: str) -> list[str]:
    return errors(tmp_path, {"a.toml": HEAD + body, "v.toml": "[volume.data]\n"})


# -- pull_policy ------------------------------------------------------------------------------


@pytest.mark.parametrize(("policy", "pull", "interval"), [
    ("always", "always", 0.0),
    ("never", "never", 0.0),
    ("missing", "missing", 0.0),
    ("if_not_present", "missing", 0.0),
    ("daily", "newer", 86400.0),
    ("weekly", "newer", 604800.0),
    ("every_12h", "newer", 43200.0),
    ("every_1h30m", "newer", 5400.0),
    ("every_1d", "newer", 86400.0),
    ("every_2w", "newer", 1209600.0),
    ("every_1w2d3h4m5s", "newer", 7 * 86400 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5.0),
    ("every_1.5h", "newer", 5400.0),
])
def test_each_compose_pull_policy_is_a_pull_and_an_interval(tmp_path, policy, pull, interval):
    spec = container(tmp_path, f'pull_policy = "{policy}"\n')
    assert (spec.pull, spec.pull_interval) == (pull, interval)


def test_pull_policy_build_builds_and_never_pulls(tmp_path):
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "Dockerfile").write_text("FROM scratch\n")
    spec = container(tmp_path, 'pull_policy = "build"\nbuild = { context = "ctx" }\n')
    assert spec.pull == "never" and spec.build is not None


def test_pull_policy_build_without_a_build_is_an_error_at_the_alias(tmp_path):
    assert problems(tmp_path, 'pull_policy = "build"\n') == [
        'a.toml:3: container.web.pull_policy: "build" needs a build table: it builds the image and never pulls it']


def test_every_without_a_duration_is_an_error_at_the_alias(tmp_path):
    assert problems(tmp_path, 'pull_policy = "every_often"\n') == [
        'a.toml:3: container.web.pull_policy: "every_often": every_ needs a duration after it, e.g. every_12h, '
        'every_1d or every_1h30m']


def test_every_zero_is_an_error_at_the_alias(tmp_path):
    assert problems(tmp_path, 'pull_policy = "every_0s"\n') == [
        'a.toml:3: container.web.pull_policy: "every_0s": the interval must be more than 0']


def test_an_unknown_pull_policy_is_reported_once_by_the_schema(tmp_path):
    found = problems(tmp_path, 'pull_policy = "sometimes"\n')
    assert len(found) == 1 and found[0].startswith('a.toml:3: container.web.pull_policy: "sometimes" is not always,')


def test_pull_policy_and_pull_together_are_an_error_naming_both_lines(tmp_path):
    assert problems(tmp_path, 'pull = "always"\n\npull_policy = "always"\n') == [
        "a.toml:5: container.web.pull_policy: pull_policy and pull (line 3) are two names of one key: keep one"]


def test_pull_policy_and_pull_interval_together_are_an_error_naming_both_lines(tmp_path):
    assert ("a.toml:4: container.web.pull_policy: pull_policy and pull_interval (line 3) are two names of one key: "
            "keep one") in problems(tmp_path, 'pull_interval = "1h"\npull_policy = "daily"\n')


def test_pull_policy_and_pull_interval_together_are_that_one_error_only(tmp_path):
    assert problems(tmp_path, 'pull_interval = "1h"\npull_policy = "every_12h"\n') == [
        "a.toml:4: container.web.pull_policy: pull_policy and pull_interval (line 3) are two names of one key: "
        "keep one"]


def test_pull_policy_refresh_is_refused_with_the_reason(tmp_path):
    assert problems(tmp_path, 'pull_policy = "refresh"\n') == [
        "a.toml:3: container.web.pull_policy: \"refresh\" has no meaning yet: Compose's specification names it in "
        'its schema only. Write pull_policy = "every_<duration>" (or pull = "newer" with pull_interval)']


def test_pull_refresh_after_gets_its_reason_rather_than_unknown_key(tmp_path):
    [found] = problems(tmp_path, 'pull_refresh_after = "12h"\n')
    assert found.startswith("a.toml:3: container.web.pull_refresh_after: Compose's 'pull_refresh_after' has no "
                            'equivalent here: it goes with pull_policy = "refresh"')


def test_an_every_interval_longer_than_the_engine_takes_is_an_error_at_the_alias(tmp_path):
    assert problems(tmp_path, 'pull_policy = "every_99999999w"\n') == [
        "a.toml:3: container.web.pull_policy: must be at most 2562047h47m16s, the engine's longest duration (int64 "
        "nanoseconds)"]


def test_the_pull_policy_leaves_the_spec_hash_as_it_was(tmp_path):
    assert spec_hash(container(tmp_path / "a", 'pull_policy = "daily"\n')) == spec_hash(container(tmp_path / "b", ""))


# -- renames ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("alias", "ours"), [
    ('stop_grace_period = "1m"', 'stop_timeout = "1m"'),
    ('mem_limit = "64m"', 'resources = { memory = "64m" }'),
    ('mem_reservation = "32m"', 'resources = { memory_reservation = "32m" }'),
    ("cpus = 0.5", "resources = { cpus = 0.5 }"),
    ("pids_limit = 100", "resources = { pids_limit = 100 }"),
    ('shm_size = "128m"', 'resources = { shm_size = "128m" }'),
    ('environment = { A = "1" }', 'env = { A = "1" }'),
    ('environment = ["A=1"]', 'env = { A = "1" }'),
    ('volumes = ["/data:/srv", { type = "tmpfs", target = "/tmp" }]',
     'mounts = ["/data:/srv", { type = "tmpfs", target = "/tmp" }]'),
])
def test_an_alias_gives_the_same_spec_as_our_name(tmp_path, alias, ours):
    assert container(tmp_path / "a", alias + "\n") == container(tmp_path / "b", ours + "\n")


def test_an_alias_of_one_resource_limit_joins_the_others_written_in_resources(tmp_path):
    spec = container(tmp_path, 'mem_limit = "64m"\nresources = { cpus = 2 }\n')
    assert (spec.resources.memory, spec.resources.cpus) == (64 * 1024**2, 2)


def test_volumes_keep_the_line_of_each_mount(tmp_path):
    spec = container(tmp_path, 'volumes = [\n  "/a:/a",\n  { type = "tmpfs", target = "/t" },\n]\n')
    assert spec.mounts[1] == Mount("tmpfs", "/t", line=6)


@pytest.mark.parametrize(("body", "problem"), [
    ('resources = { memory = "64m" }\nmem_limit = "64m"\n',
     "a.toml:4: container.web.mem_limit: mem_limit and resources.memory (line 3) are two names of one key: keep one"),
    ('stop_timeout = 5\nstop_grace_period = "5s"\n', "a.toml:4: container.web.stop_grace_period: stop_grace_period "
     "and stop_timeout (line 3) are two names of one key: keep one"),
    ('env = { A = "1" }\nenvironment = { A = "1" }\n',
     "a.toml:4: container.web.environment: environment and env (line 3) are two names of one key: keep one"),
    ('mounts = []\nvolumes = []\n',
     "a.toml:4: container.web.volumes: volumes and mounts (line 3) are two names of one key: keep one"),
])
def test_both_names_of_one_key_are_an_error_at_the_alias_naming_both_lines(tmp_path, body, problem):
    assert problems(tmp_path, body) == [problem]


@pytest.mark.parametrize(("body", "problem"), [
    ('mem_limit = "1m"\n', "a.toml:3: container.web.mem_limit: must be at least 6m: the engine refuses less"),
    ('stop_grace_period = "1.5s"\n', "a.toml:3: container.web.stop_grace_period: must be a whole number of seconds"),
    ('environment = { "A=B" = "1" }\n', "a.toml:3: container.web.environment.\"A=B\": a variable name must not hold "
     "'=': the engine would read the name up to it"),
    ('volumes = [\n  "data:/srv",\n  "other:/srv",\n]\n',
     "a.toml:5: container.web.volumes[1]: /srv is already a mount target"),
])
def test_a_problem_the_normaliser_finds_in_an_aliased_value_is_placed_at_the_alias(tmp_path, body, problem):
    found = problems(tmp_path, body)
    assert problem in found


def test_a_value_the_schema_refused_at_the_alias_is_reported_there_once(tmp_path):
    assert problems(tmp_path, "mem_limit = true\n") == [
        'a.toml:3: container.web.mem_limit: expected a size such as "64m", "1g", "512k", "100b", or a whole number '
        "of bytes, got a boolean"]


def test_a_refused_item_of_volumes_is_reported_once_and_the_others_still_checked(tmp_path):
    found = problems(tmp_path, 'volumes = [\n  5,\n  "/rel:relative",\n]\n')
    assert [line.split(": ")[1] for line in found] == ["container.web.volumes[0]", "container.web.volumes[1]"]


def test_a_reference_across_files_through_an_alias_is_placed_at_the_alias(tmp_path):
    found = errors(tmp_path, {"a.toml": HEAD + 'volumes = [\n  "/a:/a",\n  "nothere:/srv",\n]\n'})
    assert found == ["a.toml:5: container.web.volumes[1]: volume 'nothere' is not declared"]


def test_a_bare_variable_name_in_environment_says_how_to_take_it_from_the_environment(tmp_path):
    assert problems(tmp_path, 'environment = ["A", "B=1"]\n') == [
        'a.toml:3: container.web.environment[0]: "A" is not NAME=value (Compose\'s bare "NAME", taking the value '
        'from the environment, is written "NAME=${NAME}" here)']
