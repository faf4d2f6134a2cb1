"""GitSource with the real git program, on bare repositories served over file:// from tmp_path:
fetching refs, complete and atomic checkouts, verification of SSH signatures, objects and their
content-addressed copies, pruning."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from reconciler.source.git import (
    Credentials,
    Git,
    GitError,
    RefNotFound,
    Rewound,
    Unreachable,
    Unsupported,
    VerificationFailed,
)
from reconciler.source.repository import GitSource, Revision, Verification
from tests.integration.gitrepos import (
    SIGNER,
    commit_files,
    force_push,
    git,
    make_bare_repo,
    make_signing_key,
    make_work_tree,
    push,
    tag,
    url_of,
)


@pytest.fixture
def remote(tmp_path) -> Path:
    return make_bare_repo(tmp_path / "remote.git")


@pytest.fixture
def work(remote, tmp_path) -> Path:
    """A work tree of `remote` holding one pushed commit: web/app.toml and README."""
    work = make_work_tree(remote, tmp_path / "work")
    commit_files(work, {"web/app.toml": "one\n", "README": "hello\n"}, "first")
    push(work)
    return work


@pytest.fixture
def source(remote, work, tmp_path):
    """GitSource(url of `remote`, ref, path, home) with the arguments given, home in tmp_path."""
    def make(ref: str | None = "main", path: str = "web", verification: Verification | None = None) -> GitSource:
        return GitSource(url_of(remote), ref, path, tmp_path / "state" / "git", verification=verification)
    return make


@pytest.fixture
def signer(tmp_path):
    """(private key, allowed signers file trusting only that key)."""
    key, line = make_signing_key(tmp_path, "trusted")
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(line + "\n")
    return key, allowed


def test_fetch_returns_the_remote_head_and_checks_nothing_out(source, work):
    git_source = source()
    revision = git_source.fetch()
    assert revision == Revision(git("rev-parse", "HEAD", cwd=work), "refs/heads/main", "first")
    assert revision.short == revision.sha[:12]
    assert git_source.current is None
    assert not (git_source.home / "current").exists()


def test_check_out_puts_the_complete_tree_in_force_under_root(source, work):
    git_source = source()
    revision = git_source.fetch()
    git_source.check_out(revision)
    assert git_source.current == revision
    assert git_source.root == git_source.home / "current" / "web"
    assert (git_source.root / "app.toml").read_text() == "one\n"
    assert (git_source.home / "current" / "README").read_text() == "hello\n"
    assert os.readlink(git_source.home / "current") == f"checkouts/{revision.sha}"


def test_the_home_folder_is_private(source):
    git_source = source()
    git_source.update()
    assert (git_source.home.stat().st_mode & 0o777) == 0o700


def test_a_new_commit_is_followed(source, work):
    git_source = source()
    git_source.update()
    sha = commit_files(work, {"web/app.toml": "two\n"}, "second")
    push(work)
    revision = git_source.update()
    assert revision == Revision(sha, "refs/heads/main", "second")
    assert (git_source.root / "app.toml").read_text() == "two\n"


def test_update_returns_none_when_the_remote_did_not_change(source):
    git_source = source()
    first = git_source.update()
    assert first is not None
    assert git_source.update() is None
    assert git_source.current == first


def test_a_force_push_is_followed_without_verification(source, work):
    git_source = source()
    first = git_source.update()
    commit_files(work, {"web/app.toml": "two\n"}, "second")
    push(work)
    git_source.update()
    force_push(work, source=first.sha)
    assert git_source.update() == first
    assert (git_source.root / "app.toml").read_text() == "one\n"


def test_a_fetch_is_logged_at_info_only_when_the_ref_moved(source, work):
    git_source = source()
    with capture_logs() as logs:
        git_source.update()
        git_source.update()
        commit_files(work, {"web/app.toml": "two\n"}, "second")
        push(work)
        git_source.update()
    fetched = [(entry["log_level"], entry["moved"]) for entry in logs if entry["event"] == "git.fetched"]
    assert fetched == [("info", True), ("debug", False), ("info", True)]


def test_a_check_out_is_logged_once_with_the_revision(source):
    git_source = source()
    with capture_logs() as logs:
        revision = git_source.update()
        git_source.check_out(revision)
    checked_out = [entry for entry in logs if entry["event"] == "git.checked_out"]
    assert [(e["revision"], e["ref"], e["subject"]) for e in checked_out] == [(revision.short, revision.ref, "first")]


def test_a_name_follows_the_branch_of_that_name_before_a_tag(source, work):
    tag(work, "main")
    commit_files(work, {"web/app.toml": "two\n"}, "second")
    push(work)
    assert source(ref="main").fetch().ref == "refs/heads/main"
    assert source(ref="main").fetch().subject == "second"


def test_a_tag_is_followed_where_it_points_not_where_the_branch_is(source, work):
    tag(work, "v1")
    commit_files(work, {"web/app.toml": "two\n"}, "second")
    push(work)
    git_source = source(ref="v1")
    revision = git_source.update()
    assert (revision.ref, revision.subject) == ("refs/tags/v1", "first")
    assert (git_source.root / "app.toml").read_text() == "one\n"


def test_a_moved_tag_is_followed(source, work):
    tag(work, "v1")
    git_source = source(ref="v1")
    git_source.update()
    sha = commit_files(work, {"web/app.toml": "two\n"}, "second")
    tag(work, "v1")
    assert git_source.update().sha == sha


def test_a_full_ref_is_followed_as_given(source, work):
    sha = commit_files(work, {"web/app.toml": "review\n"}, "review")
    push(work, ref="refs/changes/1")
    assert source(ref="refs/changes/1").fetch() == Revision(sha, "refs/changes/1", "review")


def test_no_ref_follows_the_remotes_default_branch(source, work, remote):
    sha = commit_files(work, {"web/app.toml": "trunk\n"}, "on trunk")
    push(work, ref="refs/heads/trunk")
    git("symbolic-ref", "HEAD", "refs/heads/trunk", cwd=remote)
    assert source(ref=None).fetch() == Revision(sha, "refs/heads/trunk", "on trunk")


def test_a_missing_ref_raises_ref_not_found(source):
    with pytest.raises(RefNotFound, match="refs/heads/nope or refs/tags/nope"):
        source(ref="nope").fetch()


def test_a_branch_deleted_on_the_remote_raises_ref_not_found(source, work):
    push(work, ref="refs/heads/feature")
    git_source = source(ref="feature")
    git_source.update()
    git("push", "--quiet", "origin", "--delete", "feature", cwd=work)
    with pytest.raises(RefNotFound):
        git_source.update()


def test_an_unreachable_remote_raises_unreachable_and_keeps_the_revision_in_force(source, remote, tmp_path):
    git_source = source()
    first = git_source.update()
    remote.rename(tmp_path / "gone.git")
    with pytest.raises(Unreachable, match="does not appear to be a git repository"):
        git_source.update()
    assert git_source.current == first
    assert (git_source.root / "app.toml").read_text() == "one\n"


def add_submodule(work: Path, where: str, tmp_path: Path) -> None:
    """Commit and push, in `work`, a submodule at `where` of another repository made in tmp_path."""
    library = make_bare_repo(tmp_path / "library.git")
    library_work = make_work_tree(library, tmp_path / "library")
    commit_files(library_work, {"lib.txt": "x\n"}, "lib")
    push(library_work)
    git("submodule", "--quiet", "add", url_of(library), where, cwd=work)
    commit_files(work, {}, f"add a submodule at {where}")
    push(work)


def test_a_submodule_under_the_path_is_unsupported(source, work, tmp_path):
    add_submodule(work, "web/lib", tmp_path)
    git_source = source()
    with pytest.raises(Unsupported, match="web/lib is a submodule"):
        git_source.update()
    assert git_source.current is None


def test_a_submodule_outside_the_path_is_not_in_the_way(source, work, tmp_path):
    add_submodule(work, "vendor/lib", tmp_path)
    git_source = source()
    assert git_source.update().subject == "add a submodule at vendor/lib"
    assert (git_source.root / "app.toml").read_text() == "one\n"


@pytest.mark.parametrize("where", [".gitattributes", "web/.gitattributes"])
def test_files_under_an_lfs_filter_are_unsupported(source, work, where):
    commit_files(work, {where: "*.bin filter=lfs diff=lfs merge=lfs -text\n"}, "use lfs")
    push(work)
    with pytest.raises(Unsupported, match="LFS is not followed"):
        source().update()


def test_the_path_must_be_a_directory_at_the_revision(source):
    with pytest.raises(GitError, match="'nowhere' is not a directory at commit"):
        source(path="nowhere").update()


def test_the_checkout_holds_the_committed_bytes_whatever_the_attributes_say(source, work):
    attributes = "* text eol=crlf\nweb/secret.toml export-ignore\nweb/app.toml export-subst\n"
    commit_files(work, {".gitattributes": attributes, "web/app.toml": "a\n$Format:%H$\n",
                        "web/secret.toml": "kept\n"}, "attributes")
    push(work)
    git_source = source()
    git_source.update()
    assert (git_source.root / "app.toml").read_bytes() == b"a\n$Format:%H$\n"
    assert (git_source.root / "secret.toml").read_bytes() == b"kept\n"


def test_modes_and_symlinks_are_checked_out_as_committed(source, work):
    (work / "web" / "run.sh").write_text("#!/bin/sh\n")
    (work / "web" / "run.sh").chmod(0o755)
    (work / "web" / "alias.toml").symlink_to("app.toml")
    commit_files(work, {}, "a script and a link")
    push(work)
    git_source = source()
    git_source.update()
    assert os.access(git_source.root / "run.sh", os.X_OK)
    assert os.readlink(git_source.root / "alias.toml") == "app.toml"


def test_current_is_switched_by_renaming_a_new_symlink_over_it(source, work, monkeypatch):
    git_source = source()
    git_source.update()
    commit_files(work, {"web/app.toml": "two\n"}, "second")
    push(work)
    replaced = []
    real_replace = os.replace

    def replace(src, dst):
        if os.path.islink(src):
            replaced.append((Path(src).parent, os.readlink(src), Path(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    revision = git_source.update()
    assert (git_source.home, f"checkouts/{revision.sha}", git_source.home / "current") in replaced
    assert (git_source.home / "checkouts" / revision.sha / "web" / "app.toml").read_text() == "two\n"


def test_a_reader_during_updates_sees_one_whole_revision_or_the_other(source, work):
    git_source = source()
    commit_files(work, {"web/a": "0\n", "web/b": "0\n"}, "0")
    push(work)
    git_source.update()
    mixed, done = [], threading.Event()

    def read() -> None:
        while not done.is_set():
            tree = Path(os.path.realpath(git_source.root))
            pair = ((tree / "a").read_text(), (tree / "b").read_text())
            if pair[0] != pair[1]:
                mixed.append(pair)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for number in range(1, 8):
            commit_files(work, {"web/a": f"{number}\n", "web/b": f"{number}\n"}, str(number))
            push(work)
            git_source.update()
    finally:
        done.set()
        reader.join()
    assert mixed == []
    assert (git_source.root / "a").read_text() == "7\n"


def test_the_revision_in_force_survives_a_restart(source, work):
    first = source().update()
    restarted = source()
    assert restarted.current == first
    assert restarted.update() is None


def test_the_revision_in_force_is_read_from_current_when_its_record_is_lost(source):
    git_source = source()
    first = git_source.update()
    (git_source.home / "revision.json").unlink()
    assert source().current == Revision(first.sha, "", "first")


def test_check_out_of_the_revision_in_force_changes_nothing(source):
    git_source = source()
    revision = git_source.update()
    checkout = git_source.home / "checkouts" / revision.sha
    before = checkout.stat().st_ino
    git_source.check_out(revision)
    assert checkout.stat().st_ino == before


def test_object_at_names_trees_blobs_and_symlinks_at_the_revision_in_force(source, work):
    (work / "web" / "alias.toml").symlink_to("app.toml")
    commit_files(work, {}, "a link")
    push(work)
    git_source = source()
    assert git_source.object_at("web") is None
    git_source.update()
    assert git_source.object_at("web")[0] == "tree"
    assert git_source.object_at("./web/app.toml") == ("blob", git("rev-parse", "HEAD:web/app.toml", cwd=work))
    assert git_source.object_at("web/alias.toml")[0] == "link"
    assert git_source.object_at("web/missing") is None
    assert git_source.object_at("")[0] == "tree"


def test_object_at_names_the_object_at_another_revision_than_the_one_in_force(source, work):
    git_source = source()
    first = git_source.update()
    blob = git("rev-parse", "HEAD:web/app.toml", cwd=work)
    commit_files(work, {"web/app.toml": "two\n", "web/new.toml": "new\n"}, "second")
    push(work)
    git_source.update()
    assert git_source.object_at("web/app.toml", first.sha) == ("blob", blob)
    assert git_source.object_at("web/new.toml", first.sha) is None
    assert git_source.object_at("web/app.toml") == ("blob", git("rev-parse", "HEAD:web/app.toml", cwd=work))


@pytest.mark.parametrize("revision", ["main", "HEAD~1", "0" * 40, "--output=x"])
def test_object_at_refuses_a_revision_that_is_not_a_full_sha_of_the_clone(source, revision):
    git_source = source()
    first = git_source.update()
    with pytest.raises(GitError, match="is not a commit the clone holds"):
        git_source.object_at("web/app.toml", revision)
    with pytest.raises(GitError, match="is not a commit the clone holds"):
        git_source.object_at("web/app.toml", first.short)


def test_object_at_refuses_a_path_that_climbs_out(source):
    git_source = source()
    git_source.update()
    with pytest.raises(GitError, match="not a path inside the repository"):
        git_source.object_at("web/../../etc")


def test_materialise_writes_a_tree_and_a_blob_once_by_content(source, work):
    commit_files(work, {"conf/a/x.conf": "same\n", "conf/b/x.conf": "same\n", "conf/c": "blob\n"}, "config")
    push(work)
    git_source = source()
    git_source.update()
    _, tree_a = git_source.object_at("conf/a")
    _, tree_b = git_source.object_at("conf/b")
    assert tree_a == tree_b
    path = git_source.materialise(tree_a)
    assert path == git_source.home / "content" / tree_a
    assert (path / "x.conf").read_text() == "same\n"
    assert git_source.materialise(tree_b) == path
    blob = git_source.materialise(git_source.object_at("conf/c")[1])
    assert blob.read_text() == "blob\n"


def test_materialise_refuses_a_tree_with_a_symlink_leading_outside_it(source, work):
    (work / "conf").mkdir()
    (work / "conf" / "passwd").symlink_to("../../etc/passwd")
    commit_files(work, {"conf/ok.conf": "ok\n"}, "a bad link")
    push(work)
    git_source = source()
    git_source.update()
    tree = git_source.object_at("conf")[1]
    assert git_source.escaping_link(tree) == "passwd"
    with pytest.raises(GitError, match="the symlink conf/passwd leads outside"):
        git_source.materialise(tree)
    assert not (git_source.home / "content" / tree).exists()


def test_prune_keeps_the_checkout_in_force_and_what_is_in_use(source, work):
    git_source = source()
    first = git_source.update()
    kept = git_source.materialise(git_source.object_at("web/app.toml")[1])
    dropped = git_source.materialise(git_source.object_at("README")[1])
    commit_files(work, {"web/app.toml": "two\n"}, "second")
    push(work)
    second = git_source.update()
    git_source.prune([kept])
    assert sorted(p.name for p in (git_source.home / "checkouts").iterdir()) == [second.sha]
    assert kept.exists() and not dropped.exists()
    assert first.sha != second.sha


def test_prune_keeps_a_checkout_a_running_container_mounts(source, work):
    git_source = source()
    first = git_source.update()
    mounted = git_source.home / "checkouts" / first.sha / "web" / "app.toml"
    commit_files(work, {"web/app.toml": "two\n"}, "second")
    push(work)
    git_source.update()
    git_source.prune([mounted])
    assert mounted.read_text() == "one\n"


def test_a_url_with_credentials_is_refused_and_masked(tmp_path):
    with pytest.raises(GitError) as refused:
        GitSource("https://deploy:hunter2@forge.example/ops.git", "main", ".", tmp_path / "git")
    assert "hunter2" not in str(refused.value) and "deploy" not in str(refused.value)
    assert "https://***@forge.example/ops.git" in str(refused.value)
    assert "token in a file" in str(refused.value)


def test_the_query_of_a_url_is_masked_in_gits_own_words_too(tmp_path):
    git_source = GitSource("http://127.0.0.1:9/ops.git?ref=CANARY", "main", ".", tmp_path / "git")
    with pytest.raises(Unreachable) as failed:
        git_source.fetch()
    assert "CANARY" not in str(failed.value) and "CANARY" not in failed.value.said
    assert "unable to access 'http://127.0.0.1:9/ops.git?***'" in failed.value.said


def test_an_inherited_git_dir_does_not_redirect_the_clone(source, work, tmp_path, monkeypatch):
    elsewhere = make_bare_repo(tmp_path / "elsewhere.git")
    monkeypatch.setenv("GIT_DIR", str(elsewhere))
    monkeypatch.setenv("GIT_WORK_TREE", str(tmp_path))
    git_source = source()
    assert git_source.update().subject == "first"
    monkeypatch.delenv("GIT_DIR")
    assert git("for-each-ref", cwd=elsewhere) == ""


def test_a_token_reaches_git_as_configuration_from_the_environment(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("canary-token\n")
    forge = Git("https://forge.example/r.git", Credentials(token_file=token_file, username="deploy"))
    header = forge.run("config", "--get", "http.https://forge.example/.extraheader").strip()
    assert header == "Authorization: Basic ZGVwbG95OmNhbmFyeS10b2tlbg=="  # base64 of deploy:canary-token


# -- verification of SSH signatures ----------------------------------------------------------------


def test_a_commit_signed_by_an_allowed_key_is_checked_out(source, work, signer):
    key, allowed = signer
    sha = commit_files(work, {"web/app.toml": "signed\n"}, "signed", sign_key=key)
    push(work)
    git_source = source(verification=Verification(allowed_signers=allowed))
    assert git_source.update().sha == sha
    assert (git_source.root / "app.toml").read_text() == "signed\n"


def test_an_unsigned_commit_is_refused_naming_it_and_the_last_verified_stays(source, work, signer):
    key, allowed = signer
    commit_files(work, {"web/app.toml": "signed\n"}, "signed", sign_key=key)
    push(work)
    git_source = source(verification=Verification(allowed_signers=allowed))
    verified = git_source.update()
    sha = commit_files(work, {"web/app.toml": "unsigned\n"}, "unsigned")
    push(work)
    with pytest.raises(VerificationFailed, match=f"commit {sha[:12]} on refs/heads/main is not signed$"):
        git_source.update()
    assert git_source.current == verified
    assert (git_source.root / "app.toml").read_text() == "signed\n"


def test_verify_refuses_an_unsigned_revision_in_force_once_verification_is_turned_on(source, work, signer):
    _, allowed = signer
    unsigned = source().update()
    restarted = source(verification=Verification(allowed_signers=allowed))
    assert restarted.current == unsigned
    with pytest.raises(VerificationFailed, match=f"commit {unsigned.short} on refs/heads/main is not signed$"):
        restarted.verify(restarted.current)


def test_verify_accepts_a_signed_revision_in_force(source, work, signer):
    key, allowed = signer
    commit_files(work, {"web/app.toml": "signed\n"}, "signed", sign_key=key)
    push(work)
    signed = source().update()
    source(verification=Verification(allowed_signers=allowed)).verify(signed)


def test_verify_checks_nothing_without_verification(source):
    git_source = source()
    git_source.verify(git_source.update())


def test_verify_accepts_the_signed_tag_in_force_after_the_tag_moved_to_a_refused_commit(source, work, signer):
    key, allowed = signer
    tag(work, "v1", sign_key=key)
    git_source = source(ref="v1", verification=Verification(allowed_signers=allowed))
    signed = git_source.update()
    commit_files(work, {"web/app.toml": "unsigned\n"}, "unsigned")
    tag(work, "v1")
    with pytest.raises(VerificationFailed, match="tag v1 on refs/tags/v1 is not signed"):
        git_source.update()
    restarted = source(ref="v1", verification=Verification(allowed_signers=allowed))
    assert restarted.current == signed
    restarted.verify(signed)


def test_verify_refuses_an_unsigned_tag_in_force_once_verification_is_turned_on(source, work, signer):
    _, allowed = signer
    tag(work, "v1")
    unsigned = source(ref="v1").update()
    with pytest.raises(VerificationFailed, match="tag v1 on refs/tags/v1 is not signed"):
        source(ref="v1", verification=Verification(allowed_signers=allowed)).verify(unsigned)


def test_a_commit_signed_by_another_key_is_refused(source, work, signer, tmp_path):
    _, allowed = signer
    stranger, _ = make_signing_key(tmp_path, "stranger")
    commit_files(work, {"web/app.toml": "forged\n"}, "forged", sign_key=stranger)
    push(work)
    with pytest.raises(VerificationFailed, match="not signed by an allowed key"):
        source(verification=Verification(allowed_signers=allowed)).update()


def test_a_signed_tag_is_verified_when_the_ref_is_a_tag(source, work, signer):
    key, allowed = signer
    tag(work, "v1", sign_key=key)
    revision = source(ref="v1", verification=Verification(allowed_signers=allowed)).update()
    assert revision.ref == "refs/tags/v1"


def test_an_unsigned_tag_on_a_signed_commit_is_refused_when_the_ref_is_a_tag(source, work, signer):
    key, allowed = signer
    commit_files(work, {"web/app.toml": "signed\n"}, "signed", sign_key=key)
    push(work)
    tag(work, "v1")
    with pytest.raises(VerificationFailed, match="tag v1 on refs/tags/v1 is not signed"):
        source(ref="v1", verification=Verification(allowed_signers=allowed)).update()


def test_a_lightweight_tag_is_refused_under_verification(source, work, signer):
    _, allowed = signer
    tag(work, "v1", annotated=False)
    with pytest.raises(VerificationFailed, match="lightweight tag"):
        source(ref="v1", verification=Verification(allowed_signers=allowed)).update()


def test_a_rewind_to_an_older_signed_commit_is_refused_under_verification(source, work, signer):
    key, allowed = signer
    old = commit_files(work, {"web/app.toml": "old\n"}, "old", sign_key=key)
    push(work)
    git_source = source(verification=Verification(allowed_signers=allowed))
    git_source.update()
    commit_files(work, {"web/app.toml": "new\n"}, "new", sign_key=key)
    push(work)
    newest = git_source.update()
    force_push(work, source=old)
    with pytest.raises(Rewound, match=f"moved from {newest.short} to {old[:12]}"):
        git_source.update()
    assert git_source.current == newest


def test_a_rewind_is_followed_when_allowed(source, work, signer):
    key, allowed = signer
    old = commit_files(work, {"web/app.toml": "old\n"}, "old", sign_key=key)
    push(work)
    git_source = source(verification=Verification(allowed_signers=allowed, allow_rewind=True))
    git_source.update()
    commit_files(work, {"web/app.toml": "new\n"}, "new", sign_key=key)
    push(work)
    git_source.update()
    force_push(work, source=old)
    assert git_source.update().sha == old


@pytest.fixture
def gpg_keyrings(tmp_path_factory, monkeypatch):
    """(the signer's keyring, a keyring trusting only the signer's public key); git signs with the
    first (GNUPGHOME). The gpg-agents started are stopped afterwards."""
    signing, trusting = (tmp_path_factory.mktemp(name) for name in ("gpg-sign", "gpg-trust"))
    for home in (signing, trusting):
        home.chmod(0o700)
    gpg = ("gpg", "--batch", "--quiet", "--homedir")
    subprocess.run([*gpg, str(signing), "--passphrase", "", "--quick-gen-key", f"Tests <{SIGNER}>", "ed25519",
                    "sign", "never"], check=True, timeout=60)
    public = subprocess.run([*gpg, str(signing), "--export", SIGNER], check=True, capture_output=True, timeout=60)
    subprocess.run([*gpg, str(trusting), "--import"], input=public.stdout, check=True, timeout=60)
    monkeypatch.setenv("GNUPGHOME", str(signing))
    yield signing, trusting
    for home in (signing, trusting):
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], check=False, timeout=60)


def test_a_commit_signed_by_a_key_of_the_gpg_keyring_is_checked_out_and_an_unsigned_one_refused(
        source, work, gpg_keyrings):
    _, trusting = gpg_keyrings
    git("-c", f"user.signingkey={SIGNER}", "commit", "--quiet", "--allow-empty", "-S", "-m", "gpg signed", cwd=work)
    push(work)
    git_source = source(verification=Verification(gpg_home=trusting))
    assert git_source.update().subject == "gpg signed"
    sha = commit_files(work, {"web/app.toml": "unsigned\n"}, "unsigned")
    push(work)
    with pytest.raises(VerificationFailed, match=f"commit {sha[:12]} on refs/heads/main is not signed"):
        git_source.update()
