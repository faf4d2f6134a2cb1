"""The options of a long-form mount, in our flat spelling (`tmpfs_size`, `mode`, `propagation`,
`labels`, `nocopy`, `subpath`) or Compose's nested one (`tmpfs = { size, mode }`, `bind = {
propagation, create_host_path }`, `volume = { nocopy, subpath, labels }`): the Mount fields they
give, with the checks the engine would make (Engine API Mount: BindOptions, VolumeOptions,
TmpfsOptions; moby volume/mounts/validate.go refuses the options of another mount type).
"""

from __future__ import annotations

import re
from typing import Any

from reconciler.desired import forms
from reconciler.desired.units import size

# option -> (the mount type it is for, its Compose spelling: the nested table and key)
_OPTIONS = {
    "tmpfs_size": ("tmpfs", "tmpfs", "size"),
    "tmpfs_mode": ("tmpfs", "tmpfs", "mode"),
    "propagation": ("bind", "bind", "propagation"),
    "create_host_path": ("bind", "bind", "create_host_path"),
    "selinux": ("bind", "bind", "selinux"),
    "nocopy": ("volume", "volume", "nocopy"),
    "subpath": ("volume", "volume", "subpath"),
    "labels": ("volume", "volume", "labels"),
}
_FLAT = {"tmpfs_size": "tmpfs_size", "tmpfs_mode": "mode", "propagation": "propagation", "nocopy": "nocopy",
         "subpath": "subpath", "labels": "labels"}  # field -> its flat key (create_host_path has none)


def _mode(value: str | int) -> int:
    """File mode bits: a string of octal digits ("1777"), or a number (TOML's 0o1777)."""
    if isinstance(value, int):
        return value
    if not re.fullmatch(r"[0-7]{1,5}", value) or int(value, 8) > 0o7777:
        raise ValueError(f"mode '{value}' is not a file mode: expected octal digits such as 1777")
    return int(value, 8)


def _subpath(value: str) -> str:
    """A folder inside the volume: relative, never leading out of it (the engine refuses both)."""
    if value.startswith("/") or ".." in value.split("/"):
        raise ValueError(f"subpath '{value}' must be a relative path inside the volume, without '..'")
    return value


def _labels(value: dict | list) -> dict[str, str]:
    return forms.string_map(value)  # looked up at call time: forms imports this module


_CONVERT = {"tmpfs_size": size, "tmpfs_mode": _mode, "subpath": _subpath, "labels": _labels,
            "nocopy": bool, "propagation": str, "create_host_path": bool, "selinux": str}
_PROPAGATIONS = ("rprivate", "private", "rshared", "shared", "rslave", "slave")
# Docker Desktop's file sharing modes on macOS; Linux ignores them (moby volume/mounts: "consistency")
_MACOS_ONLY = ("cached", "delegated", "consistent")
# bind.recursive: what each value needs of the Engine API (BindOptions); 1.41 has none of them
_RECURSIVE = {
    "disabled": "BindOptions.NonRecursive, which the reconciler does not send yet",
    "writable": "BindOptions.ReadOnlyNonRecursive (Engine API 1.44)",
    "readonly": "BindOptions.ReadOnlyForceRecursive (Engine API 1.44)",
}


def _written(value: dict, field: str) -> tuple[str, Any] | None:
    """(how the option is written, its value) in either spelling, or None; both is an error."""
    _, table, key = _OPTIONS[field]
    flat = _FLAT.get(field)
    nested = value.get(table)
    spellings = []
    if flat is not None and flat in value:
        spellings.append((flat, value[flat]))
    if isinstance(nested, dict) and key in nested:
        spellings.append((f"{table}.{key}", nested[key]))
    if len(spellings) > 1:
        raise ValueError(f"{spellings[0][0]} and {spellings[1][0]} are two spellings of one option: keep one")
    return spellings[0] if spellings else None


def mount_options(value: dict) -> dict[str, Any]:
    """The Mount fields of the options of a long-form mount table `value`, each only for its own
    mount type (ValueError naming the option otherwise)."""
    kind = value["type"]
    for table in ("tmpfs", "bind", "volume"):
        if table in value and table != kind:
            raise ValueError(f"{table} options are only for {table} mounts")
    recursive = value.get("bind", {}).get("recursive", "enabled")
    if recursive != "enabled":
        raise ValueError(f'bind.recursive = "{recursive}" is not taken: it needs {_RECURSIVE[recursive]}; '
                         'leave it out (or "enabled", the default: submounts are bound too)')
    fields: dict[str, Any] = {}
    for field, (for_kind, _, _) in _OPTIONS.items():
        written = _written(value, field)
        if written is None:
            continue
        spelling, setting = written
        if for_kind != kind:
            raise ValueError(f"{spelling} is only for {for_kind} mounts")
        fields[field] = _CONVERT[field](setting)
    return fields


def short_options(kind: str, text: str) -> dict[str, Any]:
    """The Mount fields of the options after a short-form mount's target ("ro", "ro,rslave", "z"),
    as Compose and `docker run -v` take them (moby volume/mounts/parser_unix.go): `ro`/`rw`, a
    bind's propagation mode and SELinux relabel `z`/`Z`, a volume's `nocopy`, and the macOS-only
    `cached`/`delegated`/`consistent`, accepted and ignored. ValueError naming the option otherwise,
    or when one kind of option is given twice."""
    fields: dict[str, Any] = {}
    for option in text.split(","):
        if option in _MACOS_ONLY:
            continue
        field, setting, for_kind = _short(option)
        if field == "selinux" and kind != "bind":
            raise ValueError(f"'{option}' (SELinux relabel) is taken on binds only here: a volume is mounted through"
                             " the Engine API's Mounts, which cannot relabel")
        if for_kind is not None and for_kind != kind:
            raise ValueError(f"'{option}' is only for {for_kind} mounts")
        if field in fields:
            raise ValueError(f"'{text}' gives {field.replace('_', '-')} twice: keep one")
        fields[field] = setting
    return fields


def _short(option: str) -> tuple[str, Any, str | None]:
    """(the Mount field, its value, the mount type it is for or None) of one short-form option."""
    if option in ("ro", "rw"):
        return "read_only", option == "ro", None
    if option in _PROPAGATIONS:
        return "propagation", option, "bind"
    if option in ("z", "Z"):
        return "selinux", option, "bind"
    if option == "nocopy":
        return "nocopy", True, "volume"
    raise ValueError(f"'{option}' is not a mount option: expected ro or rw, a propagation ({', '.join(_PROPAGATIONS)}),"
                     " z or Z (binds), nocopy (volumes), or cached, delegated or consistent (macOS, ignored)")
