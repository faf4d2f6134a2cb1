"""A private SSH git server for the tests: Debian's sshd on 127.0.0.1, with its own config, host key
and authorised client key made in the test, run as a child process (never the system service)."""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
import time
from pathlib import Path

SSHD = Path("/usr/sbin/sshd")
# sshd run as root checks that its privilege separation directory exists (the system service makes it)
PRIVILEGE_SEPARATION = Path("/run/sshd")


class ServerFailed(RuntimeError):
    """The server did not start or answer; the message carries its log."""


def make_key(path: Path, comment: str) -> Path:
    """A new ed25519 key pair without passphrase at `path` and `path`.pub; returns `path`."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
                   check=True, capture_output=True, timeout=30)
    return path


def public_key(key: Path) -> str:
    """The `TYPE BASE64` part of the public half of `key` (no comment)."""
    kind, body = Path(f"{key}.pub").read_text().split()[:2]
    return f"{kind} {body}"


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SshServer:
    """sshd on 127.0.0.1:`port`, accepting the user running the tests with `client_key` only.

    `known_hosts` holds the server's true host key as `[127.0.0.1]:PORT ssh-ed25519 ...`; `log` is
    sshd's own output (`-e`). `start()` raises ServerFailed when sshd does not answer within 10 s."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.user = getpass.getuser()
        self.port = free_port()
        self.host_key = make_key(directory / "host_ed25519", "test sshd host key")
        self.client_key = make_key(directory / "client_ed25519", "test git client")
        self.authorized_keys = directory / "authorized_keys"
        self.authorized_keys.write_text(public_key(self.client_key) + "\n")
        self.known_hosts = directory / "known_hosts"
        self.known_hosts.write_text(self.known_hosts_line(self.host_key))
        self.config = directory / "sshd_config"
        self.config.write_text(self._config())
        self.log = directory / "sshd.log"
        self._process: subprocess.Popen | None = None

    def known_hosts_line(self, host_key: Path) -> str:
        """The known_hosts line that says `host_key` is this server's key."""
        return f"[127.0.0.1]:{self.port} {public_key(host_key)}\n"

    def url(self, repository: Path) -> str:
        """The ssh:// URL of the repository at the absolute path `repository`."""
        return f"ssh://{self.user}@127.0.0.1:{self.port}{repository.resolve()}"

    def _config(self) -> str:
        return "\n".join([
            f"Port {self.port}",
            "ListenAddress 127.0.0.1",
            f"HostKey {self.host_key}",
            f"AuthorizedKeysFile {self.authorized_keys}",
            f"AllowUsers {self.user}",
            f"PidFile {self.directory / 'sshd.pid'}",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin prohibit-password",
            "StrictModes no",
            "UsePAM no",
            "LogLevel VERBOSE",
            "",
        ])

    def start(self) -> None:
        if os.geteuid() == 0:
            PRIVILEGE_SEPARATION.mkdir(mode=0o755, exist_ok=True)
        with open(self.log, "wb") as log:
            self._process = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(self.config)],
                                             stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while not self._answers():
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise ServerFailed(f"sshd did not start on 127.0.0.1:{self.port}:\n{self.log.read_text()}")
            time.sleep(0.05)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as connection:
                return connection.recv(4).startswith(b"SSH-")
        except OSError:
            return False

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None
