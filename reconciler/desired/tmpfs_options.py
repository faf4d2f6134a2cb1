"""The mount options of Compose's `tmpfs` entries ("/run:size=64m,mode=1777,uid=1000"), checked as
the engine and the kernel take them, so that a value the kernel refuses fails at validation rather
than at the container's start (runc: "mount tmpfs ... data: uid=abc: invalid argument"), which
would leave a created container behind.

The engine checks only the option names (moby pkg/mount: `ParseTmpfsOptions` takes the mount
flags of `ParseOptions` and the data options size, mode, uid, gid, nr_inodes, nr_blocks and mpol);
the values reach the kernel's tmpfs as written (mm/shmem.c `shmem_parse_one`): sizes and counts
through `memparse` (a whole number, decimal or 0x hex, with an optional K, M, G, T, P or E suffix;
a size may end in % of the RAM), mode an octal number, uid and gid a number the user namespace
maps (4294967295 is "no id"), mpol a NUMA memory policy.
"""

from __future__ import annotations

import re

# moby pkg/mount ParseOptions: the flags a tmpfs mount takes (no value)
FLAGS = frozenset({"ro", "rw", "exec", "noexec", "suid", "nosuid", "dev", "nodev", "sync", "async", "dirsync",
                   "atime", "noatime", "diratime", "nodiratime", "relatime", "norelatime", "strictatime",
                   "nostrictatime", "mand", "nomand", "remount"})
_MEMPARSE = r"(?:0[xX][0-9a-fA-F]+|[0-9]+)[kKmMgGtTpPeE]?"
_U32_MAX = 2**32 - 1
_NO_ID = 2**32 - 1  # (uid_t)-1: the kernel's invalid id, refused by make_kuid
# mm/mempolicy.c mpol_parse_str: MODE[=static|relative][:NODELIST]
_MPOL = re.compile(r"(?:default|local|prefer|bind|interleave)(?:=(?:static|relative))?(?::[0-9,-]+)?")


def _size(value: str) -> str | None:
    if re.fullmatch(_MEMPARSE + "%?", value):
        return None
    return "expected a whole number of bytes with an optional k, m or g suffix (64m), or a percentage of RAM (50%)"


def _count(value: str) -> str | None:
    if re.fullmatch(_MEMPARSE, value):
        return None
    return "expected a whole number with an optional k, m or g suffix (such as 10k)"


def _mode(value: str) -> str | None:
    if re.fullmatch(r"[0-7]+", value) and int(value, 8) <= _U32_MAX:
        return None
    return "expected octal file mode bits such as 1777"


def _id(value: str) -> str | None:
    if value.isascii() and value.isdigit() and int(value) < _NO_ID:
        return None
    return f"expected a number from 0 to {_NO_ID - 1}"


def _mpol(value: str) -> str | None:
    if _MPOL.fullmatch(value):
        return None
    return "expected a memory policy: default, local, prefer:NODE, bind:NODES or interleave[:NODES]"


# the data options and how each value is checked (None: taken)
DATA = {"size": _size, "nr_blocks": _count, "nr_inodes": _count, "mode": _mode, "uid": _id, "gid": _id,
        "mpol": _mpol}


def check_tmpfs_options(options: str) -> None:
    """Raise ValueError naming the first option of `options` ("size=64m,mode=1777,noexec") the engine
    or the kernel would refuse: an unknown name, a flag given a value, a data option without one, or
    a value of the wrong form."""
    for option in filter(None, options.split(",")):
        name, equals, value = option.partition("=")
        if name in FLAGS and not equals:
            continue
        if name not in DATA or not equals:
            raise ValueError(f"'{option}' is not a tmpfs option: expected size=, mode=, uid=, gid=, nr_inodes=,"
                             " nr_blocks=, mpol=, or a mount flag such as noexec")
        problem = DATA[name](value)
        if problem:
            raise ValueError(f"'{option}' is not a tmpfs option the kernel takes: {problem}")
