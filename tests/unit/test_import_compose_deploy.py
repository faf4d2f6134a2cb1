"""`import compose`, Compose's `deploy` section: what each key becomes (the TOML text written), and
what is skipped with why (compose-spec deploy.md; docker stack deploy's reading of it), for the
host target (the default: what only Swarm runs is skipped) and for `--target swarm`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from reconciler.importing.compose_verify import refused
from tests.unit.compose_import import converted, origin_of, project, table_lines

ROOT = Path(__file__).resolve().parents[2]


def lines(conversion) -> list[str]:
    """The lines of web.toml between its image and the default network written last."""
    return table_lines(conversion, "web.toml")[2:-1]


def web(deploy: dict, target: str = "host", **keys) -> list[str]:
    """The lines of web.toml for a service `web` with `deploy` (and `keys`), converted for `target`."""
    return lines(converted(project({"web": {"image": "x", "deploy": deploy, **keys}}), target=target))


def skipped(deploy: dict, target: str = "host", **keys) -> list[str]:
    """What the conversion skipped, as `FILE:LINE: key.path`."""
    compose = project({"web": {"image": "x", "deploy": deploy, **keys}})
    return [f"{s.origin}: {s.key}" for s in converted(compose, target=target).skipped]


def why(deploy: dict, target: str = "host", **keys) -> list[str]:
    """Why each skipped key was skipped."""
    return [s.why for s in converted(project({"web": {"image": "x", "deploy": deploy, **keys}}),
                                     target=target).skipped]


HOST_SKIP = "the host target runs one container per [container.NAME]; import with --target swarm to carry it"


def test_replicas_are_written_as_replicas_for_swarm():
    assert web({"replicas": 3}, target="swarm") == ["replicas = 3 # from deploy.replicas"]


def test_replicas_other_than_1_are_skipped_for_the_host_saying_swarm_carries_them():
    compose = project({"web": {"image": "x", "deploy": {"replicas": 3}}})
    conversion = converted(compose)

    assert lines(conversion) == []
    assert [str(s) for s in conversion.skipped] == [
        f"{origin_of(compose, 'services', 'web', 'deploy', 'replicas')}: services.web.deploy.replicas: replicas 3: "
        f"{HOST_SKIP} (docs/swarm.md)"]
    assert conversion.swarm_skipped == ("services.web.deploy.replicas",)


def test_replicas_1_are_written_for_the_host():
    assert web({"replicas": 1}) == ["replicas = 1 # from deploy.replicas"]


def test_replicas_read_from_a_variable_are_skipped_for_the_host():
    compose = project({"web": {"image": "x", "deploy": {"replicas": 1}}},
                      written={("services", "web", "deploy", "replicas"): "${N}"}, dotenv={"N": "1"})
    conversion = converted(compose)

    assert lines(conversion) == []
    assert [s.why for s in conversion.skipped] == [f"replicas ${{N}}: {HOST_SKIP} (docs/swarm.md)"]


def test_replicas_read_from_a_variable_are_skipped_for_swarm_never_written_resolved():
    compose = project({"web": {"image": "x", "deploy": {"replicas": "2"}}},
                      written={("services", "web", "deploy", "replicas"): "${N:-2}"})
    conversion = converted(compose, target="swarm")

    assert lines(conversion) == []
    assert [s.key for s in conversion.skipped] == ["services.web.deploy.replicas"]
    assert "read from a variable (${N:-2})" in conversion.skipped[0].why


def test_a_global_mode_is_written_as_mode_for_swarm():
    assert web({"mode": "global"}, target="swarm") == ['mode = "global" # from deploy.mode: global']


def test_a_global_mode_is_skipped_for_the_host_saying_swarm_carries_it():
    assert web({"mode": "global"}) == []
    assert why({"mode": "global"}) == [f"mode global: {HOST_SKIP} (docs/swarm.md)"]


def test_a_replicated_mode_is_written_as_it_is():
    assert web({"mode": "replicated", "replicas": 2}, target="swarm") == [
        'mode = "replicated" # from deploy.mode: replicated', "replicas = 2 # from deploy.replicas"]
    assert web({"mode": "replicated"}) == ['mode = "replicated" # from deploy.mode: replicated']


def test_a_replicated_job_is_a_completed_state_with_its_replicas():
    assert web({"mode": "replicated-job", "replicas": 4}, target="swarm") == [
        'state = "completed" # from deploy.mode: replicated-job (a Swarm job: run to completion)',
        "replicas = 4 # from deploy.replicas"]


def test_a_global_job_is_a_completed_state_of_a_global_service():
    assert web({"mode": "global-job"}, target="swarm") == [
        'mode = "global" # from deploy.mode: global-job',
        'state = "completed" # from deploy.mode: global-job (a Swarm job: run to completion)']


def test_a_global_job_is_one_run_to_completion_for_the_host():
    assert web({"mode": "global-job"}) == [
        'state = "completed" # from deploy.mode: global-job (a Swarm job: run to completion)']
    assert skipped({"mode": "global-job"}) == ["compose.yaml:5: services.web.deploy.mode"]


def test_replicas_beside_a_global_mode_are_skipped_as_docker_stack_deploy_refuses_them():
    compose = project({"web": {"image": "x", "deploy": {"mode": "global", "replicas": 2}}})
    conversion = converted(compose, target="swarm")

    assert lines(conversion) == ['mode = "global" # from deploy.mode: global']
    assert [str(s) for s in conversion.skipped] == [
        f"{origin_of(compose, 'services', 'web', 'deploy', 'replicas')}: services.web.deploy.replicas: replicas is "
        "for a replicated service: mode global runs one task on each node (docker stack deploy refuses both)"]


def test_a_mode_read_from_a_variable_is_skipped_never_written_resolved():
    compose = project({"web": {"image": "x", "deploy": {"mode": "global"}}},
                      written={("services", "web", "deploy", "mode"): "${MODE}"}, dotenv={"MODE": "global"})
    conversion = converted(compose)

    assert lines(conversion) == []
    assert [s.key for s in conversion.skipped] == ["services.web.deploy.mode"]
    assert "read from a variable (${MODE})" in conversion.skipped[0].why


def test_update_config_is_written_as_update_with_the_same_names():
    assert web({"update_config": {"parallelism": 2, "delay": "10s", "failure_action": "pause", "monitor": "1m",
                                  "order": "start-first"}}) == [
        'update = {parallelism = 2, delay = "10s", failure_action = "pause", monitor = "1m", order = "start-first"} '
        "# from deploy.update_config"]


def test_max_failure_ratio_is_skipped_with_why():
    assert skipped({"update_config": {"parallelism": 1, "max_failure_ratio": 0.2}}) == [
        "compose.yaml:7: services.web.deploy.update_config.max_failure_ratio"]
    assert why({"update_config": {"max_failure_ratio": 0.2}}) == [
        "no key here: an update fails at its first failed task (Swarm's MaxFailureRatio 0, docs/swarm.md)"]


def test_rollback_config_is_skipped_since_update_is_both():
    assert web({"rollback_config": {"parallelism": 1}}) == []
    assert why({"rollback_config": {"parallelism": 1}})[0].startswith(
        "no key here: `update` is both Swarm's update and its rollback configuration")


def test_restart_policy_any_is_restart_always_and_any_is_its_default():
    assert web({"restart_policy": {"condition": "any"}}) == ['restart = "always" # from deploy.restart_policy']
    assert web({"restart_policy": {}}) == ['restart = "always" # from deploy.restart_policy']


def test_restart_policy_none_is_restart_no():
    assert web({"restart_policy": {"condition": "none"}}) == ['restart = "no" # from deploy.restart_policy']


def test_restart_policy_on_failure_with_max_attempts_is_on_failure_n():
    assert web({"restart_policy": {"condition": "on-failure", "max_attempts": 3}}) == [
        'restart = "on-failure:3" # from deploy.restart_policy']


def test_max_attempts_zero_means_no_limit():
    assert web({"restart_policy": {"condition": "on-failure", "max_attempts": 0}}) == [
        'restart = "on-failure" # from deploy.restart_policy']


def test_max_attempts_with_condition_any_is_skipped():
    deploy = {"restart_policy": {"condition": "any", "max_attempts": 5}}

    assert web(deploy) == ['restart = "always" # from deploy.restart_policy']
    assert why(deploy) == ['restart counts attempts only with on-failure (restart = "on-failure:N"); the condition '
                           "here is any"]


def test_restart_policy_delay_and_window_are_skipped_with_swarms_defaults():
    deploy = {"restart_policy": {"condition": "on-failure", "delay": "5s", "window": "2m"}}

    assert web(deploy) == ['restart = "on-failure" # from deploy.restart_policy']
    assert sorted(skipped(deploy)) == ["compose.yaml:7: services.web.deploy.restart_policy.delay",
                                       "compose.yaml:8: services.web.deploy.restart_policy.window"]


def test_restart_policy_wins_over_restart_as_in_compose():
    compose = project({"web": {"image": "x", "restart": "no", "deploy": {"restart_policy": {"condition": "any"}}}})
    conversion = converted(compose)

    assert lines(conversion) == ['restart = "always" # from deploy.restart_policy']
    assert [str(s) for s in conversion.skipped] == [
        f"{origin_of(compose, 'services', 'web', 'restart')}: services.web.restart: deploy.restart_policy is written "
        "as restart: Compose takes it over restart"]


def test_an_unknown_restart_condition_is_skipped():
    assert web({"restart_policy": {"condition": "sometimes"}}) == []
    assert skipped({"restart_policy": {"condition": "sometimes"}}) == [
        "compose.yaml:6: services.web.deploy.restart_policy.condition"]


def test_placement_constraints_are_skipped_since_hosts_are_node_name_globs():
    deploy = {"placement": {"constraints": ["node.role==manager"], "max_replicas_per_node": 1}}

    assert web(deploy) == []
    assert skipped(deploy) == ["compose.yaml:6: services.web.deploy.placement.constraints",
                               "compose.yaml:8: services.web.deploy.placement.max_replicas_per_node"]
    assert "`hosts` are node-name globs" in why(deploy)[0]


def test_endpoint_mode_and_deploy_labels_are_skipped_with_why():
    deploy = {"endpoint_mode": "dnsrr", "labels": {"tier": "front"}}

    assert web(deploy) == []
    assert [reason.split(":")[0] for reason in why(deploy)] == ["no key here", "no key here"]
    assert "ownership labels" in why(deploy)[1]


def test_a_port_with_a_mode_that_is_neither_ingress_nor_host_loses_it_and_says_so():
    compose = project({"web": {"image": "x", "ports": [{"target": 80, "published": 8080, "mode": "mesh"}]}})
    conversion = converted(compose)

    assert lines(conversion) == ["ports = [", "    {target = 80, published = 8080},", "]"]
    assert [str(s) for s in conversion.skipped] == [
        f"{origin_of(compose, 'services', 'web', 'ports', 0, 'mode')}: services.web.ports.0.mode: not a publish mode: "
        "ingress or host (Swarm's PublishMode)"]


def _reconciler(tmp_path, *args: str) -> subprocess.CompletedProcess:
    """`reconciler ARGS` in `tmp_path`, with no engine to reach."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"}
    return subprocess.run([sys.executable, "-m", "reconciler", *args], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=60)


