"""Several files, `extends` and `include`, merged as Compose merges them (compose-spec 13-merge.md)."""

from __future__ import annotations

import pytest

from reconciler.importing.compose_tree import ComposeError
from tests.unit.compose_files import load, service

BASE = """\
services:
  web:
    image: busybox
    command: ["sleep", "1"]
    ports: ["80:80"]
    environment: {A: "1", B: "1"}
"""


def _merged(tmp_path, override: str) -> dict:
    return service(load(tmp_path, {"a.yml": BASE, "b.yml": override}, ("a.yml", "b.yml")))


def test_ports_are_appended(tmp_path):
    assert _merged(tmp_path, "services:\n  web:\n    ports: ['443:443']\n")["ports"] == ["80:80", "443:443"]


def test_a_port_written_twice_is_kept_once(tmp_path):
    assert _merged(tmp_path, "services:\n  web:\n    ports: ['80:80']\n")["ports"] == ["80:80"]


def test_environment_is_merged_by_name(tmp_path):
    merged = _merged(tmp_path, "services:\n  web:\n    environment: [B=2, C=3]\n")
    assert merged["environment"] == ["A=1", "B=2", "C=3"]


def test_command_is_replaced(tmp_path):
    assert _merged(tmp_path, "services:\n  web:\n    command: ['true']\n")["command"] == ["true"]


def test_reset_drops_what_the_earlier_file_gave(tmp_path):
    assert "ports" not in _merged(tmp_path, "services:\n  web:\n    ports: !reset []\n")


def test_override_replaces_what_the_earlier_file_gave(tmp_path):
    assert _merged(tmp_path, "services:\n  web:\n    ports: !override ['8080:80']\n")["ports"] == ["8080:80"]


def test_the_origin_is_the_file_whose_value_won(tmp_path):
    project = load(tmp_path, {"a.yml": BASE, "b.yml": "services:\n  web:\n    image: alpine\n"}, ("a.yml", "b.yml"))
    assert str(project.origins[("services", "web", "image")]) == f"{tmp_path / 'b.yml'}:3"


def test_the_override_file_is_read_with_the_default_file(tmp_path):
    project = load(tmp_path, {"compose.yaml": BASE, "compose.override.yml": "services:\n  web:\n    image: alpine\n"})
    assert service(project)["image"] == "alpine"


def test_extends_from_another_file_resolves_its_paths_against_that_file(tmp_path):
    files = {
        "compose.yaml": "services:\n  web:\n    extends: {file: common/base.yml, service: base}\n    image: busybox\n",
        "common/base.yml": "services:\n  base:\n    build: ./ctx\n    cap_add: [NET_ADMIN]\n",
    }
    web = service(load(tmp_path, files))
    assert web == {"image": "busybox", "build": str(tmp_path / "common" / "ctx"), "cap_add": ["NET_ADMIN"]}


def test_extends_is_chained(tmp_path):
    files = {"compose.yaml": """\
        services:
          a: {image: busybox, labels: [x=1]}
          b: {extends: a, labels: [y=2]}
          web: {extends: b, labels: [z=3]}
        """}
    assert service(load(tmp_path, files))["labels"] == ["x=1", "y=2", "z=3"]


def test_an_extends_cycle_is_an_error(tmp_path):
    files = {"compose.yaml": "services:\n  a: {image: x, extends: web}\n  web: {extends: a}\n"}
    with pytest.raises(ComposeError, match="extends cycle"):
        load(tmp_path, files)


def test_include_adds_the_other_projects_services(tmp_path):
    files = {
        "compose.yaml": "include: [db/compose.yaml]\nservices:\n  web: {image: busybox}\n",
        "db/compose.yaml": "services:\n  db:\n    image: postgres\n    volumes: ['./data:/var/lib/postgresql/data']\n",
    }
    db = service(load(tmp_path, files), "db")
    assert db["volumes"] == [f"{tmp_path / 'db' / 'data'}:/var/lib/postgresql/data"]


def test_a_name_defined_by_both_the_file_and_an_include_is_an_error(tmp_path):
    files = {
        "compose.yaml": "include: [other.yaml]\nservices:\n  web: {image: busybox}\n",
        "other.yaml": "services:\n  web: {image: alpine}\n",
    }
    with pytest.raises(ComposeError, match=r"compose.yaml:1: include\[0\]: services 'web' is defined both"):
        load(tmp_path, files)
