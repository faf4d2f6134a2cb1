"""The differential test against docker-compose: the same services written as Compose
(compose/docker-compose.yml, format 2.4, read by Debian's docker-compose 1.29.2, which
`scripts/compose.sh install` installs) and as TOML give the same containers on the real Docker
Engine, as `docker inspect` sees them (compared field by field: `compose_peer.normalised`); and a
second `apply` changes nothing. The TOML is written two ways: by hand (compose/service.toml), and
by `reconciler import compose` from the same docker-compose.yml, applied over the running Compose
project (the import names each resource as Compose did and adopts it).

`store` writes Compose's names where ours differ (`environment`, `volumes`, `mem_limit`, `cpus`, ...:
aliases). Not in the files: `stop_grace_period`, which docker-compose 1.29.2 passes to each stop
call and never to the engine (the reconciler's `stop_timeout` is the engine's `StopTimeout`);
`group_add` of a group name, which docker-compose 1.29.2 sends and the engine then fails to start
on busybox (no /etc/group): numeric ids are used; `storage_opt` sizes and `cpu_rt_*`, which
this engine cannot honour (overlay2 on extfs, no real-time group scheduling); `blkio_config`,
whose device rates name a block device of the engine's host (test_compose_limits finds it) and
whose weight needs the BFQ/CFQ scheduler; network `ipam` and a service's `ipv4_address`, a fixed
subnet that parallel runs on one engine would collide on; `secrets` and `configs`, which
docker-compose 1.29.2 bind-mounts from their file and the reconciler from the copy it writes in its
secrets directory (mount sources differ by design; test_secrets covers them); `profiles`, which
leave a service out of both tools alike (test_profiles); keys docker-compose 1.29.2 does not know
(`cgroup`, `uts`, `gpus`, `annotations`, `label_file`, `post_start`, `pre_stop`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.integration.compose_peer import (
    common_names,
    compose_down,
    compose_up,
    import_compose,
    normalised,
    reconciler,
    require_compose,
    still_to_do,
    unlisted,
)

pytestmark = pytest.mark.integration

HERE = Path(__file__).parent / "compose"
SERVICES = ("app", "store", "side")


@pytest.fixture
def project(tmp_path, namespace, docker_client):
    """One folder holding both files (so their relative binds name the same host path), the TOML's
    names in `namespace`, the Compose project named `namespace`; what either tool made is removed
    afterwards."""
    require_compose(docker_client)
    (tmp_path / "host").mkdir()
    shutil.copy(HERE / "docker-compose.yml", tmp_path)
    shutil.copy(HERE / "app.env", tmp_path)
    (tmp_path / "service.toml").write_text((HERE / "service.toml").read_text().replace("@ns@", namespace))
    yield tmp_path
    compose_down(docker_client, namespace, namespace, tmp_path)


def resource_names(namespace: str) -> dict[str, str]:
    """The network's and the volume's names, as each tool makes them, onto their Compose keys."""
    return {f"{namespace}{sep}{name}": name for sep in "-_" for name in ("front", "data")}


def test_compose_up_and_apply_give_the_same_containers_and_a_second_apply_changes_nothing(
        project, namespace, docker_client):
    compose_up(namespace, project)
    applied = reconciler("apply", ".", namespace=namespace, cwd=project)
    assert applied.returncode == 0, applied.stdout + applied.stderr

    ours = {s: docker_client.api.inspect_container(f"{namespace}-{s}") for s in SERVICES}
    theirs = {s: docker_client.api.inspect_container(f"{namespace}_{s}_1") for s in SERVICES}
    services = {f"{namespace}-{s}": s for s in SERVICES} | {f"{namespace}_{s}_1": s for s in SERVICES}
    names = resource_names(namespace) | common_names([*ours.values(), *theirs.values()], services)
    for service in SERVICES:
        assert unlisted(ours[service]) | unlisted(theirs[service]) == set()
        assert normalised(ours[service], names) == normalised(theirs[service], names), service

    again = reconciler("apply", ".", namespace=namespace, cwd=project)
    assert again.returncode == 0, again.stdout + again.stderr
    planned = reconciler("plan", ".", "--detailed-exitcode", namespace=namespace, cwd=project)
    assert (planned.returncode, planned.stdout) == (0, "No changes: the engine matches the desired state.\n")


def test_the_imported_file_applied_over_compose_up_gives_the_same_containers_and_a_second_plan_is_empty(
        project, namespace, docker_client):
    compose_up(namespace, project)
    theirs = {s: docker_client.api.inspect_container(f"{namespace}_{s}_1") for s in SERVICES}
    imported = import_compose("docker-compose.yml", "--project-name", namespace, "--out", "imported", cwd=project)
    assert imported.returncode == 0, imported.stdout + imported.stderr

    applied = reconciler("apply", "imported", namespace=namespace, cwd=project)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    ours = {s: docker_client.api.inspect_container(f"{namespace}_{s}_1") for s in SERVICES}
    names = resource_names(namespace) | common_names(
        [*ours.values(), *theirs.values()], {f"{namespace}_{s}_1": s for s in SERVICES})
    for service in SERVICES:
        assert ours[service]["Id"] != theirs[service]["Id"], f"{service} was not taken over"
        assert normalised(ours[service], names) == normalised(theirs[service], names), service

    planned = reconciler("plan", "imported", "--detailed-exitcode", namespace=namespace, cwd=project)
    assert still_to_do(planned) == []
