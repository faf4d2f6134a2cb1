"""`reconciler run --git`: options that do not go together are refused before anything starts."""

from __future__ import annotations

import pytest

from reconciler.commands.cli import build_parser
from reconciler.commands.run import git_source
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
