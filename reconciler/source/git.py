"""The one module that runs the `git` program: its environment, credentials and failures.

`Git(credentials).run("fetch", url, refspec, cwd=...)` runs git with an environment built for an
unattended agent and maps a failure to one of the typed errors below, whose messages are safe to
show: a URL is masked (`https://***@host/...`), a token never appears, and git's own telling
stderr line is kept.

The environment, for every call:
- inherited `GIT_*` variables are dropped (`GIT_DIR`, `GIT_WORK_TREE`, `GIT_INDEX_FILE`, ...), so
  the caller's shell cannot redirect git to another repository;
- `GIT_TERMINAL_PROMPT=0`, `GCM_INTERACTIVE=never`, `LC_ALL=C`: git never waits for a person and
  its messages are stable;
- `GIT_SSH_COMMAND=ssh [-i KEY -o IdentitiesOnly=yes] -o BatchMode=yes -o StrictHostKeyChecking=yes
  [-o UserKnownHostsFile=KNOWN_HOSTS]`: host keys are always checked, against the given file or
  ssh's default (`~/.ssh/known_hosts`);
- configuration entries only through `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_n`/`GIT_CONFIG_VALUE_n`:
  `safe.directory` for the agent's own clone (git's ownership check) and, with a token file,
  `http.<origin>/.extraHeader = Authorization: Basic base64(username:token)`, the token being read
  from its file on each call (a rotated token is picked up). The token is never in the URL, argv,
  the clone's `.git/config` or a message.
"""

from __future__ import annotations

import base64
import os
import re
import shlex
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

