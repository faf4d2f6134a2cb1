"""The life of the record of a rollback on the private single-node Swarm ($SWARM_HOST): Swarm rolls
a bad update back, the reconciler labels the service with the spec that failed (reconciler.swarm.
rollout) and blocks it; the file reverted to the spec that runs drops the record with a labels-only
update (no task replaced); the bad spec put back afterwards is tried again, and rolled back again."""

from __future__ import annotations

import pytest

from reconciler.swarm.rollout import LABEL_ROLLED_BACK_WHY, ROLLED_BACK_PREFIX
from tests.integration.swarm.test_swarm_apply import cli, files, running_tasks, service_toml, settle  # noqa: F401

pytestmark = pytest.mark.integration

POLICY = 'update = { order = "start-first", monitor = "2s" }\n'


def record(client, name: str) -> dict[str, str]:
    """The rollback record among the service's labels."""
    labels = client.services.get(name).attrs["Spec"].get("Labels") or {}
    return {k: v for k, v in labels.items() if k.startswith(ROLLED_BACK_PREFIX) or k == LABEL_ROLLED_BACK_WHY}


def task_ids(client, name: str) -> set[str]:
    return {task["ID"] for task in running_tasks(client, name)}


@pytest.fixture
def rolled_back(cli, files, namespace, swarm_registry, swarm_client):  # noqa: F811 (pytest fixtures)
    """A service running `good`, after Swarm rolled back its update to `bad` (a command that exits):
    (name, good, bad)."""
    web = f"{namespace}-web"
    good = service_toml(web, swarm_registry, POLICY)
    bad = good.replace('["sleep", "3600"]', '["sh", "-c", "exit 3"]')
    assert cli("apply", "--target", "swarm", files(good)).returncode == 0
    assert settle(lambda: task_ids(swarm_client, web))
    failed = cli("apply", "--target", "swarm", files(bad))
    assert failed.returncode == 1 and "rolled back by Swarm: " in failed.stdout, failed.stdout + failed.stderr
    assert record(swarm_client, web)
    return web, good, bad


def test_the_file_reverted_to_the_running_spec_drops_the_record_without_replacing_a_task(
        rolled_back, cli, files, swarm_client):  # noqa: F811
    web, good, _ = rolled_back
    tasks = settle(lambda: task_ids(swarm_client, web))  # the task Swarm's rollback may have started anew
    plan = cli("plan", "--target", "swarm", files(good))
    assert plan.stdout.startswith(f"% update service {web} (rollback record cleared: "), plan.stdout
    applied = cli("apply", "--target", "swarm", files(good))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    service = swarm_client.services.get(web).attrs
    assert record(swarm_client, web) == {}
    assert (service.get("UpdateStatus") or {}).get("State") != "rollback_completed"
    assert task_ids(swarm_client, web) == tasks
    again = cli("plan", "--target", "swarm", "--detailed-exitcode", files(good))
    assert again.returncode == 0, again.stdout + again.stderr


def test_the_failed_spec_put_back_after_the_record_was_dropped_is_tried_and_rolled_back_again(
        rolled_back, cli, files, swarm_client):  # noqa: F811
    web, good, bad = rolled_back
    assert cli("apply", "--target", "swarm", files(good)).returncode == 0
    tried = cli("apply", "--target", "swarm", files(bad))
    assert tried.returncode == 1
    assert f"failed: update service {web}" in tried.stdout and "rolled back by Swarm: " in tried.stdout, tried.stdout
    assert '"event": "service.rolled_back"' in tried.stderr
    held = cli("plan", "--target", "swarm", "--detailed-exitcode", files(bad))
    assert (held.returncode, held.stdout.split(" (")[0]) == (3, f"# blocked service {web}"), held.stdout
    assert swarm_client.services.get(web).attrs["Spec"]["TaskTemplate"]["ContainerSpec"]["Args"] == ["sleep", "3600"]
