"""The tmpfs options validation lets through are those the engine starts a container with: each
option below is created and started on the real engine; none that `check_tmpfs_options` takes is
created and then fails at start (which would leave a created container), and none it refuses would
start. (Podman 4.3 refuses uid, gid, nr_inodes, nr_blocks and mpol at create: nothing is left.)"""

from __future__ import annotations

import docker
import pytest

from reconciler.desired.tmpfs_options import check_tmpfs_options

pytestmark = pytest.mark.integration

IMAGE = "localhost/demo:1"
OPTIONS = ["size=64m", "size=0", "size=10%", "size=0x100000", "size=1M", "size=1kb", "size=1.5m", "size=",
           "nr_inodes=1k", "nr_inodes=-5", "nr_blocks=100", "mode=01777", "mode=999", "uid=100000", "uid=abc",
           "uid=-1", "uid=4294967295", "gid=2147483648", "mpol=default", "mpol=foo", "noexec,nosuid", "huge=always"]


def _taken(option: str) -> bool:
    try:
        check_tmpfs_options(option)
    except ValueError:
        return False
    return True


def _starts(docker_client, name: str, namespace: str, option: str) -> bool | str:
    """True when a container with the option starts; "create" when the engine refuses its create
    (nothing is left behind); False when it is created and its start fails."""
    try:
        container = docker_client.containers.create(IMAGE, ["true"], name=name, tmpfs={"/x": option},
                                                    labels={"io.reconciler.managed": namespace})
    except docker.errors.APIError:
        return "create"
    try:
        container.start()
    except docker.errors.APIError:
        return False
    return True


def test_no_tmpfs_option_validation_takes_fails_at_start_and_none_it_refuses_would_start(docker_client, namespace):
    started = {option: _starts(docker_client, f"{namespace}-t{index}", namespace, option)
               for index, option in enumerate(OPTIONS)}
    assert [option for option in OPTIONS if _taken(option) and started[option] is False] == []
    assert [option for option in OPTIONS if not _taken(option) and started[option] is True] == []
