"""`reconciler import compose` on Compose files written as well-known public projects write them
(compose/realworld: a web app with its database and cache, a reverse proxy in front of two
services, a monitoring stack; see each file's header): every key is carried over, or listed on
stderr with why our format has no equivalent; the folder written validates, applies on Docker,
and a second plan is empty.
"""

from __future__ import annotations

import re

import pytest

from reconciler.desired.compose_only import WHY_NOT
from reconciler.importing.emit import default_env_path
from tests.integration.compose_peer import import_compose, reconciler, still_to_do
from tests.integration.compose_stacks import carried, copy_stack, read_compose, read_tables, stack_images  # noqa: F401

pytestmark = pytest.mark.integration

STACKS = ("webapp", "proxy", "monitoring")
# a key not carried over, as the import lists it: `FILE:LINE: key.path: why`, or as a warning of
# the reading side (`warning: FILE:LINE: version: is obsolete and ignored`, as Compose warns)
SKIPPED = re.compile(r"^(warning: )?(?P<origin>\S+:\d+): (?P<key>[\w.\-]+): (?P<why>.+)$")
# top-level keys the import itself takes: `name` is the project's name (the names of a running
# project's resources are made from it)
CONSUMED = {"name"}
SECTIONS = {"services": "container", "networks": "network", "volumes": "volume", "secrets": "secret",
            "configs": "config"}


@pytest.fixture(params=STACKS)
def stack(request, tmp_path, namespace, docker_client, stack_images):  # noqa: F811 (the fixture imported)
    """(the stack's folder, the environment naming its instance after `namespace`), imported into
    `desired-state` beside the Compose file."""
    folder = copy_stack(request.param, tmp_path)
    env = {"STACK": namespace}
    imported = import_compose("docker-compose.yml", "--out", "desired-state", cwd=folder, env=env)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    return folder, env, imported


def skipped_keys(stderr: str) -> dict[str, str]:
    """The keys the import listed as not carried over (`FILE:LINE: key.path: why`) -> why."""
    return {m["key"]: m["why"] for m in map(SKIPPED.match, stderr.splitlines()) if m}


def test_every_key_of_a_real_world_file_is_carried_over_or_skipped_with_a_reason(stack, namespace):
    folder, _, imported = stack
    compose = read_compose(folder / "docker-compose.yml", namespace)
    skipped = skipped_keys(imported.stderr)
    held = carried(compose, read_tables(folder / "desired-state"))
    top = {key: False for key in compose if key not in {*SECTIONS, *CONSUMED}}
    lost = [key for key, found in (held | top).items() if not found and key not in skipped]
    assert lost == [], imported.stderr


def no_equivalent(key: str) -> bool:
    """Whether the Compose key `key` (`version`, `services.web.deploy`) is one our format has no
    equivalent for (compose_only.WHY_NOT)."""
    parts = key.split(".")
    if len(parts) == 1:
        return key in WHY_NOT[""]
    return len(parts) == 3 and parts[2] in WHY_NOT.get(SECTIONS.get(parts[0], ""), {})


def test_a_real_world_file_skips_only_keys_our_format_has_no_equivalent_for(stack):
    _, _, imported = stack
    skipped = skipped_keys(imported.stderr)
    assert {key: why for key, why in skipped.items() if not no_equivalent(key)} == {}


def test_a_real_world_file_imported_validates_applies_and_a_second_plan_is_empty(stack, namespace):
    folder, env, _ = stack
    env_file = default_env_path(folder / "desired-state")
    assert env_file.exists()
    validated = reconciler("validate", "desired-state", "--env-file", str(env_file), namespace=namespace,
                           cwd=folder, env=env)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    applied = reconciler("apply", "desired-state", "--env-file", str(env_file), namespace=namespace, cwd=folder,
                         env=env)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    planned = reconciler("plan", "desired-state", "--env-file", str(env_file), "--detailed-exitcode",
                         namespace=namespace, cwd=folder, env=env)
    assert still_to_do(planned) == []
