"""A `blkio_config` device path that is not a block device on the engine's host is blocked in the
plan, for an engine on this host: without it the engine creates the container and its start fails
("stat /dev/...: no such file or directory"), leaving a created container behind."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration


def reconciler(*args: str, namespace: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reconciler", *args, "--namespace", namespace],
                          capture_output=True, text=True, timeout=180)


def test_a_missing_blkio_device_is_blocked_in_the_plan_and_nothing_is_created(tmp_path, namespace, docker_client):
    name = f"{namespace}-app"
    (tmp_path / "a.toml").write_text(
        f'[container.{name}]\nimage = "localhost/demo:1"\ncommand = ["sleep", "3600"]\ninit = true\n'
        'blkio_config = { device_read_bps = [{ path = "/dev/no-such-disk", rate = "1mb" }] }\n')
    applied = reconciler("apply", str(tmp_path), namespace=namespace)
    assert "has no such block device on its host: blkio_config.device_read_bps[0] /dev/no-such-disk" in (
        applied.stdout)
    assert applied.returncode != 0
    assert docker_client.containers.list(all=True, filters={"name": name}) == []
