"""Options the Swarm target has no use for are refused with --target swarm (exit 2, naming the
option and why), never silently dropped; the host target keeps them."""

from __future__ import annotations

import pytest

from reconciler.commands.cli import build_parser, main
from reconciler.commands.target_options import refused


@pytest.mark.parametrize(("argv", "option"), [
    (["run", "--target", "swarm", "--approve", "changes"], "--approve"),
    (["run", "--target", "swarm", "--host-id", "node-1"], "--host-id"),
    (["run", "--target", "swarm", "--image-retention", "2"], "--image-retention"),
    (["run", "--target", "swarm", "--secrets-dir", "/run/s"], "--secrets-dir"),
    (["apply", "--target", "swarm", "--host-id", "node-1"], "--host-id"),
    (["apply", "--target", "swarm", "--prune-volumes"], "--prune-volumes"),
    (["apply", "--target", "swarm", "--adopt", "web"], "--adopt"),
    (["plan", "--target", "swarm", "--prune-volumes"], "--prune-volumes"),
    (["validate", "--target", "swarm", "--host-id", "vm"], "--host-id"),
    (["validate", "--target", "swarm", "--inventory", "hosts.toml"], "--inventory"),
])
def test_an_option_swarm_skips_is_an_error_naming_it(argv, option, capsys):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert f"error: {option} does not apply to --target swarm: " in capsys.readouterr().err


def test_image_retention_zero_is_refused_too():
    assert refused(build_parser().parse_args(["run", "--target", "swarm", "--image-retention", "0"])) is not None


def test_the_host_target_keeps_those_options():
    args = build_parser().parse_args(["run", "--approve", "all", "--host-id", "h1", "--image-retention", "2"])
    assert refused(args) is None


def test_validate_on_the_host_target_keeps_host_id():
    assert refused(build_parser().parse_args(["validate", "--host-id", "vm"])) is None


def test_swarm_options_it_uses_are_accepted():
    args = build_parser().parse_args(["apply", "--target", "swarm", "--allow-empty", "--profile", "debug"])
    assert refused(args) is None
