"""Registry credentials found as the Docker CLI finds them (reconciler/images/credentials.py): the
config file chosen, credHelpers over credsStore over auths, helpers run with Docker's protocol (a
real executable on PATH written by the test), and errors that name the file or helper, never a
secret."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from reconciler.images.credentials import (
    DOCKER_HUB,
    CredentialsError,
    credentials_for,
    host_credentials,
    registry_host,
    run_helper,
)
from runtime.base import RegistryAuth

SECRET = "s3cret-canary-5b2e"
REGISTRY = "127.0.0.1:5000"


def basic(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def write_config(directory: Path, config: dict | str) -> Path:
    path = directory / "config.json"
    path.write_text(config if isinstance(config, str) else json.dumps(config))
    return path


@pytest.fixture
def helpers(tmp_path, monkeypatch):
    """Write an executable `docker-credential-NAME` (a shell script) into a directory put first
    on PATH; each records its argv and stdin next to itself."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}:{Path('/usr/bin')}:{Path('/bin')}")

    def write(name: str, body: str) -> Path:
        script = bin_dir / f"docker-credential-{name}"
        script.write_text(f'#!/bin/sh\necho "$@" > "{bin_dir}/{name}.argv"\ncat > "{bin_dir}/{name}.stdin"\n{body}\n')
        script.chmod(0o755)
        return bin_dir

    return write


@pytest.mark.parametrize(("ref", "host"), [
    ("127.0.0.1:5000/demo:1", "127.0.0.1:5000"),
    ("registry.example.com/team/app@sha256:" + "a" * 64, "registry.example.com"),
    ("localhost/demo:1", "localhost"),
    ("nginx", DOCKER_HUB),
    ("library/nginx:1.25", DOCKER_HUB),
    ("docker.io/library/nginx", DOCKER_HUB),
    ("index.docker.io/library/nginx", DOCKER_HUB),
])
def test_registry_host_is_dockers_naming(ref, host):
    assert registry_host(ref) == host


def test_auths_entry_gives_user_and_password(tmp_path):
    config = write_config(tmp_path, {"auths": {REGISTRY: {"auth": basic("deploy", SECRET)}}})
    assert credentials_for(f"{REGISTRY}/demo:1", config) == RegistryAuth("deploy", SECRET, server=REGISTRY)


def test_password_may_hold_colons(tmp_path):
    config = write_config(tmp_path, {"auths": {REGISTRY: {"auth": basic("deploy", "a:b:c")}}})
    assert credentials_for(f"{REGISTRY}/demo:1", config).password == "a:b:c"


def test_identity_token_entry_gives_a_token(tmp_path):
    config = write_config(tmp_path, {"auths": {REGISTRY: {"identitytoken": SECRET}}})
    assert credentials_for(f"{REGISTRY}/demo", config) == RegistryAuth(identity_token=SECRET, server=REGISTRY)


def test_auths_key_written_as_url_matches_its_host(tmp_path):
    config = write_config(tmp_path, {"auths": {f"https://{REGISTRY}/v1/": {"auth": basic("deploy", SECRET)}}})
    assert credentials_for(f"{REGISTRY}/demo", config).username == "deploy"


def test_docker_hub_images_use_the_index_url_key(tmp_path):
    config = write_config(tmp_path, {"auths": {DOCKER_HUB: {"auth": basic("hubuser", SECRET)}}})
    assert credentials_for("nginx:1.25", config).username == "hubuser"


def test_another_registry_has_no_credentials(tmp_path):
    config = write_config(tmp_path, {"auths": {"other.example:5000": {"auth": basic("deploy", SECRET)}}})
    assert credentials_for(f"{REGISTRY}/demo", config) is None


def test_docker_config_directory_is_the_default(tmp_path, monkeypatch):
    write_config(tmp_path, {"auths": {REGISTRY: {"auth": basic("deploy", SECRET)}}})
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    assert credentials_for(f"{REGISTRY}/demo").username == "deploy"


def test_home_docker_config_is_the_last_default(tmp_path, monkeypatch):
    (tmp_path / ".docker").mkdir()
    write_config(tmp_path / ".docker", {"auths": {REGISTRY: {"auth": basic("home", SECRET)}}})
    monkeypatch.delenv("DOCKER_CONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert credentials_for(f"{REGISTRY}/demo").username == "home"


def test_missing_default_config_means_no_credentials(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "nowhere"))
    assert credentials_for(f"{REGISTRY}/demo") is None


def test_missing_named_config_is_an_error_naming_it(tmp_path):
    with pytest.raises(CredentialsError, match=r"nowhere\.json: registry config file not found"):
        credentials_for(f"{REGISTRY}/demo", tmp_path / "nowhere.json")


def test_malformed_config_names_the_file_and_line_not_its_content(tmp_path):
    config = write_config(tmp_path, '{"auths": {\n  "127.0.0.1:5000": {"auth": "' + SECRET + '"\n')
    with pytest.raises(CredentialsError, match=rf"^{config}:\d+: not valid JSON") as caught:
        credentials_for(f"{REGISTRY}/demo", config)
    assert SECRET not in str(caught.value)


