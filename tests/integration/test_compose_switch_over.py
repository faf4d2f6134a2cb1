"""A running Compose v1 project switched over to the reconciler (issue 18): a project started by
docker-compose 1.29.2 (compose/switch-over.yml) is imported with `reconciler import compose`,
which finds it running by its containers' `com.docker.compose.project` label and keeps its names
(`<project>_<service>_1`, `<project>_default`, `<project>_dbdata`) with `adopt = true`, then
`reconciler apply` adopts it. Afterwards: the same container names, each container as `docker
inspect` sees it equal to before (`compose_peer.normalised`) but for ownership (Compose's labels
gone, ours there) and ids, the data in the named and the anonymous volume still there, and a next
`plan` empty. Docker only: docker-compose 1.29.2 is a client of Docker Engine.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from tests.integration import compose_peer as peer

pytestmark = pytest.mark.integration

HERE = Path(__file__).parent / "compose"
SERVICES = ("db", "web")
DATA = {"/var/lib/db/kept": "named volume data", "/cache/kept": "anonymous volume data"}


@pytest.fixture
def switched(tmp_path, namespace, docker_client):
    """The project started by docker-compose with data written in both volumes, imported and
    applied: (the project name, inspect answers before, after, the apply's result)."""
    peer.require_compose(docker_client)
    project = f"sw{uuid.uuid4().hex[:10]}"
    shutil.copy(HERE / "switch-over.yml", tmp_path / "docker-compose.yml")
    try:
        peer.compose_up(project, tmp_path)
        db = docker_client.containers.get(f"{project}_db_1")
        for path, text in DATA.items():
            assert db.exec_run(["sh", "-c", f"echo '{text}' > {path}"]).exit_code == 0
        before = {s: docker_client.api.inspect_container(f"{project}_{s}_1") for s in SERVICES}
        imported = peer.import_compose("docker-compose.yml", "--project-name", project, "--out", "desired-state",
                                  cwd=tmp_path)
        assert imported.returncode == 0, imported.stdout + imported.stderr
        applied = peer.reconciler("apply", "desired-state", namespace=namespace, cwd=tmp_path)
        after = {s: docker_client.api.inspect_container(f"{project}_{s}_1") for s in SERVICES}
        yield project, before, after, applied, tmp_path
    finally:
        peer.compose_down(docker_client, project, namespace, tmp_path)


def test_apply_takes_the_running_project_over_under_the_same_names(switched, namespace):
    _, before, after, applied, _ = switched
    assert applied.returncode == 0, applied.stdout + applied.stderr
    for service in SERVICES:
        assert after[service]["Id"] != before[service]["Id"], f"{service} was not taken over"
        assert after[service]["Config"]["Labels"]["io.reconciler.managed"] == namespace


def test_the_taken_over_containers_keep_no_compose_label(switched):
    _, _, after, _, _ = switched
    assert {s: [k for k in after[s]["Config"]["Labels"] if k.startswith("com.docker.compose.")]
            for s in SERVICES} == {s: [] for s in SERVICES}


def test_the_taken_over_containers_are_configured_as_compose_configured_them(switched):
    project, before, after, _, _ = switched
    names = peer.common_names([*before.values(), *after.values()], {f"{project}_{s}_1": s for s in SERVICES})
    assert {s: peer.differing(peer.normalised(before[s], names), peer.normalised(after[s], names))
            for s in SERVICES} == {s: {} for s in SERVICES}


def test_the_data_in_the_named_and_the_anonymous_volume_is_still_there(switched, docker_client):
    project, _, _, _, _ = switched
    db = docker_client.containers.get(f"{project}_db_1")
    assert {path: db.exec_run(["cat", path]).output.decode().strip() for path in DATA} == DATA


def test_a_plan_after_the_switch_over_is_empty(switched, namespace):
    _, _, _, _, folder = switched
    planned = peer.reconciler("plan", "desired-state", "--detailed-exitcode", namespace=namespace, cwd=folder)
    assert peer.still_to_do(planned) == []