SCALED = """\
services:
  web:
    image: localhost/demo:1
    ports: [{target: 80, published: 8080, mode: host}]
    deploy:
      replicas: 3
      update_config: {parallelism: 1, delay: 5s, order: start-first}
      restart_policy: {condition: on-failure, max_attempts: 2, delay: 5s}
"""


def test_a_scaled_project_is_written_for_the_swarm_target_with_swarm_in_the_header(tmp_path):
    (tmp_path / "compose.yaml").write_text(SCALED)
    imported = _reconciler(tmp_path, "import", "compose", "--out", "out", "--target", "swarm")

    assert imported.returncode == 0, imported.stderr
    assert "replicas = 3 # from deploy.replicas" in (tmp_path / "out" / "web.toml").read_text().splitlines()
    assert "skipped: " + str(tmp_path / "compose.yaml") + ":8: services.web.deploy.restart_policy.delay: no key " \
        "here" in imported.stderr
    assert (tmp_path / "out" / "web.toml").read_text().splitlines()[1] == \
        "# Converted for --target swarm (Compose's deploy carried): validate, plan, apply and run with --target swarm"
    assert _reconciler(tmp_path, "validate", "out", "--target", "swarm").returncode == 0


def test_a_scaled_project_swarm_cannot_run_is_refused_for_swarm_and_nothing_written(tmp_path):
    (tmp_path / "compose.yaml").write_text(SCALED + "    privileged: true\n")
    imported = _reconciler(tmp_path, "import", "compose", "--out", "out", "--target", "swarm")

    assert imported.returncode == 1
    assert "error: the converted files would not pass validate --target swarm: out/web.toml:" in imported.stderr
    assert "container.web.privileged: " in imported.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["compose.yaml"]