def test_auth_that_is_not_base64_is_an_error_without_the_value(tmp_path):
    config = write_config(tmp_path, {"auths": {REGISTRY: {"auth": SECRET + "!"}}})
    with pytest.raises(CredentialsError, match=r"auths\.127\.0\.0\.1:5000\.auth is not base64") as caught:
        credentials_for(f"{REGISTRY}/demo", config)
    assert SECRET not in str(caught.value)


def test_config_that_is_not_an_object_is_an_error(tmp_path):
    config = write_config(tmp_path, "[]")
    with pytest.raises(CredentialsError, match="is a JSON object"):
        credentials_for(f"{REGISTRY}/demo", config)


def test_cred_helper_is_run_as_docker_runs_it(tmp_path, helpers):
    bin_dir = helpers("fake", f'echo \'{{"ServerURL": "{REGISTRY}", "Username": "deploy", "Secret": "{SECRET}"}}\'')
    config = write_config(tmp_path, {"credHelpers": {REGISTRY: "fake"}})
    assert credentials_for(f"{REGISTRY}/demo", config) == RegistryAuth("deploy", SECRET, server=REGISTRY)
    assert (bin_dir / "fake.argv").read_text().strip() == "get"
    assert (bin_dir / "fake.stdin").read_text() == REGISTRY


def test_cred_helper_comes_before_creds_store_and_auths(tmp_path, helpers):
    helpers("first", '{ echo \'{"Username": "from-helper", "Secret": "x"}\'; }')
    helpers("store", '{ echo \'{"Username": "from-store", "Secret": "x"}\'; }')
    config = write_config(tmp_path, {"credHelpers": {REGISTRY: "first"}, "credsStore": "store",
                                     "auths": {REGISTRY: {"auth": basic("from-auths", "x")}}})
    assert credentials_for(f"{REGISTRY}/demo", config).username == "from-helper"


def test_creds_store_comes_before_auths(tmp_path, helpers):
    helpers("store", '{ echo \'{"Username": "from-store", "Secret": "x"}\'; }')
    config = write_config(tmp_path, {"credsStore": "store", "auths": {REGISTRY: {"auth": basic("from-auths", "x")}}})
    assert credentials_for(f"{REGISTRY}/demo", config).username == "from-store"


def test_helper_token_answer_is_an_identity_token(tmp_path, helpers):
    helpers("fake", f'echo \'{{"Username": "<token>", "Secret": "{SECRET}"}}\'')
    config = write_config(tmp_path, {"credsStore": "fake"})
    assert credentials_for(f"{REGISTRY}/demo", config) == RegistryAuth(identity_token=SECRET, server=REGISTRY)


def test_helper_without_credentials_means_none(tmp_path, helpers):
    helpers("fake", "echo 'credentials not found in native keychain'; exit 1")
    config = write_config(tmp_path, {"credsStore": "fake"})
    assert credentials_for(f"{REGISTRY}/demo", config) is None


def test_failing_helper_is_an_error_naming_it(tmp_path, helpers):
    helpers("fake", "echo 'keyring locked' >&2; exit 3")
    config = write_config(tmp_path, {"credsStore": "fake"})
    with pytest.raises(CredentialsError, match="credential helper docker-credential-fake for 127.0.0.1:5000 exited 3: "
                                               "keyring locked"):
        credentials_for(f"{REGISTRY}/demo", config)


def test_helper_answer_that_is_not_json_is_an_error_without_the_answer(tmp_path, helpers):
    helpers("fake", f"echo 'Username=deploy Secret={SECRET}'")
    config = write_config(tmp_path, {"credsStore": "fake"})
    with pytest.raises(CredentialsError, match="docker-credential-fake .*not JSON") as caught:
        credentials_for(f"{REGISTRY}/demo", config)
    assert SECRET not in str(caught.value)


def test_missing_helper_is_an_error_naming_it(tmp_path, helpers):
    helpers("other", "true")
    config = write_config(tmp_path, {"credsStore": "absent"})
    with pytest.raises(CredentialsError, match="docker-credential-absent for 127.0.0.1:5000: not found on PATH"):
        credentials_for(f"{REGISTRY}/demo", config)


def test_helper_that_hangs_is_stopped_by_the_timeout(tmp_path, helpers):
    helpers("slow", "exec sleep 5")
    with pytest.raises(CredentialsError, match=r"docker-credential-slow for h:1: no answer within 0\.2s"):
        run_helper("slow", "h:1", timeout=0.2)


def test_credentials_never_show_in_a_repr():
    shown = repr(RegistryAuth("deploy", SECRET, identity_token=SECRET, server=REGISTRY))
    assert SECRET not in shown and "deploy" in shown


def test_host_credentials_take_a_host(tmp_path):
    config = write_config(tmp_path, {"auths": {REGISTRY: {"username": "deploy", "password": SECRET}}})
    assert host_credentials(REGISTRY, config) == RegistryAuth("deploy", SECRET, server=REGISTRY)
