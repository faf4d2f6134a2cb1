"""The validation cache: a document that passed the schema check is not checked again, and the
outcome of a load is the same with or without it."""

from __future__ import annotations

import json
from argparse import Namespace

import pytest

from reconciler.agent.statedir import StateDir
from reconciler.commands.context import load_desired, validation_cache
from reconciler.desired import schema
from reconciler.desired.loader import load
from reconciler.desired.validated import FILE_NAME, ValidationCache
from tests.unit.desired import write

WEB = "[container.web]\nimage = 'demo'\nports = ['${PORT:-8080}:80']\n"
BAD = "[container.web]\nimage = 'demo'\nrestart = 'sometimes'\n"


@pytest.fixture
def checks(monkeypatch) -> list[dict]:
    """The documents the schema check runs on."""
    seen: list[dict] = []
    check = schema.check

    def counting(document, report, skip=()):
        seen.append(document)
        return check(document, report, skip)

    monkeypatch.setattr(schema, "check", counting)
    return seen


def cached_load(root, record, environ=None, env_file=None):
    """A load through the cache kept in the file `record`, which is then saved."""
    cache = ValidationCache(record)
    result = load(root, env_file=env_file, environ=environ or {}, validated=cache)
    cache.save()
    return result


def test_an_unchanged_file_is_checked_once_and_loads_the_same(tmp_path, checks):
    root, record = write(tmp_path / "d", {"web.toml": WEB}), tmp_path / FILE_NAME
    first = cached_load(root, record)
    second = cached_load(root, record)
    assert len(checks) == 1
    assert first == second and first.state is not None


def test_a_changed_file_or_a_changed_variable_is_checked_again(tmp_path, checks):
    root, record = write(tmp_path / "d", {"web.toml": WEB}), tmp_path / FILE_NAME
    cached_load(root, record)
    cached_load(root, record, environ={"PORT": "9090"})
    write(root, {"web.toml": WEB + "init = true\n"})
    cached_load(root, record)
    assert len(checks) == 3


def test_an_invalid_file_is_never_recorded_and_its_errors_are_the_same(tmp_path, checks):
    root, record = write(tmp_path / "d", {"web.toml": BAD}), tmp_path / FILE_NAME
    plain = load(root, environ={})
    assert cached_load(root, record).errors == cached_load(root, record).errors == plain.errors != ()
    assert len(checks) == 3
    assert not record.exists()


def test_a_file_that_uses_a_value_of_the_env_file_is_never_recorded(tmp_path, checks):
    root, record = write(tmp_path / "d", {"web.toml": WEB}), tmp_path / FILE_NAME
    env_file = tmp_path / "secrets.env"
    env_file.write_text("PORT=7070\n")
    cached_load(root, record, env_file=str(env_file))
    cached_load(root, record, env_file=str(env_file))
    assert len(checks) == 2
    assert not record.exists()


def test_the_record_names_the_schema_version_and_the_last_load_documents_only(tmp_path):
    root, record = write(tmp_path / "d", {"a.toml": WEB, "b.toml": WEB.replace("web", "api")}), tmp_path / FILE_NAME
    cached_load(root, record)
    assert len(json.loads(record.read_text())["passed"]) == 2
    (root / "b.toml").unlink()
    cached_load(root, record)
    saved = json.loads(record.read_text())
    assert (saved["schema"], len(saved["passed"])) == (schema.version(), 1)
    assert oct(record.stat().st_mode & 0o777) == "0o600"


def test_a_record_of_another_schema_version_or_unreadable_is_ignored(tmp_path, checks):
    root, record = write(tmp_path / "d", {"web.toml": WEB}), tmp_path / FILE_NAME
    cached_load(root, record)
    saved = json.loads(record.read_text())
    record.write_text(json.dumps({**saved, "schema": "0:old"}))
    cached_load(root, record)
    record.write_text("{not json")
    cached_load(root, record)
    assert len(checks) == 3
    assert json.loads(record.read_text()) == saved


def test_a_record_that_cannot_be_written_is_left_as_it_was(tmp_path, monkeypatch):
    root, record = write(tmp_path / "d", {"web.toml": WEB}), tmp_path / FILE_NAME

    def refuse(*_args, **_kwargs):
        raise PermissionError("read-only")

    monkeypatch.setattr("reconciler.desired.validated.write_atomically", refuse)
    assert cached_load(root, record).state is not None
    assert not record.exists()


def cli_args(tmp_path, state) -> Namespace:
    return Namespace(dir=str(write(tmp_path / "d", {"web.toml": WEB})), env_file=None, state_dir=str(state),
                     namespace="default", engine=None)


def test_the_cli_keeps_the_cache_in_an_existing_state_directory(tmp_path, checks):
    state = StateDir(tmp_path / "state")
    state.create()
    args = cli_args(tmp_path, state.path)
    assert load_desired(args) == load_desired(args) is not None
    assert len(checks) == 1
    assert (state.path / FILE_NAME).exists()


def test_the_cli_creates_no_state_directory_for_it(tmp_path, checks):
    args = cli_args(tmp_path, tmp_path / "state")
    assert validation_cache(args) is None
    assert load_desired(args) is not None
    assert not (tmp_path / "state").exists()


def test_a_state_directory_of_a_later_layout_gets_no_cache(tmp_path):
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "VERSION").write_text("99\n")
    assert validation_cache(cli_args(tmp_path, tmp_path / "state")) is None
