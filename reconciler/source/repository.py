"""A git repository the agent follows: fetch a ref, verify it, check it out completely, switch atomically.

    source = GitSource("https://forge.example/ops/hosts.git", "main", "web", state_dir / "git")
    revision = source.update()   # the new Revision, or None when nothing changed
    source.root                  # <home>/current/web: the stable directory the loader reads

`home` (`<state-dir>/git`, mode 0700) belongs to this class alone. Layout:

    repo.git/            a bare repository: the ref followed is fetched into the same ref name;
                         refs/reconciler/current holds the commit in force (so it is never pruned),
                         refs/reconciler/current-tag its tag when a tag is followed (so that it
                         can be verified again after the tag moved)
    checkouts/<sha>/     the complete tree of a commit, written under a hidden temporary name
                         (.<sha>.<random>) and renamed once complete
    current              a symlink to checkouts/<sha>, the revision in force; replaced atomically
                         (a new symlink under a temporary name, then os.replace)
    revision.json        {"sha", "ref", "subject"} of the revision in force
    content/<object-id>  a tree (a directory) or blob (a file) written once, for bind mounts that
                         must not move when an unrelated file changes (see `materialise`)

A reader resolves `root` once (os.path.realpath) and reads that checkout: it is complete and is
never modified; `prune` removes it only when it is no longer in force nor in use.

Trees are written by this module from git's objects (`ls-tree` + `cat-file --batch`), so the files
are exactly the committed bytes: no end-of-line conversion, smudge filter or export attribute.
Submodules and LFS are not followed: a tree under `path` holding a gitlink, or a `.gitattributes`
that applies `filter=lfs` there, raises Unsupported.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import structlog

from reconciler.agent.atomic import fsync_directory, write_atomically
from reconciler.source.git import (
    NO_CREDENTIALS,
    Credentials,
    Git,
    GitError,
    RefNotFound,
    Rewound,
    Unsupported,
    VerificationFailed,
    mask_url,
)
from reconciler.source.trees import Entry, escaping_links, parse_ls_tree, read_blobs, write_entries

log = structlog.get_logger("reconciler.source")

_REPO = "repo.git"
_CHECKOUTS = "checkouts"
_CURRENT = "current"
_CONTENT = "content"
_RECORD = "revision.json"
_IN_FORCE = "refs/reconciler/current"
_IN_FORCE_TAG = "refs/reconciler/current-tag"  # the tag object of the revision in force, when a tag is followed
_SHA = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True)
class Revision:
    """A fetched commit: `sha` (40 hex), `ref` the full ref followed (`refs/heads/main`,
    `refs/tags/v1`), `subject` its commit's first line."""

    sha: str
    ref: str
    subject: str

    @property
    def short(self) -> str:
        return self.sha[:12]


@dataclass(frozen=True)
class Verification:
    """What a revision must carry to be checked out: a signature by a key of `allowed_signers`
    (an SSH allowed-signers file, git's `gpg.ssh.allowedSignersFile`) or of the GPG keyring in
    `gpg_home` (GNUPGHOME). A tag's signature when the ref followed is a tag, else the head
    commit's. `allow_rewind`: follow a branch to a commit that does not descend from the last one."""

    allowed_signers: Path | None = None
    gpg_home: Path | None = None
    allow_rewind: bool = False

    def options(self) -> tuple[str, ...]:
        """git's `-c` options for verifying with the allowed signers file."""
        if self.allowed_signers is None:
            return ()
        return ("-c", f"gpg.ssh.allowedSignersFile={self.allowed_signers}")


def _clean_rel(rel: str) -> str:
    """`rel` as a repository path ("" for the root). Raises GitError for an absolute path or `..`."""
    parts = [part for part in rel.replace("\\", "/").split("/") if part not in ("", ".")]
    if rel.startswith("/") or ".." in parts:
        raise GitError(f"{rel!r} is not a path inside the repository")
    return "/".join(parts)


def _above(folder: str, prefix: str) -> bool:
    """Whether repository folder `folder` ("" for the root) holds the path `prefix` ("dir/")."""
    return not folder or prefix.startswith(f"{folder}/")


