"""Compose files are read as YAML 1.2, as current Compose (compose-go v2, go-yaml v3) reads them."""

from __future__ import annotations

import pytest

from reconciler.importing.compose_tree import ComposeError
from tests.unit.compose_files import load, service


def _labels(tmp_path, values: str) -> dict:
    text = "services:\n  web:\n    image: busybox\n    labels:\n" + values
    return service(load(tmp_path, {"compose.yaml": text}))["labels"]


def test_a_time_like_value_stays_a_string(tmp_path):
    """YAML 1.1 (PyYAML, Compose v1) reads 22:22 as the sexagesimal 1342."""
    assert _labels(tmp_path, "      a: 22:22\n") == {"a": "22:22"}


@pytest.mark.parametrize("word", ["no", "on", "yes", "off", "y", "n"])
def test_yaml_1_1_booleans_stay_strings(tmp_path, word):
    """Compose v1 (YAML 1.1) reads these as booleans; v2 reads strings, and so do we."""
    project = load(tmp_path, {"compose.yaml": f"services:\n  web:\n    image: busybox\n    x-flag: {word}\n"})
    assert service(project)["x-flag"] == word


def test_a_leading_zero_number_is_octal_as_go_yaml_reads_it(tmp_path):
    """go-yaml v3 keeps YAML 1.1's 0755 octal for compatibility (YAML 1.2's core schema says 755)."""
    project = load(tmp_path, {"compose.yaml": "services:\n  web:\n    image: busybox\n    x-mode: 0755\n"})
    assert service(project)["x-mode"] == 0o755


def test_an_exponent_without_a_dot_is_a_float(tmp_path):
    """YAML 1.1 needs a dot (1e3 is a string there); YAML 1.2 and Compose v2 read 1000.0."""
    project = load(tmp_path, {"compose.yaml": "services:\n  web:\n    image: busybox\n    x-n: 1e3\n"})
    assert service(project)["x-n"] == 1000.0


def test_a_quoted_number_stays_a_string(tmp_path):
    project = load(tmp_path, {"compose.yaml": "services:\n  web:\n    image: busybox\n    x-n: '0755'\n"})
    assert service(project)["x-n"] == "0755"


def test_anchors_aliases_and_merge_keys_work(tmp_path):
    project = load(tmp_path, {"compose.yaml": """\
        x-common: &common
          image: busybox
          restart: always
        services:
          web:
            <<: *common
            restart: "no"
        """})
    assert service(project) == {"image": "busybox", "restart": "no"}


def test_a_duplicate_key_is_an_error_at_its_line(tmp_path):
    with pytest.raises(ComposeError) as raised:
        load(tmp_path, {"compose.yaml": "services:\n  web:\n    image: a\n    image: b\n"})
    assert str(raised.value).endswith("compose.yaml:4: services.web.image: duplicate key (first written at line 3)")


def test_broken_yaml_is_reported_at_its_line(tmp_path):
    with pytest.raises(ComposeError) as raised:
        load(tmp_path, {"compose.yaml": "services:\n  web: [a\n  db: b\n"})
    assert ":3: not valid YAML" in str(raised.value)


def test_every_key_and_item_has_an_origin(tmp_path):
    project = load(tmp_path, {"compose.yaml": "services:\n  web:\n    image: busybox\n    ports:\n      - 80:80\n"})
    assert str(project.origins[("services", "web", "ports", 0)]).endswith("compose.yaml:5")
    assert project.origins[("services", "web", "image")].line == 3


def test_extension_keys_are_left_out_of_the_model(tmp_path):
    project = load(tmp_path, {"compose.yaml": "x-anything: 1\nservices:\n  web:\n    image: busybox\n"})
    assert set(project.model) == {"services"}
