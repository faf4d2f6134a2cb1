"""A replacement killed at any step: the next pass ends with exactly one container of that name,
running the desired spec, and nothing left over."""

from __future__ import annotations

import dataclasses
import multiprocessing
import os

import pytest

from reconciler.converge import converge
from reconciler.fields import UpdatePolicy
from reconciler.model import (
    FORM,
    FORM_WITHOUT_UPDATE,
    LABEL_NAME,
    LABEL_SPEC_HASH,
    ContainerSpec,
    DesiredState,
    Source,
    spec_hash_at,
)
from runtime.docker import DockerRuntime

pytestmark = pytest.mark.integration

MUTATIONS = {"create_container", "start_container", "stop_container", "remove_container", "rename_container"}


class DiesAfter:
    """The real runtime, except that the process dies (SIGKILL-like, no clean-up at all) right
    after its n-th call that changes the engine."""

    def __init__(self, inner: DockerRuntime, calls: int):
        self._inner = inner
        self._left = calls

    def __getattr__(self, name):
        method = getattr(self._inner, name)
        if name not in MUTATIONS:
            return method

        def call(*args, **kwargs):
            result = method(*args, **kwargs)
            self._left -= 1
            if self._left == 0:
                os._exit(9)
            return result

        return call


def _apply_and_die(url: str, desired: DesiredState, namespace: str, calls: int) -> None:
    converge(DiesAfter(DockerRuntime(url), calls), desired, namespace, workers=1)
    os._exit(0)


def web(namespace: str, greeting: str, order: str) -> ContainerSpec:
    return ContainerSpec(
        name=f"{namespace}-web", image="localhost/demo:1", command=("sleep", "3600"), init=True, stop_timeout=1,
        env={"GREETING": greeting}, update=UpdatePolicy(order=order), source=Source("web.toml", 1),
    )


@pytest.mark.parametrize("order", ["stop-first", "start-first"])
@pytest.mark.parametrize("killed_after", [1, 2, 3, 4, 5])
def test_a_replacement_killed_after_any_step_converges_to_exactly_one_container(
    docker_client, namespace, order, killed_after
):
    url = os.environ["DOCKER_HOST"]
    engine = DockerRuntime(url)
    old = web(namespace, "hello", order)
    assert converge(engine, DesiredState(containers={old.name: old}), namespace).converged
    new = dataclasses.replace(old, env={"GREETING": "bonjour"})
    desired = DesiredState(containers={new.name: new})

    child = multiprocessing.get_context("fork").Process(
        target=_apply_and_die, args=(url, desired, namespace, killed_after)
    )
    child.start()
    child.join(60)
    assert child.exitcode == 9, "the pass finished before the step under test"

    assert converge(engine, desired, namespace).converged
    owned = docker_client.containers.list(all=True, filters={"label": f"io.reconciler.managed={namespace}"})
    form = FORM if engine.capabilities.in_place_update else FORM_WITHOUT_UPDATE  # docs/engines.md
    assert [(c.name, c.status, c.labels[LABEL_NAME], c.labels[LABEL_SPEC_HASH]) for c in owned] == [
        (new.name, "running", new.name, spec_hash_at(new, form))
    ]
