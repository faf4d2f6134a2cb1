"""`import compose` keeps secrets out of its output: interpolations are written as the user wrote
them, the values they took from `.env` go to the env file, and no value shows anywhere else."""

import stat
from pathlib import Path

from reconciler.importing.compose_text import escape, translate
from reconciler.importing.emit import render
from tests.unit.compose_import import converted, project, table_lines, written_and_loaded

CANARY = "canary-7f3a9c1e-secret"


def with_password(written=None, **extra):
    """web reads DB_PASSWORD (from .env, the canary) and DB_HOST (from the process environment)."""
    return project(
        {"web": {"image": "x", "environment": {"DB_PASSWORD": CANARY, "DB_URL": f"postgres://db/{CANARY}"},
                 "command": ["serve", "--host", "db.internal"], **extra}},
        written={("services", "web", "environment", "DB_PASSWORD"): "$DB_PASSWORD",
                 ("services", "web", "environment", "DB_URL"): "postgres://${DB_HOST:-db}/${DB_PASSWORD}",
                 ("services", "web", "command", 2): "${DB_HOST}", **(written or {})},
        dotenv={"DB_PASSWORD": CANARY})


def test_an_interpolation_is_written_as_written_in_our_syntax():
    conversion = converted(with_password())

    assert 'env = {DB_PASSWORD = "${DB_PASSWORD}", DB_URL = "postgres://${DB_HOST:-db}/${DB_PASSWORD}"} ' \
           "# from environment" in table_lines(conversion, "web.toml")
    assert 'command = ["serve", "--host", "${DB_HOST}"]' in table_lines(conversion, "web.toml")


def test_the_env_file_holds_the_values_taken_from_dotenv_and_the_others_are_named():
    conversion = converted(with_password())

    assert conversion.env == {"DB_PASSWORD": CANARY}
    assert conversion.environ == ("DB_HOST",)


def test_the_canary_is_in_no_file_note_or_skipped_line(tmp_path):
    written = {("services", "web", "labels", "pw"): "${DB_PASSWORD}",
               ("services", "web", "healthcheck", "test"): "check $DB_PASSWORD"}
    conversion = converted(with_password(written, labels={"pw": CANARY}, healthcheck={"test": f"check {CANARY}"}),
                           out=tmp_path / "out")
    conversion_text = "".join(render(tables, conversion.header(tmp_path / "out.env"))
                              for tables in conversion.files.values())

    assert CANARY not in conversion_text + "".join(str(s) for s in conversion.skipped)


def test_a_label_reading_the_env_file_is_skipped_as_shown_in_the_clear():
    compose = project({"web": {"image": "x", "labels": {"pw": CANARY}}},
                      written={("services", "web", "labels", "pw"): "${PW}"}, dotenv={"PW": CANARY})
    conversion = converted(compose)

    assert [s.key for s in conversion.skipped] == ["services.web.labels.pw"]
    assert "shows this value in the clear" in conversion.skipped[0].why


def test_a_plus_form_from_the_env_file_is_skipped_and_from_elsewhere_resolved():
    written = {("services", "web", "environment", "TLS"): "${CERT:+on}"}
    from_file = converted(project({"web": {"image": "x", "environment": {"TLS": "on"}}}, written=written,
                                  dotenv={"CERT": CANARY}))
    from_environment = converted(project({"web": {"image": "x", "environment": {"TLS": "on"}}}, written=written))

    assert [s.key for s in from_file.skipped] == ["services.web.environment.TLS"]
    assert 'env = {TLS = "on"} # from environment' in table_lines(from_environment, "web.toml")


def test_a_literal_dollar_brace_in_a_value_is_escaped_for_our_loader():
    assert escape("echo ${HOME} $$ $PATH") == "echo $${HOME} $$$ $PATH"


def test_compose_unbraced_and_nested_forms_translate_to_ours():
    found = translate("$A-${B:-$C}-$$D-${E?missing}")

    assert (found.text, found.names) == ("${A}-${B:-${C}}-$$D-${E?missing}", {"A", "B", "C", "E"})


def test_written_files_load_back_with_the_env_file_to_the_resolved_values(tmp_path):
    result = written_and_loaded(converted(with_password(), out=tmp_path / "out"), tmp_path / "out",
                                environ={"DB_HOST": "db"})

    assert result.errors == ()
    assert dict(result.state.containers["web"].env) == {"DB_PASSWORD": CANARY, "DB_URL": f"postgres://db/{CANARY}"}


def test_the_env_file_is_written_beside_the_output_mode_0600(tmp_path):
    written_and_loaded(converted(with_password(), out=tmp_path / "out"), tmp_path / "out", environ={"DB_HOST": "db"})

    env_file = Path(tmp_path / "out.env")
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert env_file.read_text() == f"DB_PASSWORD='{CANARY}'\n"
