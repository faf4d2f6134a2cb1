"""No secret value leaves `.env` or a secret file through `reconciler import compose` or what
follows it (DESIGN 11): with a canary value as the web app stack's database password (in `.env`,
interpolated into an environment value) and as the content of its secret file, the canary is in no
output of import, validate, plan, `plan --json` or apply, in no TOML file written, and in no label
of the containers made; the env file beside `--out` is the one place it is written, mode 0600.
"""

from __future__ import annotations

import stat
import uuid

import pytest

from reconciler.importing.emit import default_env_path
from tests.integration.compose_peer import import_compose, reconciler
from tests.integration.compose_stacks import copy_stack, stack_images  # noqa: F401

pytestmark = pytest.mark.integration


@pytest.fixture
def canaries(tmp_path, namespace, docker_client, stack_images):  # noqa: F811 (the fixture imported)
    """The web app stack with the canaries planted, imported, validated, planned and applied:
    (the canaries, every text any step printed or wrote, the folder)."""
    folder = copy_stack("webapp", tmp_path)
    password, secret = f"canary-{uuid.uuid4().hex}", f"canary-{uuid.uuid4().hex}"
    dotenv = folder / ".env"
    dotenv.write_text(dotenv.read_text().replace("change-me-in-production", password))
    (folder / "secrets" / "db_password.txt").write_text(secret + "\n")
    env = {"STACK": namespace}

    imported = import_compose("docker-compose.yml", "--out", "desired-state", cwd=folder, env=env)
    assert imported.returncode == 0, imported.stderr
    env_file = str(default_env_path(folder / "desired-state"))
    steps = [imported] + [reconciler(*argv, "desired-state", "--env-file", env_file, namespace=namespace, cwd=folder,
                                     env=env)
                          for argv in (("validate",), ("plan",), ("plan", "--json"), ("apply",), ("plan",))]
    assert steps[4].returncode == 0, steps[4].stdout + steps[4].stderr
    texts = {f"step {i} ({' '.join(step.args[3:5])}) {name}": text for i, step in enumerate(steps)
             for name, text in (("stdout", step.stdout), ("stderr", step.stderr))}
    texts |= {str(f): f.read_text() for f in (folder / "desired-state").rglob("*") if f.is_file()}
    for container in docker_client.containers.list(all=True, filters={"label": f"io.reconciler.managed={namespace}"}):
        texts[f"labels of {container.name}"] = repr(container.labels)
    return (password, secret), texts, folder


def test_no_canary_is_in_any_output_toml_file_or_label(canaries):
    values, texts, _ = canaries
    assert [where for where, text in texts.items() for value in values if value in text] == []


def test_the_env_file_beside_the_output_holds_the_env_values_and_only_its_owner_reads_it(canaries):
    (password, _), _, folder = canaries
    env_file = default_env_path(folder / "desired-state")
    assert password in env_file.read_text()
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
