"""What Swarm does with the tasks of what `apply --target swarm` made, on the private single-node
Swarm manager ($SWARM_HOST): a service's dead task is replaced, a job edited runs again."""

from __future__ import annotations

import time

import pytest

from tests.integration.swarm.test_swarm_apply import cli, files, running_tasks, service_toml, settle, task_container

pytestmark = pytest.mark.integration

__all__ = ["cli", "files"]  # fixtures


def test_a_service_without_restart_gets_a_new_task_when_its_task_is_killed(
        cli, files, namespace, swarm_registry, swarm_client):
    web = f"{namespace}-web"
    assert cli("apply", "--target", "swarm", files(service_toml(web, swarm_registry))).returncode == 0
    killed = task_container(swarm_client, web)
    killed.kill()
    replaced = settle(lambda: [t for t in running_tasks(swarm_client, web)
                               if t["Status"]["ContainerStatus"]["ContainerID"] != killed.id])
    assert len(replaced) == 1


def test_a_jobs_command_edited_runs_it_again_and_apply_returns_promptly(
        cli, files, namespace, swarm_registry, swarm_client):
    job = f"{namespace}-job"

    def declared(command: str) -> str:
        return files(f'[container.{job}]\nimage = "{swarm_registry}"\ncommand = {command}\nstate = "completed"\n')

    def states() -> list[str]:
        return sorted(t["Status"]["State"] for t in swarm_client.services.get(job).tasks())

    assert cli("apply", "--target", "swarm", declared('["true"]')).returncode == 0
    assert settle(lambda: states() == ["complete"])
    started = time.monotonic()
    edited = cli("apply", "--target", "swarm", declared('["sh", "-c", "exit 0"]'))
    assert edited.returncode == 0, edited.stdout + edited.stderr
    assert time.monotonic() - started < 30
    assert settle(lambda: states() == ["complete", "complete"])
