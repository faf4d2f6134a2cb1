"""${VAR} interpolation from the environment and the env file, whose values stay secret."""

import pytest

from reconciler.desired.loader import LoadFailure, read_env_file
from tests.unit.desired import container, errors, load_texts, write


def test_a_variable_is_taken_from_the_environment(tmp_path):
    app = container(tmp_path, "env = { GREETING = 'hello ${NAME}' }", environ={"NAME": "world"})
    assert app.env == {"GREETING": "hello world"}


def test_a_default_applies_when_the_variable_is_unset_or_empty(tmp_path):
    body = "env = { A = '${X:-fallback}', B = '${X-fallback}' }"
    assert container(tmp_path / "a", body, environ={}).env == {"A": "fallback", "B": "fallback"}
    assert container(tmp_path / "b", body, environ={"X": ""}).env == {"A": "fallback", "B": ""}


def test_a_default_may_itself_use_a_variable(tmp_path):
    app = container(tmp_path, "hostname = '${HOST:-app-${NAME}}'\n", environ={"NAME": "one"})
    assert app.hostname == "app-one"


def test_double_dollar_is_a_literal_dollar_and_a_lone_dollar_is_kept(tmp_path):
    app = container(tmp_path, "command = ['sh', '-c', 'echo $$HOME $1 $${NOT}']", environ={"HOME": "/root"})
    assert app.command == ("sh", "-c", "echo $HOME $1 ${NOT}")


def test_interpolation_reaches_every_string_value_but_no_key(tmp_path):
    body = "ports = ['${PORT}:80']\nlabels = { '${K}' = '${V}' }"
    app = container(tmp_path, body, environ={"PORT": "8080", "V": "v"})
    assert app.ports[0].host_port == 8080
    assert app.labels == {"${K}": "v"}


def test_a_required_variable_that_is_unset_is_an_error_naming_it(tmp_path):
    text = "[container.web]\nimage = 'demo'\nenv = { DB = '${DB_URL:?set DB_URL in the env file}' }\n"
    assert errors(tmp_path, {"a.toml": text}) == [
        "a.toml:3: container.web.env.DB: required variable DB_URL is not set: set DB_URL in the env file"
    ]


def test_an_unset_variable_without_default_is_empty_with_a_warning(tmp_path):
    result = load_texts(tmp_path, {"a.toml": "[container.web]\nimage = 'demo'\nenv = { WHO = 'I am ${WHO}' }\n"})
    assert result.state.containers["web"].env == {"WHO": "I am "}
    assert [str(w) for w in result.warnings] == [
        "a.toml:3: container.web.env.WHO: variable WHO is not set; using an empty string"
    ]


def test_malformed_interpolations_are_errors(tmp_path):
    text = "[container.web]\nimage = 'demo'\nuser = '${1X}'\nhostname = '${X'\nworking_dir = '${X:=y}'\n"
    assert errors(tmp_path, {"a.toml": text}) == [
        "a.toml:3: container.web.user: invalid variable name in '${1X}'",
        "a.toml:4: container.web.hostname: unclosed '${' at character 1",
        "a.toml:5: container.web.working_dir: invalid interpolation '${X:=y}': expected ':-', '-', ':?' or '?'",
    ]


def test_the_environment_wins_over_the_env_file(tmp_path):
    (tmp_path / "secrets.env").write_text("A=from-file\nB=only-in-file\n")
    text = "[container.web]\nimage = 'demo'\nenv = { A = '${A}', B = '${B}' }\n"
    result = load_texts(tmp_path / "ds", {"a.toml": text}, env_file=str(tmp_path / "secrets.env"),
                        environ={"A": "from-env"})
    assert result.state.containers["web"].env == {"A": "from-env", "B": "only-in-file"}


def test_a_value_from_the_env_file_never_appears_in_an_error(tmp_path):
    (tmp_path / "secrets.env").write_text("PORT=hunter2\nMODE=s3cr3t-mode\n")
    text = "[container.web]\nimage = 'demo'\nports = ['${PORT}']\nrestart = '${MODE}'\n"
    assert errors(tmp_path / "ds", {"a.toml": text}, env_file=str(tmp_path / "secrets.env")) == [
        "a.toml:3: container.web.ports[0]: (a value from the env file) is not a port such as \"8080\", \"8080:80\","
        ' "127.0.0.1:8080:80" or "53:53/udp"',
        "a.toml:4: container.web.restart: (a value from the env file) is not no, always, unless-stopped,"
        " on-failure or on-failure:N",
    ]


def test_a_secret_inside_a_normalisation_message_is_masked(tmp_path):
    (tmp_path / "secrets.env").write_text("HOST_PORT=99999\n")
    text = "[container.web]\nimage = 'demo'\nports = ['${HOST_PORT}:80']\n"
    assert errors(tmp_path / "ds", {"a.toml": text}, env_file=str(tmp_path / "secrets.env")) == [
        "a.toml:3: container.web.ports[0]: port *** is out of range (1-65535)"
    ]


def test_an_env_file_supports_comments_export_and_quotes(tmp_path):
    path = write(tmp_path, {"x.env": """\
        # a comment

        export A=1
        B = two words  # trailing comment
        C="line\\nbreak \\"quoted\\""
        D='$literal ${X}'
        E=
        """}) / "x.env"
    assert read_env_file(str(path)) == {"A": "1", "B": "two words", "C": 'line\nbreak "quoted"',
                                        "D": "$literal ${X}", "E": ""}


def test_a_bad_env_file_line_is_reported_without_its_content(tmp_path):
    path = write(tmp_path, {"x.env": "A=1\nthis is my password\n"}) / "x.env"
    with pytest.raises(LoadFailure) as failure:
        read_env_file(str(path))
    assert str(failure.value.problem) == f"{path}:2: expected KEY=VALUE (the line is not shown: it may hold a secret)"


def test_a_missing_env_file_is_an_error_of_the_whole_load(tmp_path):
    result = load_texts(tmp_path, {"a.toml": ""}, env_file=str(tmp_path / "none.env"))
    assert result.state is None
    assert [str(e) for e in result.errors] == [
        f"{tmp_path / 'none.env'}: cannot read env file: No such file or directory"
    ]


def test_no_env_file_means_no_variables():
    assert read_env_file(None) == {}
