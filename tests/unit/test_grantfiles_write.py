"""Writing the file of a secret or config (`grantfiles.write`): a bad id or a full tmpfs fails the
step with FilesError naming the grant, and leaves no file behind, whole or partial."""

from __future__ import annotations

import os
import subprocess

import pytest

from reconciler import grantfiles
from reconciler.fields import FileGrant, Sealed
from reconciler.grantfiles import FilesError
from reconciler.model import ContainerSpec, Source

DIGEST = "hmac-sha256:" + "1" * 64


def spec(value: bytes, **grant) -> ContainerSpec:
    granted = FileGrant("db", "/run/secrets/db", digest=DIGEST, value=Sealed(value),
                        **{"uid": os.getuid(), "gid": os.getgid(), **grant})
    return ContainerSpec(name="web", image="busybox", source=Source("web.toml", 1), secrets=(granted,))


@pytest.fixture
def small_tmpfs(tmp_path):
    """A tmpfs of 8 KiB (root only: it is mounted for the test)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    folder = tmp_path / "small"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8k", "fixc-test", str(folder)], check=True)
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


def test_a_value_is_written_whole(tmp_path):
    value = os.urandom(3 * 65536)
    grantfiles.write(spec(value), str(tmp_path))
    (written,) = tmp_path.iterdir()
    assert written.read_bytes() == value


def test_a_uid_the_kernel_cannot_take_fails_the_step_naming_the_grant_and_leaves_no_file(tmp_path):
    with pytest.raises(FilesError, match="cannot write the file of db in .*: OverflowError"):
        grantfiles.write(spec(b"v", uid=2**32), str(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_a_value_bigger_than_the_free_space_fails_the_step_and_leaves_no_file(small_tmpfs):
    with pytest.raises(FilesError, match="cannot write the file of db in .*: No space left on device"):
        grantfiles.write(spec(b"x" * 65536), str(small_tmpfs))
    assert list(small_tmpfs.iterdir()) == []
