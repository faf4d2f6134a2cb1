"""Env files are read as Compose reads them, quoted values over several lines included, and no
problem with one ever shows a value from it."""

import pytest

from reconciler.desired.loader import LoadFailure, read_env_file
from tests.unit.desired import container, errors, write


def _read(tmp_path, text: str | bytes) -> dict[str, str]:
    return read_env_file(str(write(tmp_path, {"x.env": text}) / "x.env"))


def _problem(tmp_path, text: str) -> str:
    with pytest.raises(LoadFailure) as failure:
        _read(tmp_path, text)
    return str(failure.value.problem)


def test_a_quoted_value_may_span_lines_up_to_its_closing_quote(tmp_path):
    text = 'A="first\nsecond \\"x\\"\n"\nB=\'one\n  two\' # note\nC=3\n'
    assert _read(tmp_path, text) == {"A": 'first\nsecond "x"\n', "B": "one\n  two", "C": "3"}


def test_an_unterminated_quote_is_reported_at_its_opening_line_without_the_value(tmp_path):
    problem = _problem(tmp_path, "A=1\n\nB='hunter2\nC=3\nD=4\n")
    assert problem == f"{tmp_path / 'x.env'}:3: the quoted value of B is never closed (unterminated quote)"


def test_lines_after_a_value_over_several_lines_keep_their_numbers(tmp_path):
    problem = _problem(tmp_path, 'A="a\nb\nc"\nthis is my password\n')
    assert problem == f"{tmp_path / 'x.env'}:4: expected KEY=VALUE (the line is not shown: it may hold a secret)"


def test_only_a_comment_may_follow_a_closing_quote(tmp_path):
    problem = _problem(tmp_path, 'A="hunter2" hunter3\n')
    assert problem == (f"{tmp_path / 'x.env'}:1: only a # comment may follow the closing quote of A"
                       " (the line is not shown: it may hold a secret)")


def test_crlf_line_ends_and_a_byte_order_mark_are_read_as_compose_reads_them(tmp_path):
    assert _read(tmp_path, b'\xef\xbb\xbfA=1\r\nB="x\r\ny"\r\n') == {"A": "1", "B": "x\ny"}


def test_a_container_env_file_problem_names_its_line_and_never_its_value(tmp_path):
    write(tmp_path, {"app.env": "TOKEN='s3cret\n"})
    text = "[container.web]\nimage = 'demo'\nenv_file = 'app.env'\n"
    assert errors(tmp_path, {"a.toml": text}) == [
        "a.toml:3: container.web.env_file: app.env line 1: the quoted value of TOKEN is never closed"
        " (unterminated quote)"
    ]


def test_a_container_env_file_value_over_several_lines_reaches_env(tmp_path):
    write(tmp_path, {"app.env": 'KEY="-----BEGIN-----\nabc\n-----END-----"\n'})
    assert container(tmp_path, "env_file = 'app.env'").env == {"KEY": "-----BEGIN-----\nabc\n-----END-----"}


def test_an_env_name_that_is_empty_or_holds_equals_or_nul_is_an_error(tmp_path):
    text = ("[container.web]\nimage = 'demo'\nenv = { '' = 'x', 'A=B' = 'y', \"C\\u0000\" = 'z', OK = '1' }\n"
            "[container.db]\nimage = 'demo'\nenv = [\"D\\u0000=1\", 'E==2']\n")
    assert errors(tmp_path, {"a.toml": text}) == [
        'a.toml:3: container.web.env."": a variable name must not be empty: the engine refuses it',
        "a.toml:3: container.web.env.\"A=B\": a variable name must not hold '=': the engine would read the name"
        " up to it",
        'a.toml:3: container.web.env."C\\u0000": a variable name must not hold a NUL character: no process'
        " environment can carry it",
        'a.toml:6: container.db.env."D\\u0000": a variable name must not hold a NUL character: no process'
        " environment can carry it",
    ]
