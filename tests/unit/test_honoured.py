"""What an engine cannot honour is refused before anything is created (DESIGN section 13)."""

from __future__ import annotations

import dataclasses

import pytest

from reconciler.commands.render import plan_text
from reconciler.converge import make_plan, observe
from reconciler.fields import Healthcheck, Mount
from reconciler.model import ContainerSpec, DesiredState, VolumeSpec, spec_hash
from runtime.base import InvalidSpec
from runtime.capabilities import DOCKER, Capabilities
from runtime.honoured import container_refusal
from runtime.memory import MemoryRuntime

IMAGE = "localhost/demo:1"
DOCKER_20 = Capabilities(kind=DOCKER, version="20.10.24", api_version="1.41")
DOCKER_26 = Capabilities(kind=DOCKER, version="26.1.0", api_version="1.45")


def with_subpath(**changes) -> ContainerSpec:
    mounts = (Mount("volume", "/srv", "data"), Mount("volume", "/etc/app", "data", subpath="conf"))
    return dataclasses.replace(ContainerSpec("web", IMAGE, mounts=mounts), **changes)


def test_a_volume_subpath_is_refused_below_api_1_45_naming_the_engine_and_the_mount():
    assert container_refusal(with_subpath(), DOCKER_20) == (
        "docker 20.10.24 (API 1.41) cannot mount a volume's subpath (mounts[1]): that needs API 1.45")


def test_a_volume_subpath_is_honoured_from_api_1_45():
    assert container_refusal(with_subpath(), DOCKER_26) is None


def test_a_spec_without_new_keys_is_honoured_by_every_engine():
    assert container_refusal(ContainerSpec("web", IMAGE), DOCKER_20) is None


def test_the_plan_blocks_a_container_the_engine_cannot_honour_and_creates_nothing():
    engine = MemoryRuntime(images={IMAGE: "sha256:" + "a" * 64})
    desired = DesiredState(containers={"web": with_subpath()}, volumes={"data": VolumeSpec("data")})
    plan = make_plan(desired, observe(engine, "ns", desired), "ns")
    why = "memory 0 (API 1.41) cannot mount a volume's subpath (mounts[1]): that needs API 1.45"
    assert plan_text(plan) == (
        "+ create volume data (missing)\n"
        f"+ create container web (missing; not honoured by the engine: {why})\n"
        f"    blocked: {why}\n"
        "Plan: 1 to create, 1 blocked.")


def test_the_engine_refuses_to_create_what_it_cannot_honour():
    engine = MemoryRuntime(images={IMAGE: "sha256:" + "a" * 64})
    with pytest.raises(InvalidSpec, match="cannot mount a volume's subpath"):
        engine.create_container(with_subpath(), "web", {})


def test_a_new_key_at_its_default_leaves_the_spec_hash_unchanged():
    plain = ContainerSpec("web", IMAGE)
    assert spec_hash(dataclasses.replace(plain, stdin_open=False, dns_search=(), mounts=())) == spec_hash(plain)
    assert spec_hash(dataclasses.replace(plain, stdin_open=True)) != spec_hash(plain)


def test_annotations_are_refused_below_api_1_43():
    spec = ContainerSpec("web", IMAGE, annotations={"org.example/team": "a"})
    assert container_refusal(spec, DOCKER_20) == (
        "docker 20.10.24 (API 1.41) cannot set OCI annotations (annotations): that needs API 1.43")
    assert container_refusal(spec, DOCKER_26) is None


def test_a_healthcheck_start_interval_is_refused_below_api_1_44():
    spec = ContainerSpec("web", IMAGE, healthcheck=Healthcheck(("CMD", "true"), start_interval=1.0))
    assert container_refusal(spec, DOCKER_20) == ("docker 20.10.24 (API 1.41) cannot check health at a start "
                                                  "interval (healthcheck.start_interval): that needs API 1.44")
    assert container_refusal(spec, DOCKER_26) is None
