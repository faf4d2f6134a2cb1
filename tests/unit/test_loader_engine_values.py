"""Host names, capabilities, security options, users and environment values the engine would refuse
are errors at validation, before anything runs (each checked against Docker 20.10, API 1.41)."""

import pytest

from tests.unit.desired import container, errors


def _errors(tmp_path, body: str, files: dict | None = None) -> list[str]:
    return errors(tmp_path, {"a.toml": f"[container.web]\nimage = 'demo'\n{body}\n", **(files or {})})


# -- hostname ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["app", "app-1", "web.example.com", "1.2.3.4", "A" * 63, "a" * 30 + "." + "b" * 33])
def test_a_host_name_of_rfc_1123_labels_up_to_64_bytes_is_taken(tmp_path, name):
    assert container(tmp_path, f"hostname = '{name}'").hostname == name


def test_a_host_name_longer_than_the_kernel_allows_is_an_error(tmp_path):
    assert _errors(tmp_path, f"hostname = '{'a' * 30}.{'b' * 34}'") == [
        "a.toml:3: container.web.hostname: the host name is 65 bytes long: the kernel takes at most 64"
        " (HOST_NAME_MAX), so the engine would fail to start the container"
    ]


@pytest.mark.parametrize("name", ["a..b", "-a", "a-", "a_b", "a.b.", "é", "a" * 64])
def test_a_host_name_outside_rfc_1123_is_an_error(tmp_path, name):
    assert _errors(tmp_path, f"hostname = '{name}'") == [
        f"a.toml:3: container.web.hostname: '{name}' is not a host name: expected labels of letters, digits and"
        " '-' separated by dots, none empty or starting or ending with '-' (RFC 1123)"
    ]


# -- capabilities ------------------------------------------------------------------------------


def test_capabilities_are_taken_with_or_without_cap_in_any_case_and_stored_as_docker_names_them(tmp_path):
    app = container(tmp_path, "cap_add = ['cap_net_admin', 'Sys_Time', 'AUDIT_READ']\ncap_drop = ['all']")
    assert (app.cap_add, app.cap_drop) == (("NET_ADMIN", "SYS_TIME", "AUDIT_READ"), ("ALL",))


def test_an_unknown_capability_is_an_error_with_the_closest_name(tmp_path):
    assert _errors(tmp_path, "cap_add = ['CAP_FOO', 'NET_ADMN']\ncap_drop = ['CAP_SYS_AMDIN']") == [
        "a.toml:3: container.web.cap_add[0]: unknown capability 'CAP_FOO' (did you mean 'CAP_FOWNER'?): expected"
        " a Linux capability such as NET_ADMIN (with or without CAP_, in any case) or ALL",
        "a.toml:3: container.web.cap_add[1]: unknown capability 'NET_ADMN' (did you mean 'NET_ADMIN'?): expected"
        " a Linux capability such as NET_ADMIN (with or without CAP_, in any case) or ALL",
        "a.toml:4: container.web.cap_drop[0]: unknown capability 'CAP_SYS_AMDIN' (did you mean 'CAP_SYS_ADMIN'?):"
        " expected a Linux capability such as NET_ADMIN (with or without CAP_, in any case) or ALL",
    ]


def test_capabilities_newer_than_docker_20_10_are_errors_naming_the_engine(tmp_path):
    assert _errors(tmp_path, "cap_add = ['CAP_BPF', 'perfmon']") == [
        f"a.toml:3: container.web.cap_add[{index}]: capability '{name}' is newer than Docker 20.10 (API 1.41),"
        " which refuses it as unknown"
        for index, name in enumerate(["CAP_BPF", "perfmon"])
    ]


# -- security_opt ------------------------------------------------------------------------------


def test_the_security_options_the_engine_takes(tmp_path):
    options = ["no-new-privileges", "no-new-privileges:true", "no-new-privileges=false", "no-new-privileges=1",
               "label=disable", "label:type:svirt_apache_t", "label=level:s0:c100,c200", "apparmor=unconfined",
               "apparmor:docker-default", "seccomp=unconfined", 'seccomp={"defaultAction": "SCMP_ACT_ALLOW"}',
               "disable"]
    assert container(tmp_path, f"security_opt = {options!r}").security_opt == tuple(options)


