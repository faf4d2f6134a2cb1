"""The wheel holds every package and every file read at run time. Checked against pyproject.toml's
setuptools configuration without building anything; scripts/wheel-check.sh builds and runs the wheel."""

from __future__ import annotations

import json
import tomllib
from fnmatch import fnmatch
from importlib.resources import files
from pathlib import Path

import setuptools

ROOT = Path(__file__).resolve().parents[2]
SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
TOP_LEVEL = ("reconciler", "runtime", "schemas")


def _packaged() -> set[str]:
    return set(setuptools.find_packages(str(ROOT), include=SETUPTOOLS["packages"]["find"]["include"]))


def _folders() -> list[Path]:
    return [d for top in TOP_LEVEL for d in (ROOT / top, *(ROOT / top).rglob("*"))
            if d.is_dir() and d.name != "__pycache__"]


def _dotted(folder: Path) -> str:
    return ".".join(folder.relative_to(ROOT).parts)


def test_the_schema_is_readable_as_package_data():
    schema = json.loads((files("schemas") / "desired-state.schema.json").read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_every_folder_of_python_files_is_a_package_the_wheel_includes():
    with_code = {_dotted(d) for d in _folders() if any(d.glob("*.py"))}
    assert sorted(with_code - _packaged()) == []


def test_every_other_file_in_a_package_is_declared_package_data():
    packaged = _packaged()
    data = SETUPTOOLS.get("package-data", {})
    undeclared = [
        str(f.relative_to(ROOT)) for d in _folders() if _dotted(d) in packaged
        for f in d.iterdir() if f.is_file() and f.suffix not in (".py", ".pyc")
        and not any(fnmatch(f.name, pattern) for pattern in data.get(_dotted(d), ()))
    ]
    assert undeclared == []
