"""Which values are masked in messages, and how (`reconciler.masking`, DESIGN section 11)."""

from __future__ import annotations

from reconciler.desired.loader import load
from reconciler.masking import mask, pieces


def test_a_secret_of_four_characters_or_more_is_masked_wherever_it_occurs():
    assert mask("token=abcd1234;", {"abcd1234"}) == "token=***;"


def test_a_short_secret_is_masked_only_as_a_whole_token():
    assert mask("line e of the output: e", {"e"}) == "line *** of the output: ***"
    assert mask("the hook failed", {"e"}) == "the hook failed"


def test_the_longest_secret_is_masked_first():
    assert mask("pw=secret-long", {"secret", "secret-long"}) == "pw=***"


def test_a_secret_file_is_masked_whole_and_line_by_line_without_its_final_newline():
    assert pieces(b"user\npass-word\n") == {"user\npass-word\n", "user\npass-word", "user", "pass-word"}


def test_the_desired_state_holds_the_env_file_values_and_secret_texts_the_files_use(tmp_path):
    (tmp_path / "pw").write_text("file-secret\n")
    env_file = tmp_path / "env"
    env_file.write_text("PW=from-env-file\nUNUSED=never-used\n")
    desired = tmp_path / "desired"
    desired.mkdir()
    (desired / "a.toml").write_text('[secret.db]\nfile = "../pw"\n[container.app]\nimage = "busybox"\n'
                                    'env = { PW = "${PW}", DEBUG = "1" }\nsecrets = ["db"]\n')
    state = load(desired, str(env_file), environ={}).state
    assert state.secret_values == {"from-env-file", "file-secret\n", "file-secret"}