LOOPBACK = """\
services:
  web:
    image: localhost/demo:1
    ports: ["127.0.0.1:8080:80"]
    deploy:
      replicas: 3
"""


def test_a_scaled_project_with_a_loopback_port_is_imported_for_the_host_and_passes_validate(tmp_path):
    (tmp_path / "compose.yaml").write_text(LOOPBACK)
    imported = _reconciler(tmp_path, "import", "compose", "--out", "out")

    assert imported.returncode == 0, imported.stderr
    assert f"skipped: {tmp_path / 'compose.yaml'}:6: services.web.deploy.replicas: replicas 3: {HOST_SKIP}" in \
        imported.stderr
    written = (tmp_path / "out" / "web.toml").read_text().splitlines()
    assert written[1] == ("# Converted for the host target: Compose's replicas or global mode skipped (one container "
                          "per [container.NAME]); import with --target swarm to carry them")
    assert not [line for line in written if line.startswith("replicas")]
    validated = _reconciler(tmp_path, "validate", "out")
    assert validated.returncode == 0, validated.stderr


def test_a_loopback_port_is_refused_by_the_swarm_check_only(tmp_path):
    conversion = converted(project({"web": {"image": "x", "ports": ["127.0.0.1:8080:80"]}}), tmp_path / "out")

    assert refused(tmp_path / "out", conversion.files, {}, (), None, "host") == []
    assert [p.key for p in refused(tmp_path / "out", conversion.files, {}, (), None, "swarm")] == [
        "container.web.ports[0]"]


def test_the_header_names_the_swarm_target_always_and_the_host_target_when_it_skipped_something():
    compose = project({"web": {"image": "x", "deploy": {"replicas": 2}}})

    assert "Converted for --target swarm" in converted(compose, target="swarm").header(None)
    assert "Converted for the host target" in converted(compose).header(None)
    assert converted(project({"web": {"image": "x"}})).header(None).splitlines() == [
        "Imported from the Compose project proj by `reconciler import compose`."]
