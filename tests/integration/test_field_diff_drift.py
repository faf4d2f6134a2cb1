"""Drift as values on the real engine: a container recreated by hand with our labels copied and
another env shows, under its revert and under its `drift = "alert"` report, what it holds and what
the spec declares. Engine-neutral: run with DOCKER_HOST on Docker or on Podman."""

from __future__ import annotations

import pytest

from tests.integration.test_drift_policy import drifted, reconciler, recreate_with_another_env

pytestmark = pytest.mark.integration
__all__ = ["drifted"]  # the fixture, used by name


@pytest.mark.parametrize(("policy", "symbol"), [("revert", "~ recreate"), ("alert", "? warn")])
def test_an_env_changed_by_hand_shows_both_values_under_the_change(drifted, policy, symbol, namespace, tmp_path):
    directory, name, _network, _serving = drifted(policy, recreate_with_another_env)
    lines = reconciler(directory, namespace, tmp_path, "plan", "--brief").stdout.splitlines()
    assert lines[0].startswith(f"{symbol} container {name} (changed out of band: env.GREETING")
    assert lines[1] == '    env.GREETING: "bonjour" -> "hello"'
