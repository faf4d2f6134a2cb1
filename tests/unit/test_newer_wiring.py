"""How the commands set up `pull = "newer"` (reconciler/commands/context.py): `plan` and `apply`
skip the checks the state directory's records say are not due, and the checks' credentials come
from `--registry-config`, a broken file failing the check of that image only."""

from __future__ import annotations

import argparse
import base64
import json
import time

import pytest

from reconciler.agent.statedir import StateDir
from reconciler.commands.context import check_credentials, newer_checks, pass_options
from reconciler.model import ContainerSpec, DesiredState
from runtime.registry import RegistryError

REF = "127.0.0.1:5000/app:1"
IMAGE_ID = "sha256:" + "a" * 64
DIGEST = "sha256:" + "1" * 64
PASSWORD = "pa55-not-in-messages"


def arguments(tmp_path, registry_config=None) -> argparse.Namespace:
    return argparse.Namespace(state_dir=str(tmp_path / "state"), namespace="t", engine=None,
                              registry_config=registry_config)


def newer(interval: float = 300.0) -> DesiredState:
    return DesiredState(containers={"web": ContainerSpec("web", REF, pull="newer", pull_interval=interval)})


def checked(tmp_path, seconds_ago: float) -> None:
    StateDir(tmp_path / "state").save_image_checks(
        {REF: {"checked_at": time.time() - seconds_ago, "image_id": IMAGE_ID, "digest": DIGEST}})


def test_an_image_checked_within_its_interval_is_not_due_in_the_plan_options(tmp_path):
    checked(tmp_path, seconds_ago=10)
    assert pass_options(arguments(tmp_path), newer(interval=300.0)).not_due == {REF}


def test_an_image_last_checked_longer_ago_than_its_interval_is_due(tmp_path):
    checked(tmp_path, seconds_ago=400)
    assert pass_options(arguments(tmp_path), newer(interval=300.0)).not_due == frozenset()


def test_an_image_never_checked_is_due(tmp_path):
    assert pass_options(arguments(tmp_path), newer()).not_due == frozenset()


def test_the_checks_keep_their_records_in_the_state_directory(tmp_path):
    state = StateDir(tmp_path / "state")
    checks = newer_checks(arguments(tmp_path), state)
    checks.pulled(REF, IMAGE_ID, DIGEST)
    assert state.image_checks() == {REF: {"image_id": IMAGE_ID, "digest": DIGEST}}


def test_the_checks_carry_the_credentials_of_the_registry_config(tmp_path):
    config = tmp_path / "config.json"
    pair = base64.b64encode(f"deploy:{PASSWORD}".encode()).decode()
    config.write_text(json.dumps({"auths": {"127.0.0.1:5000": {"auth": pair}}}))
    login = newer_checks(arguments(tmp_path, str(config)), StateDir(tmp_path / "state")).credentials(REF)
    assert (login.username, login.password) == ("deploy", PASSWORD)


def test_a_registry_without_credentials_in_the_config_is_checked_anonymously(tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"auths": {}}))
    assert newer_checks(arguments(tmp_path, str(config)), StateDir(tmp_path / "state")).credentials(REF) is None


def test_a_malformed_registry_config_is_the_checked_images_registry_error_naming_the_file(tmp_path):
    config = tmp_path / "config.json"
    config.write_text('{"auths": {"127.0.0.1:5000": {"auth": "' + PASSWORD + '"}}}')
    with pytest.raises(RegistryError) as raised:
        check_credentials(REF, str(config))
    message = str(raised.value)
    assert message.startswith(f"{REF}: registry credentials: {config}") and PASSWORD not in message
