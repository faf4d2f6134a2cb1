"""`pull = "newer"` against a real registry (tests/integration/registry.py) on the real engine: a
re-pushed tag is pulled and replaces its container once, then nothing while the tag stays; an
imported image (tagged locally, no RepoDigests) is recorded on its first check, never replaced;
`pull_interval` spaces the checks; the registry's basic auth is answered, and a check whose auth
is known is one round trip."""

from __future__ import annotations

import io
import uuid

import pytest
import requests

from reconciler.converge import converge
from reconciler.images.newer import NewerChecks
from reconciler.model import ContainerSpec, DesiredState, Source
from runtime.base import RegistryAuth
from runtime.registry import RegistryClient, RegistryUnauthorized
from tests.conftest import DEMO_IMAGE, remove_containers
from tests.integration.registry import drop_local, push, push_moved

pytestmark = pytest.mark.integration


class CountingSession(requests.Session):
    """A real session that counts the requests it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[str] = []

    def request(self, method, url, *args, **kwargs):
        self.sent.append(f"{method} {url}")
        return super().request(method, url, *args, **kwargs)


def state(ref: str, interval: float = 0.0) -> DesiredState:
    """A container NAMESPACE-web (engine-wide names are the namespace's) of `ref` with `pull = "newer"`."""
    name = f"{ref.split('/')[1]}-web"
    spec = ContainerSpec(name=name, image=ref, source=Source("web.toml", 1), pull="newer", pull_interval=interval,
                         command=("sleep", "3600"), init=True, stop_timeout=1)
    return DesiredState(containers={name: spec})


@pytest.fixture
def repository(docker_client, registry, namespace):
    """NAMESPACE/demo on the open registry, and the reference of its tag 1; the namespace's
    containers and the local copy go afterwards."""
    ref = f"{registry.host}/{namespace}/demo:1"
    yield f"{namespace}/demo", ref
    remove_containers(docker_client, docker_client.containers.list(
        all=True, filters={"label": f"io.reconciler.managed={namespace}"}))
    drop_local(docker_client, ref)


def replacements(report) -> list[str]:
    return [str(c) for plan in (report.plan, *report.followed) for c in plan.changes if c.kind.name == "RECREATE"]


def test_a_repushed_tag_replaces_its_container_once_then_nothing_while_it_stays(
        docker_client, engine, registry, repository, namespace):
    name, ref = repository
    old = push(docker_client, registry, name, "1")
    checks = NewerChecks()
    assert converge(engine, state(ref), namespace, checks=checks).converged
    assert replacements(converge(engine, state(ref), namespace, checks=checks)) == []
    running = docker_client.images.get(ref)
    new = push_moved(docker_client, registry, name, "1")  # as another host would: this one keeps its image
    running.tag(*ref.rsplit(":", 1))
    report = converge(engine, state(ref), namespace, checks=checks)
    assert report.converged
    assert replacements(report) == [f"~ recreate container {namespace}-web (image moved: {old} -> {new})"]
    serving = docker_client.containers.get(f"{namespace}-web").image.id
    assert serving == docker_client.images.get(ref).id != running.id
    again = converge(engine, state(ref), namespace, checks=checks)
    assert replacements(again) == [] and again.converged


def test_an_imported_image_is_recorded_on_its_first_check_and_never_replaced(
        docker_client, engine, registry, repository, namespace):
    name, ref = repository
    push_moved(docker_client, registry, name, "1")
    marker = uuid.uuid4().hex[:12]
    dockerfile = io.BytesIO(f"FROM {DEMO_IMAGE}\nLABEL io.reconciler.test.imported={marker}\n".encode())
    image, _ = docker_client.images.build(fileobj=dockerfile, rm=True)
    image.tag(*ref.rsplit(":", 1))
    checks = NewerChecks()
    first = converge(engine, state(ref), namespace, checks=checks)
    assert first.converged and replacements(first) == []
    assert replacements(converge(engine, state(ref), namespace, checks=checks)) == []
    assert docker_client.containers.get(f"{namespace}-web").image.id == image.id


def test_pull_interval_spaces_the_checks_of_an_image(docker_client, engine, registry, repository, namespace):
    name, ref = repository
    push(docker_client, registry, name, "1")
    clock = [1000.0]
    session = CountingSession()
    checks = NewerChecks(RegistryClient(session), clock=lambda: clock[0])
    converge(engine, state(ref, interval=300), namespace, checks=checks)  # pulls it: not on this host
    converge(engine, state(ref, interval=300), namespace, checks=checks)
    assert len(session.sent) == 1
    clock[0] += 200
    report = converge(engine, state(ref, interval=300), namespace, checks=checks)
    assert len(session.sent) == 1 and not [c for c in report.plan.changes if c.resource == "image"]
    clock[0] += 100
    converge(engine, state(ref, interval=300), namespace, checks=checks)
    assert len(session.sent) == 2


def test_a_basic_auth_registry_is_answered_and_a_known_auth_costs_one_round_trip(
        docker_client, auth_registry, namespace):
    name = f"{namespace}/demo"
    digest = push(docker_client, auth_registry, name, "1")
    session = CountingSession()
    client = RegistryClient(session)
    ref = f"{auth_registry.host}/{name}:1"
    assert client.digest(ref, auth_registry.auth) == digest
    assert len(session.sent) == 2  # the 401 that names Basic, then the HEAD with credentials
    assert [client.digest(ref, auth_registry.auth) for _ in range(3)] == [digest] * 3
    assert len(session.sent) == 5


def test_wrong_or_missing_credentials_are_unauthorized_without_the_password(docker_client, auth_registry, namespace):
    name = f"{namespace}/demo"
    push(docker_client, auth_registry, name, "1")
    ref = f"{auth_registry.host}/{name}:1"
    wrong = RegistryAuth(auth_registry.auth.username, "not-the-password-" + uuid.uuid4().hex)
    with pytest.raises(RegistryUnauthorized) as refused:
        RegistryClient().digest(ref, wrong)
    assert wrong.password not in str(refused.value) and auth_registry.auth.password not in str(refused.value)
    with pytest.raises(RegistryUnauthorized):
        RegistryClient().digest(ref)
