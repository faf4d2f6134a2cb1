"""What a new user's review of `import compose` found (issue 18): Compose files read and converted
as Compose v2 reads them, and a folder written only when `reconciler validate` takes it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.desired.loader import load as load_desired
from reconciler.importing.compose_taken import taken
from reconciler.importing.compose_tree import ComposeError
from reconciler.model import LABEL_MANAGED
from runtime.base import ObservedContainer, ObservedState, UnownedContainer
from tests.unit.compose_files import load, service
from tests.unit.compose_import import converted, project, table_lines

ROOT = Path(__file__).resolve().parents[2]


def _problems(tmp_path, text: str) -> list[str]:
    with pytest.raises(ComposeError) as raised:
        load(tmp_path, {"compose.yaml": text})
    return [str(problem).removeprefix(str(tmp_path) + "/") for problem in raised.value.problems]


def _import(tmp_path, *args: str) -> subprocess.CompletedProcess:
    """`reconciler import compose ARGS` in `tmp_path`, with no engine to reach."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"}
    return subprocess.run([sys.executable, "-m", "reconciler", "import", "compose", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)


def test_a_service_with_schema_errors_gets_only_its_real_errors(tmp_path):
    problems = _problems(tmp_path, """\
        services:
          web:
            image: nginx
            environment:
              - {A: 1}
            mem_limit: 1g
            ports: "80:80"
        """)

    assert problems == ["compose.yaml:5: services.web.environment[0]: must be a string",
                        "compose.yaml:7: services.web.ports: must be a array"]


def test_an_unknown_key_beside_a_schema_error_is_still_reported(tmp_path):
    problems = _problems(tmp_path, "services:\n  web:\n    image: nginx\n    ports: '80:80'\n    bogus: 1\n")

    assert problems == ["compose.yaml:5: services.web.bogus: is not a Compose key",
                        "compose.yaml:4: services.web.ports: must be a array"]


def test_references_to_what_the_project_does_not_define_are_errors_at_their_lines(tmp_path):
    problems = _problems(tmp_path, """\
        services:
          web:
            image: nginx
            volumes: [nov:/x, /anon, ./b:/b]
            networks: [non, default]
            secrets: [nosec]
            depends_on: [nope]
        """)

    assert problems == [
        "compose.yaml:4: services.web.volumes[0]: refers to undefined volume 'nov' (Compose refuses it too)",
        "compose.yaml:5: services.web.networks[0]: refers to undefined network 'non' (Compose refuses it too)",
        "compose.yaml:6: services.web.secrets[0]: refers to undefined secret 'nosec' (Compose refuses it too)",
        "compose.yaml:7: services.web.depends_on[0]: depends on undefined service 'nope' (Compose refuses it too)"]


def test_an_empty_compose_file_is_an_error(tmp_path):
    assert _problems(tmp_path, "# nothing yet\n") == ["compose.yaml: empty compose file (Compose refuses it too)"]


def test_extends_of_a_missing_file_is_an_error_at_the_extends_key(tmp_path):
    problems = _problems(tmp_path, "services:\n  web:\n    extends:\n      service: base\n      file: missing.yml\n")

    assert problems == [f"compose.yaml:5: services.web.extends.file: no file missing.yml (read as {tmp_path}/"
                        "missing.yml)"]


def test_a_secret_environment_variable_set_in_dotenv_goes_to_the_env_file(tmp_path):
    compose = load(tmp_path, {"compose.yaml": "services:\n  web: {image: x, secrets: [s], environment: [BARE]}\n"
                              "secrets:\n  s: {environment: SEC2}\n", ".env": "SEC2=from-dotenv\nBARE=b\n"})
    conversion = converted(compose, tmp_path / "out")

    assert conversion.env == {"BARE": "b", "SEC2": "from-dotenv"}
    assert conversion.environ == ()


def test_the_process_environment_wins_over_dotenv_for_a_secret_environment(tmp_path):
    compose = load(tmp_path, {"compose.yaml": "services:\n  web: {image: x, secrets: [s]}\n"
                              "secrets:\n  s: {environment: SEC2}\n", ".env": "SEC2=from-dotenv\n"},
                   environ={"SEC2": "shell"})

    assert (converted(compose, tmp_path / "out").environ, converted(compose, tmp_path / "out").env) == (("SEC2",), {})


def test_environment_values_are_written_as_the_strings_compose_makes_of_them(tmp_path):
    compose = load(tmp_path, {"compose.yaml": "services:\n  web:\n    image: x\n    environment:\n      SCI: 1e3\n"
                              "      BIG: 12345678901234567890\n      ON: true\n      R: 1.5e7\n"})

    assert 'env = {SCI = "1000", BIG = "12345678901234567890", ON = "true", R = "1.5e+07"} # from environment' in \
        table_lines(converted(compose, tmp_path / "out"), "web.toml")


def test_a_port_that_is_no_port_form_is_skipped_as_such_not_as_a_range():
    conversion = converted(project({"web": {"image": "x", "ports": ["abc:80", "8000-8001:80"]}}))

    assert [s.why for s in conversion.skipped] == [
        "not a port: [[IP:]HOST:]CONTAINER[/PROTOCOL] with port numbers (Compose refuses it too)",
        "a port range: write one entry per port"]


def test_a_healthcheck_without_test_is_skipped_with_why():
    conversion = converted(project({"web": {"image": "x", "healthcheck": {"interval": "10s", "retries": 5}}}))

    assert "healthcheck" not in conversion.files["web.toml"][0].table
    assert [s.key for s in conversion.skipped] == ["services.web.healthcheck"]


def test_a_network_named_default_is_refused_by_validate(tmp_path):
    (tmp_path / "n.toml").write_text("[network.default]\n")

    assert [p.message for p in load_desired(tmp_path).errors] == [
        "'default' is a name Docker reserves (its default network mode): name the network otherwise (Compose names a "
        "project's default network <project>_default)"]


def _holder(name: str, labels: dict[str, str]) -> UnownedContainer:
    return UnownedContainer(ObservedContainer("id-" + name, name, labels, "running", None, "img", frozenset(), 0.0))


def test_names_held_by_another_namespace_are_never_adoptable():
    observed = ObservedState(unowned={"container": frozenset({"solo", "theirs"})},
                             unowned_containers=(_holder("solo", {}), _holder("theirs", {LABEL_MANAGED: "prod"})))
    found = taken(observed)

    assert (found.adoptable, found.owned) == ({"container": {"solo"}}, {"container": {"theirs": "prod"}})
    assert found.notes(adoptable=True) == [
        "container solo exists and no namespace owns it: `apply --adopt solo` takes it over (docs/adoption.md); "
        "apply refuses the name otherwise",
        "container theirs is owned by namespace 'prod': it cannot be adopted; rename it here"]


def test_without_a_running_project_the_taken_names_are_only_said():
    found = taken(ObservedState(unowned={"volume": frozenset({"data"})}))

    assert found.notes(adoptable=False) == []
    assert found.notes(adoptable=True)[0].startswith("volume data exists and no namespace owns it: `apply --adopt "
                                                     "volume/data`")


def test_a_value_validate_refuses_fails_the_import_and_writes_nothing(tmp_path):
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: nginx\n    restart: sometimes\n")
    result = _import(tmp_path, "--out", "out")

    assert result.returncode == 1
    assert "error: the converted files would not pass validate: out/web.toml:4: container.web.restart: " in \
        result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["compose.yaml"]


def test_the_check_before_writing_reads_paths_relative_to_the_output_folder(tmp_path):
    (tmp_path / "compose.yaml").write_text("services:\n  web: {image: nginx, env_file: app.env}\n")
    (tmp_path / "app.env").write_text("A=1\n")
    result = _import(tmp_path, "--out", "out")

    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.env", "compose.yaml", "out"]


def test_compose_files_are_given_with_f_as_compose_takes_them(tmp_path):
    (tmp_path / "a.yml").write_text("services:\n  web: {image: nginx}\n")
    (tmp_path / "b.yml").write_text("services:\n  web: {read_only: true}\n")
    result = _import(tmp_path, "-f", "a.yml", "--file", "b.yml", "--out", "out")

    assert result.returncode == 0, result.stderr
    assert "read_only = true" in (tmp_path / "out" / "web.toml").read_text()


def test_bare_names_of_a_service_read_from_dotenv(tmp_path):
    compose = load(tmp_path, {"compose.yaml": "services:\n  web: {image: x, environment: {TOKEN: null}}\n",
                              ".env": "TOKEN=t\n"})

    assert service(compose)["environment"] == {"TOKEN": None}
    assert converted(compose, tmp_path / "out").env == {"TOKEN": "t"}
