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
            "nocopy": bool, "propagation": str, "create_host_path": bool}


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
