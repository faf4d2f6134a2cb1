"""`import compose` on what a second review found: profiles (checked as plain `validate` checks
them, `COMPOSE_PROFILES`), `--force` after an earlier import, `-p`, the note on the variables
the agent must have, and the wording of what is written or skipped."""

from __future__ import annotations

from pathlib import Path

from tests.unit.compose_files import write
from tests.unit.compose_import import converted, project, table_lines, written_and_loaded
from tests.unit.test_import_compose_review import _import

KAFKA = """\
services:
  kafka: {image: busybox}
  schema-registry: {image: busybox, profiles: [registry, full], depends_on: [kafka]}
  kafka-ui: {image: busybox, profiles: [ui, full], depends_on: [kafka, schema-registry]}
"""


def test_a_profile_that_needs_another_profiles_service_is_refused_naming_import_with_profile(tmp_path):
    write(tmp_path, {"compose.yaml": KAFKA})

    imported = _import(tmp_path, "--out", "out")

    assert imported.returncode == 1
    assert "out/kafka-ui.toml:" in imported.stderr and "container 'schema-registry' is not active" in imported.stderr
    assert "or import with --profile NAME for each profile you run" in imported.stderr
    assert not (tmp_path / "out").exists()


def test_importing_the_profile_that_holds_both_services_writes_a_folder_that_validates(tmp_path):
    write(tmp_path, {"compose.yaml": KAFKA})

    imported = _import(tmp_path, "--out", "out", "--profile", "full")

    assert imported.returncode == 0, imported.stderr
    assert sorted(path.name for path in (tmp_path / "out").glob("*.toml")) == [
        "kafka-ui.toml", "kafka.toml", "networks.toml", "schema-registry.toml"]


def test_compose_profiles_selects_the_services_written_as_profile_would(tmp_path, monkeypatch):
    write(tmp_path, {"compose.yaml": KAFKA})
    monkeypatch.setenv("COMPOSE_PROFILES", "registry")

    imported = _import(tmp_path, "--out", "out")

    assert imported.returncode == 0, imported.stderr
    assert not (tmp_path / "out" / "kafka-ui.toml").exists()
    assert "profiles =" not in (tmp_path / "out" / "schema-registry.toml").read_text()


def test_force_removes_the_files_an_earlier_import_of_the_project_wrote_and_keeps_the_others(tmp_path):
    write(tmp_path, {"compose.yaml": KAFKA, "out/mine.toml": '[container.mine]\nimage = "busybox"\n'})
    assert _import(tmp_path, "--out", "out", "--profile", "full").returncode == 0

    imported = _import(tmp_path, "--out", "out", "--profile", "registry", "--force")

    assert imported.returncode == 0, imported.stderr
    assert f"note: removed {Path('out') / 'kafka-ui.toml'}: an earlier import of project" in imported.stderr
    assert sorted(path.name for path in (tmp_path / "out").glob("*.toml")) == [
        "kafka.toml", "mine.toml", "networks.toml", "schema-registry.toml"]


def test_dash_p_names_the_project_as_compose_takes_it(tmp_path):
    write(tmp_path, {"compose.yaml": "services:\n  web: {image: busybox}\n"})

    imported = _import(tmp_path, "-p", "given", "--out", "out")

    assert imported.returncode == 0, imported.stderr
    assert (tmp_path / "out" / "web.toml").read_text().startswith("# Imported from the Compose project given ")


def test_the_note_names_only_the_variables_read_without_a_default(tmp_path, monkeypatch):
    write(tmp_path, {"compose.yaml": "services:\n  web:\n    image: busybox\n"
                                     "    environment: {A: '${A:-1}', B: '${B}', C: '${C:?set C}', D: '$D'}\n"})
    monkeypatch.setenv("C", "c")

    imported = _import(tmp_path, "--out", "out")

    assert imported.returncode == 0, imported.stderr
    assert "note: the files read B, C, D from the process environment without a default" in imported.stderr


def test_external_false_is_compose_default_and_silent():
    compose = project({"web": {"image": "x", "networks": ["gitea"]}}, networks={"gitea": {"external": False}})
    conversion = converted(compose)

    assert conversion.skipped == []
    assert table_lines(conversion, "networks.toml") == ["[network.gitea]"]


def test_an_anonymous_volume_is_said_to_keep_its_data_through_adoption():
    conversion = converted(project({"web": {"image": "x", "volumes": ["/data"]}}))

    assert [s.why for s in conversion.skipped] == [
        "an anonymous volume has no form here (declare a named volume); adoption of the running container mounts "
        "its volume into the new container, as every later replacement does, keeping its data"]


def test_a_secret_mode_is_written_in_octal_and_loads_as_that_mode(tmp_path):
    (tmp_path / "db.txt").write_text("pw")
    compose = project({"web": {"image": "x", "secrets": [{"source": "db", "mode": 0o440}]}},
                      directory=tmp_path, secrets={"db": {"file": str(tmp_path / "db.txt")}})
    conversion = converted(compose, out=tmp_path / "out")

    assert '    {source = "db", mode = "0440"},' in table_lines(conversion, "web.toml")
    result = written_and_loaded(conversion, tmp_path / "out")
    assert result.errors == ()
    assert result.state.containers["web"].secrets[0].mode == 0o440
