"""`pull = "newer"` and `pull_interval`: loaded, checked, and outside the spec hash."""

from __future__ import annotations

from reconciler.model import spec_hash
from tests.unit.desired import container, errors


def test_pull_newer_with_an_interval_is_loaded_in_seconds(tmp_path):
    spec = container(tmp_path, 'pull = "newer"\npull_interval = "5m"')
    assert (spec.pull, spec.pull_interval) == ("newer", 300.0)


def test_pull_newer_without_an_interval_checks_every_pass(tmp_path):
    assert container(tmp_path, 'pull = "newer"').pull_interval == 0.0


def test_an_interval_without_pull_newer_is_an_error_at_its_key(tmp_path):
    found = errors(tmp_path, {"web.toml": '[container.web]\nimage = "a/b:1"\npull = "always"\npull_interval = "5m"\n'})
    assert len(found) == 1 and "container.web.pull_interval" in found[0] and 'pull = "newer"' in found[0]


def test_a_bad_interval_is_an_error_at_its_key(tmp_path):
    found = errors(tmp_path, {"web.toml": '[container.web]\nimage = "a/b:1"\npull = "newer"\npull_interval = "soon"\n'})
    assert len(found) == 1 and "container.web.pull_interval" in found[0]


def test_the_pull_policy_and_its_interval_leave_the_spec_hash_as_it_was(tmp_path):
    plain = container(tmp_path / "a", "")
    newer = container(tmp_path / "b", 'pull = "newer"\npull_interval = "1h"')
    assert spec_hash(plain) == spec_hash(newer)
