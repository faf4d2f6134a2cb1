"""Pulls with registry credentials (reconciler/images/authenticated.py) on the in-memory engine: a
pass pulls a missing image with the credentials its registry has in the config file, an image of
another registry without any, and a config that cannot be read fails that image's pull only, with
a message naming the file and holding no secret."""

from __future__ import annotations

import base64
import json

import pytest

from reconciler.converge import converge
from reconciler.images.authenticated import Authenticated
from reconciler.model import ContainerSpec, DesiredState, Source
from runtime.base import InvalidSpec, RegistryAuth
from runtime.memory import MemoryRuntime

NS = "ns"
SECRET = "pw-canary-77d1"
PRIVATE = "127.0.0.1:5000/demo:1"
PUBLIC = "127.0.0.1:6000/demo:1"
IMAGE_ID = "sha256:" + "b" * 64


def config_file(tmp_path, auths: dict) -> str:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"auths": auths}))
    return str(path)


def desired(*images: str) -> DesiredState:
    specs = [ContainerSpec(name=f"app{i}", image=image, source=Source("x.toml", 1)) for i, image in enumerate(images)]
    return DesiredState(containers={s.name: s for s in specs})


def pulls(runtime: MemoryRuntime) -> dict[str, RegistryAuth | None]:
    return {ref: auth for ref, _progress, auth in runtime.calls_to("pull_image")}


def test_a_pass_pulls_with_the_credentials_of_the_images_registry(tmp_path):
    encoded = base64.b64encode(f"deploy:{SECRET}".encode()).decode()
    config = config_file(tmp_path, {"127.0.0.1:5000": {"auth": encoded}})
    engine = MemoryRuntime(registry={PRIVATE: IMAGE_ID, PUBLIC: IMAGE_ID})
    report = converge(Authenticated(engine, config), desired(PRIVATE, PUBLIC), NS)
    assert report.converged
    assert pulls(engine) == {PRIVATE: RegistryAuth("deploy", SECRET, server="127.0.0.1:5000"), PUBLIC: None}


def test_credentials_handed_to_the_pull_are_kept(tmp_path):
    engine = MemoryRuntime(registry={PRIVATE: IMAGE_ID})
    given = RegistryAuth("other", "x", server="127.0.0.1:5000")
    Authenticated(engine, config_file(tmp_path, {})).pull_image(PRIVATE, auth=given)
    assert pulls(engine) == {PRIVATE: given}


def test_an_unreadable_config_fails_only_the_pulls_with_a_message_naming_it(tmp_path):
    config = tmp_path / "config.json"
    config.write_text('{"auths": {"127.0.0.1:5000": {"auth": "' + SECRET)
    engine = MemoryRuntime(images={PUBLIC: IMAGE_ID}, registry={PRIVATE: IMAGE_ID})
    report = converge(Authenticated(engine, str(config)), desired(PRIVATE, PUBLIC), NS)
    errors = [r.error for r in report.failures]
    assert len(errors) == 1
    assert errors[0].startswith(f"pull {PRIVATE}: registry credentials: {config}:1: not valid JSON")
    assert SECRET not in errors[0]
    assert sorted(c.name for c in engine.containers.values() if c.state == "running") == ["app1"]


def test_other_calls_go_to_the_engine_unchanged(tmp_path):
    engine = MemoryRuntime(images={PUBLIC: IMAGE_ID})
    assert Authenticated(engine).resolve_image(PUBLIC) == IMAGE_ID


def test_a_refused_pull_says_unauthorized_and_where_the_credentials_came_from(tmp_path):
    config = config_file(tmp_path, {"127.0.0.1:5000": {"username": "deploy", "password": SECRET}})
    engine = MemoryRuntime()
    engine.fail_next("pull_image", InvalidSpec(f"pull {PRIVATE}: unauthorized: authentication required"))
    with pytest.raises(InvalidSpec) as caught:
        Authenticated(engine, config).pull_image(PRIVATE)
    assert str(caught.value) == (f"pull {PRIVATE}: unauthorized: 127.0.0.1:5000 refused the credentials from {config}: "
                                 "unauthorized: authentication required")


def test_a_pull_without_credentials_that_is_refused_says_none_were_found(tmp_path):
    config = config_file(tmp_path, {})
    engine = MemoryRuntime()
    engine.fail_next("pull_image", InvalidSpec(f"pull {PRIVATE}: Head \"http://...\": no basic auth credentials"))
    with pytest.raises(InvalidSpec, match=rf"^pull {PRIVATE}: unauthorized: no credentials for 127.0.0.1:5000 in "):
        Authenticated(engine, config).pull_image(PRIVATE)


def test_other_pull_failures_are_left_as_the_engine_said(tmp_path):
    engine = MemoryRuntime()
    with pytest.raises(InvalidSpec, match=rf"^pull {PRIVATE}: manifest unknown$"):
        Authenticated(engine, config_file(tmp_path, {})).pull_image(PRIVATE)
