"""A service whose rolling update Swarm has not finished is not converged, on the private
single-node Swarm ($SWARM_HOST): a start-first update of a task publishing a host-mode port stalls
(the new task cannot take the port the old one holds), and the plan says so (reconciler.swarm.diff)."""

from __future__ import annotations

import pytest

from tests.integration.swarm.test_swarm_apply import _free_port, cli, files, running_tasks, settle  # noqa: F401

pytestmark = pytest.mark.integration


def test_a_service_whose_rolling_update_stalled_is_planned_blocked_not_converged(
        cli, files, namespace, swarm_registry, swarm_client):  # noqa: F811 (pytest fixtures)
    web = f"{namespace}-web"
    stack = (f'[network.{namespace}-net]\n\n[container.{web}]\nimage = "{swarm_registry}"\n'
             'command = ["sleep", "3600"]\ninit = true\nstop_timeout = 1\n'
             f'networks = ["{namespace}-net"]\n'
             f'ports = [{{ target = 8080, published = {_free_port()}, mode = "host" }}]\n'
             'update = { order = "start-first", timeout = "1s", monitor = "1s" }\n')
    assert cli("apply", "--target", "swarm", files(stack)).returncode == 0
    assert settle(lambda: running_tasks(swarm_client, web))
    edited = files(stack + 'env = { EDITED = "1" }\n')
    cli("apply", "--target", "swarm", edited)
    assert settle(lambda: (swarm_client.services.get(web).attrs.get("UpdateStatus") or {}).get("State") == "updating")

    plan = cli("plan", "--target", "swarm", "--detailed-exitcode", edited)

    assert (plan.returncode, plan.stdout.splitlines()[0]) == (
        3, f"# blocked service {web} (Swarm's rolling update is not over: updating)"), plan.stdout + plan.stderr