FETCH_TIMEOUT = 300.0  # seconds: the longest any git call may take
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]*@")
# a query (and fragment) of a URL with a scheme, up to the end of the URL in a message
_QUERY = re.compile(r"(?P<url>[A-Za-z][A-Za-z0-9+.-]*://[^?\s'\"]*)\?[^\s'\"]*")
# the scp-like form with a password, `user:password@host:path`, at the start of a word
_SCP_PASSWORD = re.compile(r"(?P<lead>^|[\s'\"(])[^\s'\"/:@]+:(?!//)[^\s'\"@]*@(?=[^\s'\"/:@]+:)")
_SECRET_KEYS = ("token", "password", "passwd", "secret")  # a query key ending so holds a credential
_DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts (ssh's default)"


class GitError(Exception):
    """A git operation failed; the message is safe to show (URLs masked, no credential). `said`:
    git's own telling line, masked ("" when git said nothing or the error is not git's)."""

    def __init__(self, message: str, said: str = "") -> None:
        super().__init__(message)
        self.said = said


class Unreachable(GitError):
    """The remote cannot be reached: DNS, connection refused, timeout, no repository there, hung up."""


class AuthenticationFailed(GitError):
    """The remote refused the credentials (HTTP 401/403, no username, SSH key refused)."""


class HostKeyRejected(GitError):
    """The SSH server's host key is not in the known_hosts file used (named in the message)."""


class RefNotFound(GitError):
    """The branch or tag followed is not on the remote."""


class Unsupported(GitError):
    """The repository uses what is not followed: submodules, LFS."""


class VerificationFailed(GitError):
    """The revision's head commit (or tag) is unsigned or not signed by an allowed key."""


class Rewound(GitError):
    """Under verification, the branch moved to a commit that does not descend from the last one."""


# (error class, fragments of git's or ssh's stderr, lower case), checked in this order
_FAILURES: tuple[tuple[type[GitError], tuple[str, ...]], ...] = (
    (HostKeyRejected, ("host key verification failed", "remote host identification has changed")),
    (AuthenticationFailed, ("returned error: 401", "returned error: 403", "authentication failed",
                            "could not read username", "could not read password", "permission denied",
                            "invalid username or password")),
    (RefNotFound, ("couldn't find remote ref", "remote branch", "invalid refspec")),
    (Unreachable, ("could not resolve host", "connection refused", "connection timed out", "timed out",
                   "connection reset", "network is unreachable", "no route to host", "hung up",
                   "does not appear to be a git repository", "failed to connect", "could not read from remote",
                   "returned error: 404", "returned error: 5", "not found", "unable to access")),
)


def mask_url(url: str) -> str:
    """`url`, or every URL in a message, with what may hold a secret replaced by `***`: any userinfo
    (`https://u:p@host/r` -> `https://***@host/r`), the whole query (`https://host/r?token=t` ->
    `https://host/r?***`) and the user and password of the scp-like form (`u:p@host:r` ->
    `***@host:r`; `git@host:r`, without a password, is kept)."""
    masked = _USERINFO.sub(r"\g<scheme>***@", url)
    masked = _QUERY.sub(r"\g<url>?***", masked)
    return _SCP_PASSWORD.sub(r"\g<lead>***@", masked)


def _secret_key(key: str) -> bool:
    """Whether the query key `key` names a credential (`token`, `private_token`, `password`, `key`, `api_key`)."""
    key = key.lower()
    return key == "key" or key.endswith(("_key", "-key", *_SECRET_KEYS))


def check_url(url: str) -> None:
    """Refuse a URL that carries a credential: a password (`ssh://u:p@host/r`, `u:p@host:r`), any
    userinfo for HTTP(S), a query key naming one (`?private_token=...`, `?access_token=`, `?key=`,
    `?password=`): credentials come from a token file or an SSH key, never from the URL. Raises
    GitError (with the URL masked)."""
    parts = urlsplit(url)
    scp_password = "://" not in url and _SCP_PASSWORD.match(url) is not None
    userinfo = "://" in url and "@" in parts.netloc and (
        parts.scheme in ("http", "https") or parts.password is not None)
    keys = [key for key, _ in parse_qsl(parts.query, keep_blank_values=True)] if "://" in url else []
    if scp_password or userinfo or any(_secret_key(key) for key in keys):
        raise GitError(f"{mask_url(url)}: credentials in the URL are refused; give the token in a file "
                       "(--git-token-file) or use an SSH key (--git-ssh-key)")


@dataclass(frozen=True)
class Credentials:
    """How git authenticates. `ssh_key`: a private key file (ssh `-i`, with IdentitiesOnly);
    `known_hosts`: the SSH host keys trusted (default: ssh's own, `~/.ssh/known_hosts`);
    `token_file`: a file holding an HTTPS token, sent as basic auth `username:token`."""

    ssh_key: Path | None = None
    known_hosts: Path | None = None
    token_file: Path | None = None
    username: str = "git"

    def ssh_command(self) -> str:
        """The `GIT_SSH_COMMAND`: batch mode, strict host key checking, the key alone when given."""
        words = ["ssh"]
        if self.ssh_key is not None:
            words += ["-i", str(self.ssh_key), "-o", "IdentitiesOnly=yes"]
        words += ["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"]
        if self.known_hosts is not None:
            words += ["-o", f"UserKnownHostsFile={self.known_hosts}"]
        return shlex.join(words)

    def token(self) -> str | None:
        """The token, read from `token_file` now (None without one). Raises AuthenticationFailed
        when the file cannot be read or is empty."""
        if self.token_file is None:
            return None
        try:
            token = Path(self.token_file).read_text().strip()
        except OSError as error:
            raise AuthenticationFailed(f"token file {self.token_file}: {error.strerror}") from None
        if not token:
            raise AuthenticationFailed(f"token file {self.token_file} is empty")
        return token


def _origin(url: str) -> str:
    """`scheme://host[:port]/` of an HTTP(S) URL, the scope of its extra header."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"


NO_CREDENTIALS = Credentials()


class Git:
    """Runs git for one remote `url` with `credentials`. `safe_directory`: the agent's clone,
    trusted whoever owns it; `environment`: more variables (GNUPGHOME for verification)."""

    def __init__(self, url: str, credentials: Credentials = NO_CREDENTIALS, safe_directory: Path | None = None,
                 environment: Mapping[str, str] | None = None) -> None:
        check_url(url)
        self.url = url
        self.credentials = credentials
        self.safe_directory = safe_directory
        self.environment = dict(environment or {})

    def _config(self, token: str | None) -> list[tuple[str, str]]:
        entries = []
        if self.safe_directory is not None:
            entries.append(("safe.directory", str(self.safe_directory)))
        if token is not None and urlsplit(self.url).scheme in ("http", "https"):
            basic = base64.b64encode(f"{self.credentials.username}:{token}".encode()).decode()
            entries.append((f"http.{_origin(self.url)}.extraHeader", f"Authorization: Basic {basic}"))
        return entries

    def _env(self, token: str | None) -> dict[str, str]:
        env = {name: value for name, value in os.environ.items() if not name.startswith("GIT_")}
        env.update(GIT_TERMINAL_PROMPT="0", GCM_INTERACTIVE="never", LC_ALL="C",
                   GIT_SSH_COMMAND=self.credentials.ssh_command())
        config = self._config(token)
        env["GIT_CONFIG_COUNT"] = str(len(config))
        for index, (key, value) in enumerate(config):
            env[f"GIT_CONFIG_KEY_{index}"] = key
            env[f"GIT_CONFIG_VALUE_{index}"] = value
        env.update(self.environment)
        return env

    def raw(self, *args: str, cwd: Path | None = None, input: bytes | None = None,
            timeout: float = FETCH_TIMEOUT) -> bytes:
        """git's standard output, as bytes, for `git ARGS` run in `cwd`. Raises a GitError subclass
        (Unreachable for a timeout) whose message names the command, the masked URL and git's words."""
        token = self.credentials.token()
        try:
            done = subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True,
                                  env=self._env(token), timeout=timeout, check=False)
        except FileNotFoundError:
            raise GitError("the git program is not installed (not found on PATH)") from None
        except subprocess.TimeoutExpired:
            raise Unreachable(f"{self._what(args)}: no answer within {timeout:g} s") from None
        if done.returncode != 0:
            raise self.failure(args, done.stderr.decode(errors="replace"), token)
        return done.stdout

    def run(self, *args: str, cwd: Path | None = None, input: str | None = None,
            timeout: float = FETCH_TIMEOUT) -> str:
        """As `raw`, with text in and out (UTF-8)."""
        data = None if input is None else input.encode()
        return self.raw(*args, cwd=cwd, input=data, timeout=timeout).decode(errors="replace")

    def attempt(self, *args: str, timeout: float = FETCH_TIMEOUT) -> str | None:
        """Run `git ARGS` for a yes-or-no answer: None when it succeeded, else git's telling stderr
        line ("" when it said nothing: `verify-commit` of an unsigned commit, `merge-base --is-ancestor`
        of a commit that is not one). Raises GitError when git cannot be run or times out."""
        try:
            self.raw(*args, timeout=timeout)
        except Unreachable:
            raise
        except GitError as error:
            return error.said
        return None

    def _what(self, args: tuple[str, ...]) -> str:
        verb = next((arg for arg in args if not arg.startswith("-")), "git")
        return f"git {verb} {mask_url(self.url)}"

    def failure(self, args: tuple[str, ...], stderr: str, token: str | None = None) -> GitError:
        """The typed error for git `args` that failed with `stderr`."""
        said = self._telling_line(stderr, token)
        message = f"{self._what(args)}: {said or 'failed with no message'}"
        lowered = stderr.lower()
        for kind, fragments in _FAILURES:
            if any(fragment in lowered for fragment in fragments):
                if kind is HostKeyRejected:
                    known = self.credentials.known_hosts or _DEFAULT_KNOWN_HOSTS
                    message = (f"{self._what(args)}: host key verification failed: the SSH server's key is not "
                               f"one trusted (known_hosts file: {known})")
                elif kind is AuthenticationFailed and token and "could not read username" in lowered:
                    message = (f"{self._what(args)}: the server refused the token of {self.credentials.token_file} "
                               f"(as user {self.credentials.username!r})")
                elif kind is AuthenticationFailed and "permission denied (publickey" in lowered:
                    message = f"{self._what(args)}: {self._key_refused()}"
                return kind(message, said)
        return GitError(message, said)

    def _key_refused(self) -> str:
        key = self.credentials.ssh_key
        if key is not None:
            return f"the SSH server refused the key {key} (or: no key was offered)"
        return "the SSH server refused the keys ssh offered (no --git-ssh-key given; or: no key was offered)"

    @staticmethod
    def _telling_line(stderr: str, token: str | None) -> str:
        """git's first `fatal:`/`error:` line, else its last line; masked, without the token."""
        lines = [line.strip() for line in stderr.splitlines() if line.strip()]
        line = next((line for line in lines if line.startswith(("fatal:", "error:"))), lines[-1] if lines else "")
        line = mask_url(line)
        if token:
            line = line.replace(token, "***")
        return line
