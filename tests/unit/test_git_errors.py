"""The pure parts of the git source: masking URLs, refusing credentials in them, the SSH command,
mapping git's failures to typed errors, reading `ls-tree` and resolving symlinks inside a tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.source.git import (
    AuthenticationFailed,
    Credentials,
    Git,
    GitError,
    HostKeyRejected,
    RefNotFound,
    Unreachable,
    check_url,
    mask_url,
)
from reconciler.source.trees import Entry, parse_ls_tree, resolves_outside

URL = "https://forge.example/ops/hosts.git"


@pytest.mark.parametrize(("url", "masked"), [
    ("https://user:secret@forge.example/r.git", "https://***@forge.example/r.git"),
    ("https://token@forge.example/r.git", "https://***@forge.example/r.git"),
    ("ssh://git@forge.example:2222/r.git", "ssh://***@forge.example:2222/r.git"),
    ("https://forge.example/r.git", "https://forge.example/r.git"),
    ("git@forge.example:ops/r.git", "git@forge.example:ops/r.git"),
])
def test_mask_url_hides_any_userinfo(url, masked):
    assert mask_url(url) == masked


def test_mask_url_masks_urls_inside_a_message():
    said = "fatal: unable to access 'https://me:pw@forge.example/r.git/': 403"
    assert mask_url(said) == "fatal: unable to access 'https://***@forge.example/r.git/': 403"


@pytest.mark.parametrize(("url", "masked"), [
    ("http://forge.example/r.git?private_token=SECRET", "http://forge.example/r.git?***"),
    ("https://forge.example/r.git?ref=main&access_token=SECRET#top", "https://forge.example/r.git?***"),
    ("https://u:SECRET@forge.example/r.git?key=SECRET", "https://***@forge.example/r.git?***"),
])
def test_mask_url_hides_the_whole_query(url, masked):
    assert mask_url(url) == masked


def test_mask_url_hides_the_query_of_a_url_inside_a_message():
    said = "fatal: unable to access 'https://forge.example/r.git/?token=SECRET': 403"
    assert mask_url(said) == "fatal: unable to access 'https://forge.example/r.git/?***': 403"


@pytest.mark.parametrize(("text", "masked"), [
    ("deploy:SECRET@forge.example:ops/r.git", "***@forge.example:ops/r.git"),
    ("fatal: 'deploy:SECRET@forge.example:ops/r.git' does not appear to be a git repository",
     "fatal: '***@forge.example:ops/r.git' does not appear to be a git repository"),
    ("git@127.0.0.1: Permission denied (publickey).", "git@127.0.0.1: Permission denied (publickey)."),
])
def test_mask_url_hides_the_password_of_the_scp_like_form(text, masked):
    assert mask_url(text) == masked


@pytest.mark.parametrize("url", ["https://me@forge.example/r.git", "http://me:pw@forge.example/r.git",
                                 "ssh://git:pw@forge.example/r.git"])
def test_a_url_with_credentials_is_refused_with_the_url_masked(url):
    with pytest.raises(GitError, match=r"://\*\*\*@forge.example/r.git: credentials in the URL are refused") as refused:
        check_url(url)
    assert "pw" not in str(refused.value) and "me@" not in str(refused.value)


@pytest.mark.parametrize("url", ["http://forge.example/r.git?private_token=SECRET",
                                 "https://forge.example/r.git?ref=main&access_token=SECRET",
                                 "https://forge.example/r.git?Token=SECRET", "https://forge.example/r.git?key=SECRET",
                                 "https://forge.example/r.git?api_key=SECRET", "https://forge.example/r.git?password=SECRET",
                                 "https://forge.example/r.git?private%5Ftoken=SECRET",
                                 "ssh://forge.example/r.git?token=SECRET"])
def test_a_url_with_a_credential_in_its_query_is_refused_with_the_query_masked(url):
    with pytest.raises(GitError, match=r"r.git\?\*\*\*: credentials in the URL are refused") as refused:
        check_url(url)
    assert "SECRET" not in str(refused.value)


def test_a_scp_like_url_with_a_password_is_refused_with_it_masked():
    with pytest.raises(GitError) as refused:
        check_url("deploy:SECRET@forge.example:ops/r.git")
    assert str(refused.value).startswith("***@forge.example:ops/r.git: credentials in the URL are refused")
    assert "SECRET" not in str(refused.value) and "deploy" not in str(refused.value)


@pytest.mark.parametrize("url", ["ssh://git@forge.example/r.git", "git@forge.example:ops/r.git",
                                 "file:///srv/r.git", "/srv/r.git", URL, f"{URL}?ref=main"])
def test_urls_without_a_secret_are_accepted(url):
    check_url(url)


def test_the_ssh_command_uses_only_the_key_given_in_batch_mode_with_strict_host_keys():
    credentials = Credentials(ssh_key=Path("/keys/deploy key"), known_hosts=Path("/etc/known hosts"))
    assert credentials.ssh_command() == ("ssh -i '/keys/deploy key' -o IdentitiesOnly=yes -o BatchMode=yes "
                                         "-o StrictHostKeyChecking=yes -o 'UserKnownHostsFile=/etc/known hosts'")


def test_without_a_key_ssh_still_runs_in_batch_mode_with_strict_host_keys():
    assert Credentials().ssh_command() == "ssh -o BatchMode=yes -o StrictHostKeyChecking=yes"


def test_a_token_is_read_from_its_file_on_each_call(tmp_path):
    token_file = tmp_path / "token"
    credentials = Credentials(token_file=token_file)
    token_file.write_text("first\n")
    assert credentials.token() == "first"
    token_file.write_text("rotated\n")
    assert credentials.token() == "rotated"


def test_an_empty_token_file_is_an_authentication_failure(tmp_path):
    (tmp_path / "token").write_text("\n")
    with pytest.raises(AuthenticationFailed, match="is empty"):
        Credentials(token_file=tmp_path / "token").token()


@pytest.mark.parametrize(("stderr", "kind"), [
    ("fatal: unable to access 'https://forge.example/r.git/': Could not resolve host: forge.example", Unreachable),
    ("ssh: connect to host 127.0.0.1 port 2222: Connection refused\nfatal: Could not read from remote repository.",
     Unreachable),
    ("fatal: '/srv/r.git' does not appear to be a git repository\nfatal: Could not read from remote repository.",
     Unreachable),
    ("fatal: the remote end hung up unexpectedly", Unreachable),
    ("fatal: repository 'https://forge.example/r.git/' not found", Unreachable),
    ("fatal: Authentication failed for 'https://forge.example/r.git/'", AuthenticationFailed),
    ("fatal: could not read Username for 'https://forge.example': terminal prompts disabled", AuthenticationFailed),
    ("fatal: unable to access 'https://forge.example/r.git/': The requested URL returned error: 403",
     AuthenticationFailed),
    ("git@127.0.0.1: Permission denied (publickey).\nfatal: Could not read from remote repository.",
     AuthenticationFailed),
    ("fatal: couldn't find remote ref refs/heads/nope", RefNotFound),
])
def test_git_failures_map_to_typed_errors(stderr, kind):
    error = Git(URL).failure(("fetch", URL), stderr)
    assert type(error) is kind
    assert str(error).startswith(f"git fetch {URL}: ")


def test_an_unknown_failure_is_a_git_error_with_gits_words():
    error = Git(URL).failure(("fetch",), "error: something new\n")
    assert type(error) is GitError
    assert str(error) == f"git fetch {URL}: error: something new"


def test_a_rejected_host_key_names_the_known_hosts_file_used():
    stderr = "Host key verification failed.\nfatal: Could not read from remote repository."
    named = Git(URL, Credentials(known_hosts=Path("/etc/reconciler/known_hosts"))).failure(("fetch",), stderr)
    default = Git(URL).failure(("fetch",), stderr)
    assert type(named) is HostKeyRejected and "known_hosts file: /etc/reconciler/known_hosts" in str(named)
    assert "~/.ssh/known_hosts" in str(default)


def test_a_refused_ssh_key_is_named_rather_than_gits_last_words():
    stderr = "git@127.0.0.1: Permission denied (publickey).\nfatal: Could not read from remote repository."
    error = Git("ssh://git@127.0.0.1/r.git", Credentials(ssh_key=Path("/etc/reconciler/deploy_key"))).failure(
        ("fetch",), stderr)
    assert type(error) is AuthenticationFailed
    assert str(error) == ("git fetch ssh://***@127.0.0.1/r.git: the SSH server refused the key "
                          "/etc/reconciler/deploy_key (or: no key was offered)")


def test_a_refused_ssh_login_without_a_key_file_says_no_key_file_was_given():
    stderr = "git@127.0.0.1: Permission denied (publickey,password).\nfatal: Could not read from remote repository."
    error = Git("ssh://git@127.0.0.1/r.git").failure(("fetch",), stderr)
    assert type(error) is AuthenticationFailed
    assert "the SSH server refused the keys ssh offered (no --git-ssh-key given" in str(error)


def test_a_rejected_host_key_says_so_rather_than_gits_last_words():
    stderr = "Host key verification failed.\nfatal: Could not read from remote repository."
    assert "host key verification failed" in str(Git(URL).failure(("fetch",), stderr))


def test_a_refused_token_is_named_as_refused_rather_than_as_a_missing_user_name():
    stderr = "fatal: could not read Username for 'https://forge.example': terminal prompts disabled"
    credentials = Credentials(token_file=Path("/etc/reconciler/git.token"), username="deploy")
    error = Git(URL, credentials).failure(("fetch",), stderr, token="s3cr3t")
    assert type(error) is AuthenticationFailed
    assert "refused the token of /etc/reconciler/git.token (as user 'deploy')" in str(error)


def test_the_message_keeps_gits_fatal_line_masked_and_without_the_token():
    stderr = "remote: no access for s3cr3t-token\nfatal: unable to access 'https://u:p@forge.example/r.git/': boom\n"
    error = Git(URL).failure(("fetch",), stderr, token="s3cr3t-token")
    assert error.said == "fatal: unable to access 'https://***@forge.example/r.git/': boom"
    assert "s3cr3t-token" not in str(error)


def test_a_remote_line_that_echoes_the_token_is_shown_without_it():
    error = Git(URL).failure(("fetch",), "remote: bad token s3cr3t-token\n", token="s3cr3t-token")
    assert error.said == "remote: bad token ***"


def test_ls_tree_output_is_read_with_paths_as_written():
    output = (b"100644 blob aa\tweb/app.toml\x00040000 tree bb\tweb\x00"
              b"120000 blob cc\tweb/a b\x00160000 commit dd\tlib\x00")
    assert parse_ls_tree(output) == [Entry("100644", "blob", "aa", "web/app.toml"),
                                     Entry("040000", "tree", "bb", "web"),
                                     Entry("120000", "blob", "cc", "web/a b"),
                                     Entry("160000", "commit", "dd", "lib")]


@pytest.mark.parametrize(("links", "link", "outside"), [
    ({"a": "b/c"}, "a", False),
    ({"d/a": "../b"}, "d/a", False),
    ({"d/a": "../../b"}, "d/a", True),
    ({"a": ".."}, "a", True),
    ({"d/up": "..", "d/a": "up/.."}, "d/a", True),
    ({"loop": "loop"}, "loop", True),
    ({"d/a": "./x/../y"}, "d/a", False),
])
def test_a_symlink_resolves_outside_its_tree_following_the_trees_links(links, link, outside):
    assert resolves_outside(links, link) is outside
