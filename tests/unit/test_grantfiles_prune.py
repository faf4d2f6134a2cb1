"""The files of secrets and configs no container binds go in the pass that stops binding them."""

from __future__ import annotations

import dataclasses
import os

from reconciler.converge import converge
from reconciler.fields import FileGrant, Sealed
from reconciler.grantfiles import file_name
from reconciler.model import ContainerSpec, DesiredState, Source
from reconciler.options import PlanOptions
from runtime.memory import MemoryRuntime

IMAGE = "localhost/demo:1"


def state(value: bytes) -> DesiredState:
    grant = FileGrant("db", "/run/secrets/db", uid=os.getuid(), gid=os.getgid(),
                      digest="hmac-sha256:" + value.hex().ljust(64, "0"), value=Sealed(value))
    web = ContainerSpec(name="web", image=IMAGE, source=Source("web.toml", 1), secrets=(grant,))
    return DesiredState(containers={"web": web})


def test_a_replacement_removes_the_old_value_s_file_in_the_same_pass(tmp_path):
    runtime = MemoryRuntime(images={IMAGE: "sha256:" + "a" * 64})
    options = PlanOptions(files_folder=str(tmp_path))
    assert converge(runtime, state(b"one"), "ns", options).converged
    new = state(b"two")
    assert converge(runtime, new, "ns", options).converged
    assert [p.name for p in tmp_path.iterdir()] == [file_name(new.containers["web"].secrets[0])]


def test_a_removal_removes_its_files_in_the_same_pass(tmp_path):
    runtime = MemoryRuntime(images={IMAGE: "sha256:" + "a" * 64})
    options = PlanOptions(files_folder=str(tmp_path))
    assert converge(runtime, state(b"one"), "ns", options).converged
    assert converge(runtime, DesiredState(), "ns", dataclasses.replace(options, allow_empty=True)).converged
    assert list(tmp_path.iterdir()) == []
