"""A `tmpfs` entry's mount options are checked as the engine and the kernel's tmpfs take them
(moby ParseTmpfsOptions, mm/shmem.c), reported at FILE:LINE: key.path before anything runs."""

import pytest

from reconciler.desired.tmpfs_options import check_tmpfs_options
from tests.unit.desired import container, errors


@pytest.mark.parametrize("options", [
    "size=64m", "size=0", "size=10%", "size=0x100000", "size=1G", "nr_inodes=1k", "nr_blocks=100", "mode=1777",
    "mode=01777", "uid=100000", "gid=2147483648", "uid=4294967294", "mpol=default", "mpol=bind:0-1",
    "mpol=interleave=static:0", "ro,noexec,nosuid,nodev", "",
])
def test_options_the_kernel_takes_are_taken(options):
    check_tmpfs_options(options)


@pytest.mark.parametrize("options, problem", [
    ("uid=abc", "expected a number from 0 to 4294967294"),
    ("uid=-1", "expected a number from 0 to 4294967294"),
    ("gid=4294967295", "expected a number from 0 to 4294967294"),
    ("nr_inodes=-5", "expected a whole number with an optional k, m or g suffix (such as 10k)"),
    ("nr_blocks=10%", "expected a whole number with an optional k, m or g suffix (such as 10k)"),
    ("size=1kb", "expected a whole number of bytes with an optional k, m or g suffix (64m), or a percentage of RAM"
                 " (50%)"),
    ("size=1.5m", "expected a whole number of bytes with an optional k, m or g suffix (64m), or a percentage of RAM"
                  " (50%)"),
    ("mode=999", "expected octal file mode bits such as 1777"),
    ("mpol=foo", "expected a memory policy: default, local, prefer:NODE, bind:NODES or interleave[:NODES]"),
])
def test_a_value_the_kernel_refuses_is_named_with_what_it_takes(options, problem):
    with pytest.raises(ValueError) as refused:
        check_tmpfs_options(f"size=64m,{options}")
    assert str(refused.value) == f"'{options}' is not a tmpfs option the kernel takes: {problem}"


@pytest.mark.parametrize("options", ["huge=always", "size", "noexec=1", "colour=red"])
def test_an_option_the_engine_does_not_know_or_a_misused_flag_is_refused(options):
    with pytest.raises(ValueError, match=f"'{options}' is not a tmpfs option: expected size=, mode="):
        check_tmpfs_options(options)


def test_a_bad_tmpfs_value_is_reported_at_its_entry_and_the_other_entries_are_kept(tmp_path):
    body = "tmpfs = ['/a:uid=abc', '/b:size=64m,uid=1000']"
    assert errors(tmp_path, {"a.toml": f"[container.web]\nimage = 'demo'\n{body}\n"}) == [
        "a.toml:3: container.web.tmpfs[0]: 'uid=abc' is not a tmpfs option the kernel takes: expected a number from"
        " 0 to 4294967294"]
    assert container(tmp_path / "kept", "tmpfs = ['/b:size=64m,uid=1000']").tmpfs == {"/b": "size=64m,uid=1000"}
