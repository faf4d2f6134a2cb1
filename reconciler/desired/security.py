"""Capabilities and security options as the engine reads them (Docker 20.10, API 1.41).

Capabilities: moby oci/caps/utils.go NormalizeLegacyCapabilities upper-cases a name, adds `CAP_`
when it is missing and refuses one its capability list does not hold ("unknown capability");
`ALL` stands for every one. Docker 20.10 takes its list from syndtr/gocapability, which ends at
CAP_AUDIT_READ: the later CAP_PERFMON, CAP_BPF and CAP_CHECKPOINT_RESTORE are refused by it.

Security options: moby daemon/daemon_unix.go parseSecurityOpt takes `no-new-privileges` and
`disable` alone, and otherwise KEY=VALUE (or the older KEY:VALUE, split at the first `:` when
there is no `=`) with the keys `label`, `apparmor`, `seccomp` and `no-new-privileges` (a Go
boolean, strconv.ParseBool). A `seccomp` profile reaches the engine as JSON text: `docker run`
reads a profile file for its request (docker/cli opts.go parseSecurityOpts), the engine only
decodes the text it is given. `systempaths=unconfined` is handled by `docker run` alone, which
sends empty MaskedPaths and ReadonlyPaths instead; the engine refuses the option itself.
"""

from __future__ import annotations

import json

from reconciler.desired.schema import did_you_mean

CAPABILITIES = frozenset({
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
    "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
    "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
    "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
    "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ",
})
_LATER_CAPABILITIES = frozenset({"PERFMON", "BPF", "CHECKPOINT_RESTORE"})  # Linux 5.8, 5.8, 5.9
_OPTION_KEYS = ("label", "apparmor", "seccomp", "no-new-privileges")
_ALONE = ("no-new-privileges", "disable")
_GO_BOOLEANS = frozenset({"1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"})
_LABEL_KEYS = ("user", "role", "type", "level", "filetype")  # go-selinux InitLabels


def capability(value: str) -> str:
    """The capability without `CAP_`, in upper case (`"cap_net_admin"` -> `"NET_ADMIN"`), or `ALL`;
    ValueError with the closest name for one the engine would refuse."""
    name = value.upper().removeprefix("CAP_")
    if name in CAPABILITIES or name == "ALL":
        return name
    if name in _LATER_CAPABILITIES:
        raise ValueError(f"capability '{value}' is newer than Docker 20.10 (API 1.41), which refuses it"
                         " as unknown")
    prefix = "CAP_" if value.upper().startswith("CAP_") else ""
    hint = did_you_mean(prefix + name, sorted(prefix + known for known in CAPABILITIES))
    raise ValueError(f"unknown capability '{value}'{hint}: expected a Linux capability such as NET_ADMIN"
                     " (with or without CAP_, in any case) or ALL")


def _label_problem(setting: str) -> str | None:
    """Why an SELinux host's engine would refuse this label (go-selinux InitLabels), or None."""
    name, separator, _ = setting.partition(":")
    if setting == "disable" or (separator and name in _LABEL_KEYS):
        return None
    return (f"an engine on an SELinux host refuses it: expected disable, or {', '.join(_LABEL_KEYS[:-1])} or"
            f" {_LABEL_KEYS[-1]} followed by ':' and a value")


def _seccomp_problem(setting: str) -> str | None:
    if setting == "unconfined":
        return None
    try:
        profile = json.loads(setting)
    except ValueError:
        profile = None
    if isinstance(profile, dict):
        return None
    return ("expected unconfined or a profile as JSON text: the engine decodes the text it is given and"
            " reads no file (docker run reads the file for its request)")


def _boolean_problem(setting: str) -> str | None:
    return None if setting in _GO_BOOLEANS else f"expected true or false, not '{setting}'"


_SETTING_CHECKS = {"label": _label_problem, "seccomp": _seccomp_problem, "no-new-privileges": _boolean_problem}


def security_option(value: str) -> str:
    """The option as written, or ValueError saying why the engine would refuse it."""
    if value in _ALONE:
        return value
    key, separator, setting = value.partition("=" if "=" in value else ":")
    if not separator:
        raise ValueError(f"'{value}' is not a security option: expected label=..., apparmor=..., seccomp=...,"
                         " no-new-privileges=true|false, or no-new-privileges alone")
    if key == "systempaths":
        raise ValueError(f"'{value}' is an option of docker run, which turns it into other settings;"
                         " the engine refuses it")
    if key not in _OPTION_KEYS:
        raise ValueError(f"unknown security option '{key}'{did_you_mean(key, _OPTION_KEYS)}: the engine takes"
                         f" {', '.join(_OPTION_KEYS)}")
    check = _SETTING_CHECKS.get(key)
    problem = check(setting) if check else None
    if problem:
        raise ValueError(f"{key}: {problem}")
    return value
