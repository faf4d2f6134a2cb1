"""`include` as compose-go reads it (loader/include.go): an included file is interpolated with the
parent's variables plus its own `.env`, the parent's winning, and the parent never sees the included
`.env`. The output's one env file keeps each scope's value apart: a name whose value in an included
project differs from the top project's is written `NAME_<FOLDER>`."""

from reconciler.importing.compose_convert import convert
from tests.unit.compose_files import load
from tests.unit.compose_import import written_and_loaded

SERVICE = """\
services:
  {name}:
    image: busybox
    environment:
      DB_PASSWORD: ${{PW}}
"""
TWO_INCLUDES = {
    "main/compose.yaml": "include: [../s1/compose.yaml, ../s2/compose.yaml]\n",
    "s1/compose.yaml": SERVICE.format(name="one"), "s1/.env": "PW=password-of-s1\n",
    "s2/compose.yaml": SERVICE.format(name="two"), "s2/.env": "PW=password-of-s2\n",
}


def _env_of(result, name: str) -> dict:
    return dict(result.state.containers[name].env)


def test_each_included_project_runs_with_the_value_of_its_own_dotenv(tmp_path):
    compose = load(tmp_path, TWO_INCLUDES, ("main/compose.yaml",), project_directory=tmp_path / "main")
    result = written_and_loaded(convert(compose, tmp_path / "out"), tmp_path / "out")

    assert result.errors == ()
    assert (_env_of(result, "one")["DB_PASSWORD"], _env_of(result, "two")["DB_PASSWORD"]) == \
        ("password-of-s1", "password-of-s2")


def test_the_env_file_names_an_included_projects_own_value_after_its_folder(tmp_path):
    compose = load(tmp_path, TWO_INCLUDES, ("main/compose.yaml",), project_directory=tmp_path / "main")

    assert convert(compose, tmp_path / "out").env == {"PW_S1": "password-of-s1", "PW_S2": "password-of-s2"}


def test_the_parent_does_not_read_the_included_dotenv(tmp_path):
    files = {
        "app/compose.yaml": "include: [../db/compose.yaml]\nservices:\n  web:\n    image: busybox\n"
                            "    environment: {DB_URL: 'postgres://db/${DB_NAME:-app}'}\n",
        "db/compose.yaml": "services:\n  db:\n    image: busybox\n    environment: {POSTGRES_DB: '${DB_NAME}'}\n",
        "db/.env": "DB_NAME=infradb\n",
    }
    compose = load(tmp_path, files, ("app/compose.yaml",), project_directory=tmp_path / "app")
    result = written_and_loaded(convert(compose, tmp_path / "out"), tmp_path / "out")

    assert (_env_of(result, "web")["DB_URL"], _env_of(result, "db")["POSTGRES_DB"]) == ("postgres://db/app", "infradb")


def test_the_parents_value_wins_in_the_included_project_and_keeps_its_name(tmp_path):
    files = {**TWO_INCLUDES, "main/.env": "PW=password-of-main\n"}
    compose = load(tmp_path, files, ("main/compose.yaml",), project_directory=tmp_path / "main")
    conversion = convert(compose, tmp_path / "out")
    result = written_and_loaded(conversion, tmp_path / "out")

    assert conversion.env == {"PW": "password-of-main"}
    assert _env_of(result, "one")["DB_PASSWORD"] == _env_of(result, "two")["DB_PASSWORD"] == "password-of-main"
