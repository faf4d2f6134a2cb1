"""Compose's secrets and configs (DESIGN section 11): the top-level `[secret.NAME]` and
`[config.NAME]` declarations, the `secrets` / `configs` lists of a container, and the keyed hash
that stands for each value.

A declaration takes its value from exactly one source: `file` (relative to the TOML file's
folder, or absolute; inside a git checkout a relative path must stay in it), `environment` (a
variable, read as interpolation reads them: the process environment, then the env file) or, for
a config, `content` (inline text). The value is read here, once per load, and kept in a `Sealed`
wrapper; what the spec hash holds is `keyed_hash(key, value)`, the key being the state
directory's (`StateDir.hash_key`), so no value is ever printed, labelled or compared in the clear.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
from collections.abc import Mapping

from reconciler import masking
from reconciler.desired.resource import Resource
from reconciler.fields import FileGrant, Sealed
from reconciler.model import ConfigSpec, DesiredState, SecretSpec

SECRETS_FOLDER = "/run/secrets"  # where a secret is mounted by default (Compose)
DEFAULT_MODE = {"secrets": 0o400, "configs": 0o444}
_SOURCES = {"secret": ("file", "environment"), "config": ("file", "environment", "content")}
# the largest uid/gid: Linux ids are 32-bit and (uid_t)-1, 4294967295, means "no change" to chown(2)
MAX_ID = 2**32 - 2
_PROCESS_KEY = os.urandom(32)  # for loads that print no hash (validate): any key compares alike


def process_key() -> bytes:
    """A key that lives as long as this process: for loads without a state directory."""
    return _PROCESS_KEY


def keyed_hash(key: bytes, value: bytes) -> str:
    """"hmac-sha256:HEX" of `value` under `key`: how secrets are compared without being kept (DESIGN
    section 11), in spec hashes and in the last-applied records (`agent.lastapplied`)."""
    return "hmac-sha256:" + hmac.new(key, value, hashlib.sha256).hexdigest()


def _value(r: Resource, kind: str) -> tuple[str, str, bytes] | None:
    """(source key, what it says, the value) of a declaration, or None after reporting why not.
    A message names the file or the variable, never the value."""
    given = [key for key in _SOURCES[kind] if key in r.written]
    if len(given) != 1:
        what = " or ".join(f"`{key}`" for key in _SOURCES[kind])
        r.error((), f"needs exactly one of {what}" + (f"; it has {', '.join(given)}" if given else ""))
        return None
    key = given[0]
    if key not in r.body:
        return None
    said = r.body[key]
    if key == "content":
        return key, said, said.encode()
    if key == "environment":
        if said not in r.report.environ:
            r.error(key, f"the variable {said} is not set (neither in the environment nor in the env file)")
            return None
        return key, said, r.report.environ[said].encode()
    path = r.base / said
    if r.report.confine is not None and not said.startswith("/") and r.report.escapes(str(path)):
        r.error(key, f"{said} leads outside the repository; refused")
        return None
    r.report.inputs.append(str(path))
    try:
        return key, str(path), path.read_bytes()
    except OSError as error:
        r.error(key, f"{said} cannot be read: {error.strerror or error}")
        return None


def declaration(r: Resource) -> SecretSpec | ConfigSpec | None:
    """The spec of one `[secret.NAME]` or `[config.NAME]` table; a secret's text is added to the
    file's secret values, so that any message that might hold it is scrubbed."""
    kind = r.path[0]
    found = _value(r, kind)
    if found is None or not r.ok:
        return None
    key, said, value = found
    if kind == "secret":
        r.report.secret_values = frozenset({*r.report.secret_values, *masking.pieces(value)})
    make = SecretSpec if kind == "secret" else ConfigSpec
    hash_key = r.report.hash_key or process_key
    return make(name=r.path[-1], source=r.source(), hosts=r.hosts(), digest=keyed_hash(hash_key(), value),
                value=Sealed(value), **{key: said})


def _target(key: str, source: str, target: str | None) -> str:
    """Where a grant is mounted: a secret at /run/secrets/NAME by default and a relative target
    under /run/secrets/; a config at /NAME by default and a relative target under / (Compose).
    A target with a `..` part is refused (Compose takes it; `../../etc/passwd` would leave
    /run/secrets/)."""
    folder = SECRETS_FOLDER if key == "secrets" else ""
    if target is None:
        return f"{folder}/{source}"
    if ".." in target.split("/"):
        raise ValueError(f"target {target!r} has a '..' part; write the path without it")
    path = os.path.normpath(target if target.startswith("/") else f"{folder}/{target}")
    if path == "/":
        raise ValueError("target '/' is the container's root: the engine refuses a mount there; name a file")
    return path


def _number(value: int | str, what: str, base: int = 10) -> int:
    """Compose writes uid, gid and mode as strings too ("103", "0440"); at most MAX_ID."""
    if isinstance(value, int):
        number = value
    else:
        try:
            number = int(value, base)
        except ValueError:
            raise ValueError(f"{value!r} is not a {what}") from None
    if number < 0:
        raise ValueError(f"{what} must not be negative")
    if number > MAX_ID:
        raise ValueError(f"{what} {number} is above {MAX_ID} (Linux ids are 32-bit, 4294967295 is reserved)")
    return number


def _grant(item: str | Mapping, key: str) -> FileGrant:
    """One entry of a container's `secrets` or `configs`: "NAME" or the long form."""
    if isinstance(item, str):
        return FileGrant(item, _target(key, item, None), mode=DEFAULT_MODE[key])
    mode = _number(item.get("mode", DEFAULT_MODE[key]), "file mode (octal, such as 0o440 or \"0440\")", 8)
    if mode > 0o7777:
        raise ValueError(f"mode {mode:#o} has bits beyond 0o7777")
    written = item.get("mode")
    if isinstance(written, int) and written > 7 and set(str(written)) <= set("01234567"):
        raise ValueError(f"mode {written} is the decimal number {written} ({written:#o}), probably meant as octal: "
                         f"write 0o{written} or \"0{written}\" (or {written:#o} if that is what you mean)")
    return FileGrant(item["source"], _target(key, item["source"], item.get("target")),
                     uid=_number(item.get("uid", 0), "user id"), gid=_number(item.get("gid", 0), "group id"), mode=mode)


def grants(r: Resource, key: str) -> tuple[FileGrant, ...]:
    """A container's `secrets` or `configs` (`key`), each entry checked on its own."""
    return r.each(key, _grant, key)


def resolved(state: DesiredState) -> DesiredState:
    """`state` with each container's grants carrying the digest and the value of what they name
    (grants naming nothing declared are left as they are: `references` reports them)."""
    def fill(entries: tuple[FileGrant, ...], declared: Mapping[str, SecretSpec]) -> tuple[FileGrant, ...]:
        return tuple(dataclasses.replace(g, digest=declared[g.source].digest, value=declared[g.source].value)
                     if g.source in declared else g for g in entries)

    containers = {name: dataclasses.replace(spec, secrets=fill(spec.secrets, state.secrets),
                                            configs=fill(spec.configs, state.configs))
                  if spec.secrets or spec.configs else spec for name, spec in state.containers.items()}
    return dataclasses.replace(state, containers=containers)