@pytest.mark.parametrize(("option", "message"), [
    ("bogus", "'bogus' is not a security option: expected label=..., apparmor=..., seccomp=...,"
              " no-new-privileges=true|false, or no-new-privileges alone"),
    ("aparmor=x", "unknown security option 'aparmor' (did you mean 'apparmor'?): the engine takes label,"
                  " apparmor, seccomp, no-new-privileges"),
    ("writable-cgroups=true", "unknown security option 'writable-cgroups': the engine takes label, apparmor,"
                              " seccomp, no-new-privileges"),
    ("systempaths=unconfined", "'systempaths=unconfined' is an option of docker run, which turns it into other"
                               " settings; the engine refuses it"),
    ("no-new-privileges:yes", "no-new-privileges: expected true or false, not 'yes'"),
    ("seccomp=/etc/docker/seccomp.json", "seccomp: expected unconfined or a profile as JSON text: the engine"
                                         " decodes the text it is given and reads no file (docker run reads the"
                                         " file for its request)"),
    ("label=foo", "label: an engine on an SELinux host refuses it: expected disable, or user, role, type, level"
                  " or filetype followed by ':' and a value"),
])
def test_a_security_option_the_engine_would_refuse_is_an_error(tmp_path, option, message):
    assert _errors(tmp_path, f"security_opt = ['no-new-privileges', '{option}']") == [
        f"a.toml:3: container.web.security_opt[1]: {message}"
    ]


# -- user --------------------------------------------------------------------------------------


@pytest.mark.parametrize("user", ["nobody", "1000", "www-data:www-data", "1000:1000", "0:root", "2147483647"])
def test_a_user_is_a_name_or_uid_with_an_optional_group(tmp_path, user):
    assert container(tmp_path, f"user = '{user}'").user == user


@pytest.mark.parametrize(("user", "message"), [
    ("a:b:c", "'a:b:c' is not a user: expected \"name\", \"uid\", \"name:group\" or \"uid:gid\""),
    ("1000:", "'1000:' is not a user: expected \"name\", \"uid\", \"name:group\" or \"uid:gid\""),
    (":1000", "':1000' is not a user: expected \"name\", \"uid\", \"name:group\" or \"uid:gid\""),
    ("2147483648", "id 2147483648 is out of range: the engine takes 0 to 2147483647"),
    ("0:-1", "id -1 is out of range: the engine takes 0 to 2147483647"),
    ("web user", "'web user' is not a user: a name holds no blank or control character"),
])
def test_a_user_the_engine_would_refuse_or_misread_is_an_error(tmp_path, user, message):
    assert _errors(tmp_path, f"user = '{user}'") == [f"a.toml:3: container.web.user: {message}"]


# -- environment values ------------------------------------------------------------------------


def test_an_env_value_holding_nul_is_an_error_that_never_shows_the_value(tmp_path):
    body = 'env = { A = "sec\\u0000ret" }\n[container.api]\nimage = "demo"\nenv = ["B=sec\\u0000ret"]'
    assert _errors(tmp_path, body) == [
        "a.toml:3: container.web.env.A: the value must not hold a NUL character: the engine refuses it when it"
        " starts the container",
        "a.toml:6: container.api.env.B: the value must not hold a NUL character: the engine refuses it when it"
        " starts the container",
    ]


def test_an_env_file_value_holding_nul_is_an_error_at_its_line_that_never_shows_the_value(tmp_path):
    files = {"app.env": b"OK=1\nA=sec\x00ret\n"}
    assert _errors(tmp_path, "env_file = 'app.env'", files) == [
        "a.toml:3: container.web.env_file: app.env line 2: the value of A must not hold a NUL character: the"
        " engine refuses it when it starts the container"
    ]


def test_a_nul_from_the_interpolation_env_file_is_reported_where_it_lands_and_never_shown(tmp_path):
    secrets = tmp_path / "vars.env"
    secrets.write_bytes(b"TOKEN=sec\x00ret\n")
    text = "[container.web]\nimage = 'demo'\nenv = { T = '${TOKEN}' }\nlabels = { t = '${TOKEN}' }\n"
    assert errors(tmp_path / "ds", {"a.toml": text}, env_file=str(secrets)) == [
        "a.toml:3: container.web.env.T: the value must not hold a NUL character: the engine refuses it when it"
        " starts the container",
        "a.toml:4: container.web.labels.t: labels must not take a value from the env file: the engine shows labels"
        " in the clear (docker inspect); give the secret to the container in env or as a secret",
    ]
