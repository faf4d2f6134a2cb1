"""The task error a rollback reports on the private single-node Swarm ($SWARM_HOST): the error of
the task of the update Swarm rolled back, never the failure of an earlier update still in the
service's task history (runtime.swarm_observe.last_error, reconciler.swarm.rollout.task_error_seen)."""

from __future__ import annotations

import pytest

from reconciler.swarm.rollout import LABEL_ROLLED_BACK_WHY
from tests.integration.swarm.test_swarm_apply import cli, files, service_toml, settle  # noqa: F401
from tests.integration.swarm.test_swarm_rollback_record import rolled_back, task_ids  # noqa: F401

pytestmark = pytest.mark.integration


def test_a_rollback_names_the_failure_of_its_own_update_not_the_one_of_an_earlier_update(
        rolled_back, cli, files, swarm_client):  # noqa: F811 (pytest fixtures)
    web, _, exits_3 = rolled_back
    settle(lambda: task_ids(swarm_client, web))
    exits_7 = exits_3.replace("exit 3", "exit 7")
    failed = cli("apply", "--target", "swarm", files(exits_7))
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "last task error: task: non-zero exit (7)" in failed.stdout, failed.stdout
    assert "non-zero exit (3)" not in failed.stdout
    why = swarm_client.services.get(web).attrs["Spec"]["Labels"][LABEL_ROLLED_BACK_WHY]
    assert "task: non-zero exit (7)" in why and "(3)" not in why
