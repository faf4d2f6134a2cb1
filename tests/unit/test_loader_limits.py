"""Limits of one file: its size, how deep it nests, a byte-order mark, and a file that declares nothing."""

import pytest

from reconciler.desired.loader import load_file
from tests.unit.desired import errors, load_texts, write

_TOO_DEEP = "tables and arrays are nested more than 32 levels deep (the limit)"


def test_a_file_over_1_mib_is_an_error_naming_the_file(tmp_path):
    assert errors(tmp_path, {"big.toml": "#" * (1024 * 1024) + "\n"}) == [
        "big.toml: file is larger than 1 MiB, the limit: split it"
    ]


def test_a_file_of_exactly_1_mib_is_read(tmp_path):
    text = "[container.web]\nimage = 'demo'\n"
    result = load_texts(tmp_path, {"a.toml": text + "#" * (1024 * 1024 - len(text) - 1) + "\n"})
    assert result.errors == ()


@pytest.mark.parametrize(("text", "line"), [
    ("a = " + "[" * 1000 + "]" * 1000 + "\n", 1),
    ("a = " + "{ b = " * 1000 + "1" + " }" * 1000 + "\n", 1),
    ("# arrays over lines\n\na = [\n" + "[\n" * 1000 + "]\n" * 1001, 35),
    ("[" + ".".join(["t"] * 3000) + "]\nx = 1\n", 1),
    ("[[" + ".".join(["t"] * 3000) + "]]\n", 1),
    ("x = 1\n" + ".".join(["k"] * 3000) + " = 1\n", 2),
    ("t = { " + ".".join(["k"] * 5000) + " = 1 }\n", 1),
])
def test_nesting_1000_levels_deep_is_an_error_never_a_traceback(tmp_path, text, line):
    assert errors(tmp_path, {"deep.toml": text}) == [f"deep.toml:{line}: {_TOO_DEEP}"]


def test_32_levels_are_accepted_and_33_refused(tmp_path):
    def messages(levels: int) -> list[str]:  # [a.b] is 2 levels; each bracket of the value one more
        write(tmp_path, {"a.toml": "[a.b]\nk = " + "[" * (levels - 2) + "]" * (levels - 2) + "\n"})
        return [str(e) for e in load_file(tmp_path, "a.toml", {}).errors]

    assert messages(32) == ["a.toml:1: a: unknown kind 'a'"]
    assert messages(33) == [f"a.toml:2: {_TOO_DEEP}"]


def test_a_utf8_byte_order_mark_is_accepted_and_lines_stay_right(tmp_path):
    good = b"\xef\xbb\xbf[container.web]\nimage = 'demo'\n"
    assert load_texts(tmp_path / "a", {"a.toml": good}).errors == ()
    assert errors(tmp_path / "b", {"b.toml": good + b"init = 'yes'\n"}) == [
        "b.toml:3: container.web.init: expected a boolean, got a string"
    ]


def test_a_file_that_declares_nothing_is_a_warning(tmp_path):
    result = load_texts(tmp_path, {"a.toml": "# nothing yet\n", "b.toml": "[container.web]\nimage = 'demo'\n"})
    assert result.errors == ()
    assert [str(w) for w in result.warnings] == ["a.toml: the file declares nothing"]


def test_load_file_carries_the_warnings_the_agent_logs(tmp_path):
    write(tmp_path, {"a.toml": "[container.web]\nimage = 'demo'\nenv = { A = '${NOPE}' }\n", "b.toml": ""})
    assert [str(w) for w in load_file(tmp_path, "a.toml", {}).warnings] == [
        "a.toml:3: container.web.env.A: variable NOPE is not set; using an empty string"
    ]
    assert [str(w) for w in load_file(tmp_path, "b.toml", {}).warnings] == ["b.toml: the file declares nothing"]