class GitSource:
    """The repository at `url`, following `ref` (None: the remote's default branch; a name: the
    branch of that name, else the tag; `refs/...`: as given), whose desired state is under `path`.
    Raises GitError for a URL with credentials in it. Safe to call from several threads."""

    def __init__(self, url: str, ref: str | None, path: str, home: Path, credentials: Credentials = NO_CREDENTIALS,
                 verification: Verification | None = None) -> None:
        self.url = url
        self.ref = ref
        self.path = _clean_rel(path)
        self.home = Path(home)
        self.verification = verification
        environment = {"GNUPGHOME": str(verification.gpg_home)} if verification and verification.gpg_home else {}
        self.git = Git(url, credentials, safe_directory=self.home / _REPO, environment=environment)
        self._lock = threading.RLock()
        self._current = self._read_current()
        self._objects: dict[tuple[str, str], tuple[str, str] | None] = {}  # (sha, path) -> what object_at found
        self.mask: Callable[[str], str] = lambda text: text  # a commit subject as the logs may show it (secrets masked)

    # -- what is in force ------------------------------------------------------------------------

    @property
    def current(self) -> Revision | None:
        """The revision in force, None before the first checkout (kept across restarts)."""
        return self._current

    def checkout(self, revision: Revision) -> Path:
        """The complete checkout of `revision` (`home/checkouts/<sha>`), once checked out."""
        return self.home / _CHECKOUTS / revision.sha

    @property
    def root(self) -> Path:
        """`home/current/path`: the stable directory the loader reads."""
        return self.home / _CURRENT / self.path if self.path else self.home / _CURRENT

    def _read_current(self) -> Revision | None:
        try:
            sha = os.readlink(self.home / _CURRENT).rsplit("/", 1)[-1]
        except OSError:
            return None
        try:
            record = json.loads((self.home / _RECORD).read_text())
        except (OSError, ValueError):
            record = {}
        if record.get("sha") == sha:
            return Revision(sha, record["ref"], record["subject"])
        try:
            subject = self._in_repo("log", "-1", "--format=%s", sha).strip()
        except GitError:
            subject = ""
        return Revision(sha, record.get("ref", ""), subject)

    # -- fetching --------------------------------------------------------------------------------

    def _in_repo(self, *args: str, input: bytes | None = None) -> str:
        return self._raw(*args, input=input).decode(errors="replace")

    def _raw(self, *args: str, input: bytes | None = None) -> bytes:
        return self.git.raw("--git-dir", str(self.home / _REPO), "--literal-pathspecs", *args, input=input)

    def _ensure_repo(self) -> None:
        self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.home, 0o700)
        if not (self.home / _REPO / "HEAD").exists():
            self.git.run("init", "--bare", "--quiet", str(self.home / _REPO))

    def _remote_ref(self) -> tuple[str, str]:
        """(full ref followed, its object id on the remote). Raises RefNotFound, Unreachable, ..."""
        if self.ref is None:
            lines = self.git.run("ls-remote", "--symref", self.url, "HEAD").splitlines()
            symref = next((line.split()[1] for line in lines if line.startswith("ref: ")), None)
            target = next((line.split()[0] for line in lines if not line.startswith("ref: ")), None)
            if symref is None or target is None:
                raise RefNotFound(f"{mask_url(self.url)} has no default branch (HEAD): an empty repository?")
            return symref, target
        wanted = [self.ref] if self.ref.startswith("refs/") else [f"refs/heads/{self.ref}", f"refs/tags/{self.ref}"]
        listed = self.git.run("ls-remote", self.url, *wanted).splitlines()
        found = {name: oid for oid, _, name in (line.partition("\t") for line in listed)}
        for ref in wanted:
            if ref in found:
                return ref, found[ref]
        raise RefNotFound(f"{mask_url(self.url)} has no {' or '.join(wanted)}")

    def _local(self, ref: str) -> str | None:
        try:
            return self._in_repo("rev-parse", "--verify", "--quiet", ref).strip() or None
        except GitError:
            return None

    def fetch(self) -> Revision:
        """Fetch the ref followed (cloning on first use) and return its revision; checks nothing out.
        A force-push is followed. Logs `git.fetched` at info when the ref moved, else at debug (a poll
        of an unchanged remote logs nothing at info). Raises Unreachable, AuthenticationFailed, HostKeyRejected,
        RefNotFound or GitError."""
        with self._lock:
            self._ensure_repo()
            ref, remote_id = self._remote_ref()
            moved = self._local(ref) != remote_id
            if moved:
                self._raw("fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--no-recurse-submodules",
                          self.url, f"+{ref}:{ref}")
            head = self._in_repo("log", "-1", "--format=%H%x00%s", f"{ref}^{{commit}}")
            sha, _, subject = head.strip().partition("\0")
            revision = Revision(sha, ref, subject)
            (log.info if moved else log.debug)("git.fetched", url=mask_url(self.url), ref=ref,
                                               revision=revision.short, moved=moved)
            return revision

    # -- checking out ----------------------------------------------------------------------------

    def check_out(self, revision: Revision) -> None:
        """Verify `revision` (when configured), refuse what is not followed, write its complete tree
        and make it the one in force. Idempotent for the revision in force. Raises VerificationFailed,
        Rewound, Unsupported, or GitError (`path` missing at that revision)."""
        with self._lock:
            current = self._current
            if current == revision and (self.home / _CHECKOUTS / revision.sha).is_dir():
                return
            try:
                self._refuse(revision, current)
            except GitError as error:
                log.warning("git.refused", revision=revision.short, ref=revision.ref, error=str(error))
                raise
            entries = parse_ls_tree(self._raw("ls-tree", "-r", "-t", "-z", "--full-tree", revision.sha))
            self._check_followable(revision, entries)
            target = self.home / _CHECKOUTS / revision.sha
            if not target.is_dir():
                self._write_tree(entries, target)
            self._switch(revision)
            log.info("git.checked_out", revision=revision.short, ref=revision.ref, subject=self.mask(revision.subject))

    def _refuse(self, revision: Revision, current: Revision | None) -> None:
        if self.verification is None:
            return
        self.verify(revision)
        if (current is None or current.ref != revision.ref or current.sha == revision.sha
                or self.verification.allow_rewind):
            return
        if self.git.attempt("--git-dir", str(self.home / _REPO), "merge-base", "--is-ancestor", current.sha,
                            revision.sha) is not None:
            raise Rewound(f"{revision.ref} moved from {current.short} to {revision.short}, which does not descend "
                          "from it (a force-push to another history); refused under verification unless "
                          "rewinds are allowed")

    def verify(self, revision: Revision) -> None:
        """Check `revision`'s signature under the verification configured (nothing without one): its
        tag's when its ref is a tag, else its commit's. For the revision in force at start, when the
        options may have changed since it was checked out. Raises VerificationFailed (unsigned, not by
        an allowed key, a lightweight or moved tag), GitError when git cannot tell; never Rewound."""
        if self.verification is None:
            return
        tag = revision.ref.startswith("refs/tags/")
        what = f"tag {revision.ref.removeprefix('refs/tags/')}" if tag else f"commit {revision.short}"
        # the tag as fetched, else as it was when this revision was put in force (the tag may have moved since)
        held = next((ref for ref in (revision.ref, _IN_FORCE_TAG) if self._local(f"{ref}^{{commit}}") == revision.sha),
                    None)
        if tag and held is None:
            raise VerificationFailed(f"{what} no longer points at commit {revision.short}")
        if tag and self._in_repo("cat-file", "-t", held).strip() != "tag":
            raise VerificationFailed(f"{what} is a lightweight tag: it carries no signature")
        said = self.git.attempt(*self.verification.options(), "--git-dir", str(self.home / _REPO),
                                "verify-tag" if tag else "verify-commit", held if tag else revision.sha)
        if said == "":
            raise VerificationFailed(f"{what} on {revision.ref} is not signed")
        if said is not None:
            raise VerificationFailed(f"{what} on {revision.ref} is not signed by an allowed key ({said})")

    def _check_followable(self, revision: Revision, entries: list[Entry]) -> None:
        prefix = f"{self.path}/" if self.path else ""
        if self.path and not any(e.path == self.path and e.kind == "tree" for e in entries):
            raise GitError(f"the path {self.path!r} is not a directory at commit {revision.short} ({revision.ref})")
        for entry in entries:
            if entry.kind == "commit" and entry.path.startswith(prefix):
                raise Unsupported(f"commit {revision.short}: {entry.path} is a submodule; submodules are not followed")
        attributes = [e for e in entries if e.kind == "blob" and e.path.rpartition("/")[2] == ".gitattributes"
                      and (e.path.startswith(prefix) or _above(e.path.rpartition("/")[0], prefix))]
        for entry, data in zip(attributes, read_blobs(self._raw, [e.oid for e in attributes]), strict=True):
            if b"filter=lfs" in data:
                raise Unsupported(f"commit {revision.short}: {entry.path} stores files in Git LFS; LFS is not followed")

    def _write_tree(self, entries: list[Entry], target: Path) -> None:
        target.parent.mkdir(mode=0o700, exist_ok=True)
        temporary = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
        try:
            write_entries(self._raw, entries, temporary)
            os.chmod(temporary, 0o755)
            os.rename(temporary, target)
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise
        fsync_directory(target.parent)

    def _switch(self, revision: Revision) -> None:
        record = {"sha": revision.sha, "ref": revision.ref, "subject": revision.subject}
        write_atomically(self.home / _RECORD, json.dumps(record).encode() + b"\n", 0o600)
        link = self.home / f".{_CURRENT}.{os.getpid()}.{threading.get_ident()}"
        link.unlink(missing_ok=True)
        os.symlink(f"{_CHECKOUTS}/{revision.sha}", link)
        os.replace(link, self.home / _CURRENT)
        fsync_directory(self.home)
        self._in_repo("update-ref", _IN_FORCE, revision.sha)
        if revision.ref.startswith("refs/tags/"):
            self._in_repo("update-ref", _IN_FORCE_TAG, revision.ref)
        self._current = revision

    def update(self) -> Revision | None:
        """Fetch, and check out when the fetched revision is not the one in force: the new revision,
        or None when nothing changed. Raises as `fetch` and `check_out` do."""
        with self._lock:
            revision = self.fetch()
            if revision == self._current:
                return None
            self.check_out(revision)
            return revision

    # -- objects at the revision in force, and their content-addressed copies --------------------

    def object_at(self, rel: str, revision: str | None = None) -> tuple[str, str] | None:
        """`(type, object id)` of the repository path `rel` at commit `revision` (a full 40-hex sha;
        default: the revision in force), type being "tree", "blob" or "link" (a symlink); None when
        nothing is there, or nothing is in force and no revision is given. Raises Unsupported for a
        submodule, GitError for a path leaving the repository or a revision the clone does not hold."""
        rel = _clean_rel(rel)
        if revision is None:
            current = self._current
            if current is None:
                return None
            revision = current.sha
        if (revision, rel) in self._objects:  # a commit never changes: each pass asks again, git once
            return self._objects[revision, rel]
        if not _SHA.fullmatch(revision) or self._local(f"{revision}^{{commit}}") != revision:
            raise GitError(f"{revision[:40]!r} is not a commit the clone holds (a full sha)")
        self._objects[revision, rel] = found = self._look_up(rel, revision)
        return found

    def _look_up(self, rel: str, revision: str) -> tuple[str, str] | None:
        if not rel:
            return "tree", self._in_repo("rev-parse", f"{revision}^{{tree}}").strip()
        entries = parse_ls_tree(self._raw("ls-tree", "-z", "--full-tree", revision, "--", rel))
        entry = next((e for e in entries if e.path == rel), None)
        if entry is None:
            return None
        if entry.kind == "commit":
            raise Unsupported(f"{rel} is a submodule at commit {revision[:12]}; submodules are not followed")
        return ("link" if entry.mode == "120000" else entry.kind), entry.oid

    def escaping_link(self, tree_oid: str) -> str | None:
        """The path (relative to the tree) of a symlink in tree `tree_oid` that resolves outside it,
        or None when every symlink stays inside."""
        links = escaping_links(self._raw, parse_ls_tree(self._raw("ls-tree", "-r", "-t", "-z", tree_oid)))
        return links[0] if links else None

    def materialise(self, object_id: str) -> Path:
        """`home/content/<object_id>`: the tree (a directory) or blob (a file) written once.
        Raises GitError for an unknown object, or for a tree holding a symlink that leads outside it
        (naming that symlink's repository path)."""
        with self._lock:
            target = self.home / _CONTENT / object_id
            if target.exists():
                return target
            kind = self._in_repo("cat-file", "-t", object_id).strip()
            if kind == "blob":
                (data,) = read_blobs(self._raw, [object_id])
                target.parent.mkdir(mode=0o700, exist_ok=True)
                write_atomically(target, data, 0o644)
                return target
            if kind != "tree":
                raise GitError(f"object {object_id} is a {kind}, not a tree or a blob")
            entries = parse_ls_tree(self._raw("ls-tree", "-r", "-t", "-z", object_id))
            links = escaping_links(self._raw, entries)
            if links:
                raise GitError(f"the symlink {self._repository_path(object_id, links[0])} leads outside its "
                               "directory; refused")
            self._write_tree(entries, target)
            return target

    def _repository_path(self, tree_oid: str, rel: str) -> str:
        """`rel` inside tree `tree_oid` as a path from the repository root at the revision in force."""
        if self._current is None:
            return rel
        entries = parse_ls_tree(self._raw("ls-tree", "-r", "-t", "-z", self._current.sha))
        where = next((e.path for e in entries if e.oid == tree_oid and e.kind == "tree"), None)
        return f"{where}/{rel}" if where else rel

    def prune(self, in_use: Iterable[Path]) -> None:
        """Remove the checkouts and content copies that are neither in force nor hold a path of
        `in_use` (the bind sources of running containers), and leftovers of interrupted writes."""
        with self._lock:
            in_force = self.home / _CHECKOUTS / self._current.sha if self._current else None
            used = [Path(os.path.abspath(path)) for path in in_use]
            for folder in (self.home / _CHECKOUTS, self.home / _CONTENT):
                for entry in sorted(folder.iterdir()) if folder.is_dir() else ():
                    if entry == in_force or any(path == entry or entry in path.parents for path in used):
                        continue
                    if entry.is_dir() and not entry.is_symlink():
                        shutil.rmtree(entry)
                    else:
                        entry.unlink()
                    log.info("git.pruned", path=str(entry.relative_to(self.home)))
