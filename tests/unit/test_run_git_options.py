"""`reconciler run --git`: options that do not go together are refused before anything starts."""

from __future__ import annotations

import subprocess
import sys

import pytest

from reconciler.commands.cli import build_parser
from reconciler.commands.run import check_git_options, git_source
from reconciler.source.git import GitError


def parsed(*words: str):
    return build_parser().parse_args(["run", *words])


@pytest.mark.parametrize(("words", "message"), [
    (("elsewhere", "--git", "file:///srv/r.git"), "either DIR"),
    (("--git", "https://me:pw@forge.example/r.git"), "credentials in the URL are refused"),
    (("--git", "file:///srv/r.git", "--verify-commits"), "--verify-commits needs"),
    (("--git", "file:///srv/r.git", "--allowed-signers", "signers"), "go with --verify-commits"),
    (("--git", "file:///srv/r.git", "--path", "../up"), "inside the repository"),
    (("--git", "file:///srv/r.git", "--poll", "100ms"), "at least 1s"),
])
def test_options_that_do_not_go_together_are_refused(words, message, tmp_path):
    with pytest.raises((ValueError, GitError)) as refused:
        git_source(parsed(*words), tmp_path / "git")
    assert message in str(refused.value)


def test_a_url_with_a_password_is_refused_without_showing_it(tmp_path):
    with pytest.raises(GitError) as refused:
        git_source(parsed("--git", "https://me:s3cr3t@forge.example/r.git"), tmp_path / "git")
    assert "s3cr3t" not in str(refused.value) and "***@forge.example" in str(refused.value)


def test_the_source_follows_what_the_options_name(tmp_path):
    source = git_source(parsed("--git", "file:///srv/r.git", "--ref", "v1", "--path", "hosts/web"), tmp_path / "git")
    assert (source.url, source.ref, source.path) == ("file:///srv/r.git", "v1", "hosts/web")
    assert source.root == tmp_path / "git" / "current" / "hosts" / "web"


@pytest.mark.parametrize(("words", "option"), [
    (("--ref", "main"), "--ref"),
    (("--path", "hosts/web"), "--path"),
    (("--poll", "10s"), "--poll"),
    (("--verify-commits",), "--verify-commits"),
    (("--allowed-signers", "FILE"), "--allowed-signers"),
    (("--gpg-home", "DIR"), "--gpg-home"),
    (("--git-ssh-key", "FILE"), "--git-ssh-key"),
    (("--git-known-hosts", "FILE"), "--git-known-hosts"),
    (("--git-token-file", "FILE"), "--git-token-file"),
    (("--git-username", "deploy"), "--git-username"),
    (("--allow-rewind",), "--allow-rewind"),
    (("--hook-addr", ":9111"), "--hook-addr"),
    (("--hook-addr", ":9111", "--hook-secret-file", "FILE"), "--hook-addr"),
])
def test_a_git_option_without_git_is_refused_naming_it(words, option, tmp_path):
    files = {"FILE": str(tmp_path / "file"), "DIR": str(tmp_path)}
    (tmp_path / "file").write_text("content\n")
    with pytest.raises(ValueError, match=f"^{option} goes with --git$"):
        check_git_options(parsed(*(files.get(word, word) for word in words)))


def test_the_defaults_of_git_options_are_not_taken_for_options_given():
    check_git_options(parsed())
    check_git_options(parsed("--path", ".", "--git-username", "git", "--poll", "1m"))


def test_a_hook_secret_without_a_hook_address_is_refused_naming_both(tmp_path):
    (tmp_path / "secret").write_text("s3cr3t\n")
    for words in (("--hook-secret-file", str(tmp_path / "secret")),
                  ("--git", "file:///srv/r.git", "--hook-secret-file", str(tmp_path / "secret"))):
        with pytest.raises(ValueError, match="^--hook-secret-file goes with --hook-addr$"):
            check_git_options(parsed(*words))


def test_run_says_which_option_goes_with_which_before_starting(tmp_path):
    (tmp_path / "secret").write_text("s3cr3t\n")
    done = subprocess.run([sys.executable, "-m", "reconciler", "run", "--state-dir", str(tmp_path / "state"),
                           "--hook-secret-file", str(tmp_path / "secret")], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr) == (1, "error: --hook-secret-file goes with --hook-addr\n")
    assert not (tmp_path / "state").exists()


@pytest.mark.parametrize("option", ["--git-ssh-key", "--git-known-hosts", "--git-token-file", "--allowed-signers",
                                    "--hook-secret-file"])
def test_a_file_option_naming_a_missing_file_is_refused_naming_option_and_path(option, tmp_path):
    missing = tmp_path / "missing"
    words = ["--git", "file:///srv/r.git", "--hook-addr", ":9111", option, str(missing)]
    with pytest.raises(ValueError, match=f"^{option} {missing}: No such file or directory$"):
        check_git_options(parsed(*words))


def test_a_file_option_naming_a_folder_is_refused(tmp_path):
    with pytest.raises(ValueError, match=f"^--git-ssh-key {tmp_path}: a folder, not a file$"):
        check_git_options(parsed("--git", "file:///srv/r.git", "--git-ssh-key", str(tmp_path)))


def test_a_gpg_home_must_be_a_folder(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match=f"^--gpg-home {tmp_path / 'file'}: Not a directory$"):
        check_git_options(parsed("--git", "file:///srv/r.git", "--gpg-home", str(tmp_path / "file")))
    with pytest.raises(ValueError, match=f"^--gpg-home {tmp_path / 'none'}: No such file or directory$"):
        check_git_options(parsed("--git", "file:///srv/r.git", "--gpg-home", str(tmp_path / "none")))


def test_readable_files_and_a_gpg_folder_are_accepted(tmp_path):
    for name in ("key", "known_hosts", "token", "signers", "secret"):
        (tmp_path / name).write_text("x\n")
    check_git_options(parsed("--git", "file:///srv/r.git", "--git-ssh-key", str(tmp_path / "key"),
                             "--git-known-hosts", str(tmp_path / "known_hosts"),
                             "--git-token-file", str(tmp_path / "token"), "--verify-commits",
                             "--allowed-signers", str(tmp_path / "signers"), "--gpg-home", str(tmp_path),
                             "--hook-addr", ":9111", "--hook-secret-file", str(tmp_path / "secret")))
