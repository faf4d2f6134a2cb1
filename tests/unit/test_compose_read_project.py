"""Interpolation, env files, profiles, the project name and the Compose schema, as Compose does them."""

from __future__ import annotations

import pytest

from reconciler.importing.compose_tree import ComposeError
from tests.unit.compose_files import load, service

CANARY = "canary-9f3b-secret"


def _image(tmp_path, written: str, environ: dict[str, str] | None = None) -> str:
    project = load(tmp_path, {"compose.yaml": f"services:\n  web:\n    image: '{written}'\n"}, environ=environ or {})
    return service(project)["image"]


@pytest.mark.parametrize(
    ("written", "environ", "expected"),
    [
        ("${T}", {"T": "1"}, "1"),
        ("$T", {"T": "1"}, "1"),
        ("a${T:-d}", {"T": ""}, "ad"),
        ("a${T-d}", {"T": ""}, "a"),
        ("a${T-d}", {}, "ad"),
        ("${T:+r}", {"T": "x"}, "r"),
        ("${T:+r}", {"T": ""}, ""),
        ("${T+r}", {"T": ""}, "r"),
        ("${T:-${U:-inner}}", {}, "inner"),
        ("$$T", {"T": "1"}, "$T"),
        ("a$1b", {}, "a$1b"),
    ],
)
def test_each_interpolation_form(tmp_path, written, environ, expected):
    assert _image(tmp_path, written, environ) == expected


@pytest.mark.parametrize("written", ["${T:?needed}", "${T?needed}"])
def test_a_required_variable_that_is_unset_is_an_error_at_its_line(tmp_path, written):
    with pytest.raises(ComposeError, match=r"compose.yaml:3: services.web.image: required variable T is missing"):
        _image(tmp_path, written)


def test_an_unset_variable_is_a_warning_naming_it_and_reads_as_empty(tmp_path):
    project = load(tmp_path, {"compose.yaml": "services:\n  web:\n    image: 'busybox$UNSET'\n"})
    assert service(project)["image"] == "busybox"
    assert project.warnings == (f"{tmp_path / 'compose.yaml'}:3: services.web.image: variable UNSET is not set; "
                                "using an empty string",)


def test_keys_are_not_interpolated(tmp_path):
    project = load(tmp_path, {"compose.yaml": "services:\n  web:\n    image: x\n    labels: {$K: v}\n"},
                   environ={"K": "no"})
    assert service(project)["labels"] == {"$K": "v"}


def test_the_text_as_written_is_kept_and_only_env_file_variables_are_in_dotenv(tmp_path):
    files = {".env": "FROM_FILE=f\n", "compose.yaml": "services:\n  web:\n    image: '${FROM_FILE}:${FROM_ENV}'\n"}
    project = load(tmp_path, files, environ={"FROM_ENV": "e"})
    assert project.written == {("services", "web", "image"): "${FROM_FILE}:${FROM_ENV}"}
    assert project.dotenv == {"FROM_FILE": "f"}


def test_the_process_environment_wins_over_env_files(tmp_path):
    files = {".env": "T=dotenv\n", "compose.yaml": "services:\n  web:\n    image: '${T}'\n"}
    assert service(load(tmp_path, files, environ={"T": "process"}))["image"] == "process"


def test_an_env_file_given_replaces_the_default_dot_env(tmp_path):
    files = {".env": "T=dotenv\nU=u\n", "other.env": "T=given\n",
             "compose.yaml": "services:\n  web:\n    image: '${T}${U}'\n"}
    project = load(tmp_path, files, env_files=[tmp_path / "other.env"])
    assert service(project)["image"] == "given"


def test_a_string_at_a_boolean_key_is_cast_as_compose_does(tmp_path):
    project = load(tmp_path, {"compose.yaml": "services:\n  web:\n    image: x\n    privileged: '${P}'\n"},
                   environ={"P": "true"})
    assert service(project)["privileged"] is True


def test_services_outside_the_active_profiles_are_inactive(tmp_path):
    text = "services:\n  web: {image: x}\n  debug: {image: x, profiles: [debug]}\n"
    project = load(tmp_path, {"compose.yaml": text})
    assert set(project.model["services"]) == {"web"}
    assert project.inactive == {"debug": ("debug",)}


@pytest.mark.parametrize(("options", "active"), [({"profiles": ["debug"]}, True), ({"profiles": ["*"]}, True),
                                                  ({"environ": {"COMPOSE_PROFILES": "x, debug"}}, True),
                                                  ({"profiles": ["other"]}, False)])
def test_a_profile_given_or_in_compose_profiles_activates_its_services(tmp_path, options, active):
    project = load(tmp_path, {"compose.yaml": "services:\n  debug: {image: x, profiles: [debug]}\n"}, **options)
    assert ("debug" in project.model["services"]) is active


@pytest.mark.parametrize(
    ("options", "text", "expected"),
    [
        ({"project_name": "given"}, "name: named\n", "given"),
        ({"environ": {"COMPOSE_PROJECT_NAME": "fromenv"}}, "name: named\n", "fromenv"),
        ({}, "name: My.App_1\n", "myapp_1"),
        ({}, "", "myproj"),
    ],
)
def test_the_project_name_rules(tmp_path, options, text, expected):
    directory = tmp_path / "My-Proj"
    directory.mkdir()
    project = load(directory, {"compose.yaml": text + "services:\n  web: {image: x}\n"}, **options)
    assert project.name == expected.replace("myproj", "my-proj")


def test_a_given_project_name_that_is_not_normalised_is_an_error(tmp_path):
    with pytest.raises(ComposeError, match="invalid project name 'My'"):
        load(tmp_path, {"compose.yaml": "services:\n  web: {image: x}\n"}, project_name="My")


def test_a_schema_error_is_reported_at_its_file_line_and_key(tmp_path):
    with pytest.raises(ComposeError) as raised:
        load(tmp_path, {"compose.yaml": "services:\n  web:\n    image: x\n    restart: 3\n    imagee: y\n"})
    assert [str(problem) for problem in raised.value.problems] == [
        f"{tmp_path / 'compose.yaml'}:5: services.web.imagee: is not a Compose key",
        f"{tmp_path / 'compose.yaml'}:4: services.web.restart: must be a string",
    ]


def test_no_secret_value_in_any_error_or_warning(tmp_path):
    files = {".env": f"PASS={CANARY}\n",
             "compose.yaml": "services:\n  web:\n    image: x\n    cpus: '${PASS}'\n    mem_limit: [$PASS]\n"
                             "    labels: {a: $NOPE}\n"}
    with pytest.raises(ComposeError) as raised:
        load(tmp_path, files)
    assert raised.value.problems and CANARY not in str(raised.value)
    project = load(tmp_path, {"compose.yaml": "services:\n  web:\n    image: '${PASS}$NOPE'\n"})
    assert project.warnings and CANARY not in " ".join(project.warnings)
