"""Builds from a Dockerfile on the real engine, as a user runs `reconciler apply`: the image is built
from a context inside the desired-state folder and its container runs; a change of the context's
content rebuilds and replaces it (`image rebuilt`), a touch rebuilds nothing; a context or
Dockerfile outside the folder is refused at its FILE:LINE unless `--build-allow` names its folder;
a failing build is that container's failure with the builder's last lines while the old container
keeps running; and a build pushed to the test registry is pulled by a second namespace, the digest
pushed in the output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DEMO_IMAGE, remove_containers
from tests.integration.agents import running
from tests.integration.registry import Registry, drop_local

pytestmark = pytest.mark.integration

DOCKERFILE = f"FROM {DEMO_IMAGE}\nCOPY main.sh /app/main.sh\nLABEL io.reconciler.test.built=yes\n"


def reconciler(*args: str, namespace: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reconciler", *args, "--namespace", namespace],
                          capture_output=True, text=True, timeout=180)


def apply(desired: Path, namespace: str, *extra: str) -> subprocess.CompletedProcess:
    return reconciler("apply", str(desired), *extra, namespace=namespace)


def app_file(name: str, image: str, build: str = 'context = "./app"', push: bool = False) -> str:
    return (f'[container.{name}]\nimage = "{image}"\nbuild = {{ {build} }}\n' + ("push = true\n" if push else "")
            + 'command = ["sleep", "3600"]\ninit = true\nstop_timeout = 1\n')


def context(folder: Path, script: str = "echo hello\n", dockerfile: str = DOCKERFILE) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Dockerfile").write_text(dockerfile)
    (folder / "main.sh").write_text(script)
    return folder


def image_of(docker_client, name: str) -> str:
    return running(docker_client, name).attrs["Image"]


def said(done: subprocess.CompletedProcess) -> str:
    return done.stdout + done.stderr


@pytest.fixture
def app(docker_client, namespace, desired):
    """(container name, image reference) of an app built from desired/app; afterwards the
    namespace's containers and every tag of its repository are removed."""
    name, repository = f"{namespace}-app", f"localhost/{namespace}/app"
    context(desired / "app")
    (desired / "app.toml").write_text(app_file(name, f"{repository}:1"))
    yield name, f"{repository}:1"
    remove_containers(docker_client, docker_client.containers.list(
        all=True, filters={"label": f"io.reconciler.managed={namespace}"}))
    for image in docker_client.images.list(name=repository):
        for tag in image.tags:
            drop_local(docker_client, tag)


def test_apply_builds_the_image_from_the_tree_and_runs_its_container(docker_client, app, desired, namespace):
    name, ref = app
    done = apply(desired, namespace)
    assert done.returncode == 0, said(done)
    built = docker_client.images.get(ref)
    assert image_of(docker_client, name) == built.id
    assert built.labels["io.reconciler.test.built"] == "yes"
    assert any(tag.startswith(ref.rpartition(":")[0] + ":build-") for tag in built.tags)
    assert running(docker_client, name).exec_run(["cat", "/app/main.sh"]).output == b"echo hello\n"


def test_a_context_change_rebuilds_and_replaces_the_container(docker_client, app, desired, namespace):
    name, _ = app
    assert apply(desired, namespace).returncode == 0
    before = image_of(docker_client, name)
    (desired / "app" / "main.sh").write_text("echo changed\n")
    done = apply(desired, namespace)
    assert done.returncode == 0, said(done)
    assert f"~ recreate container {name} (image rebuilt: " in done.stdout
    assert image_of(docker_client, name) != before
    assert running(docker_client, name).exec_run(["cat", "/app/main.sh"]).output == b"echo changed\n"


def test_a_touch_that_changes_no_content_rebuilds_nothing(docker_client, app, desired, namespace):
    name, _ = app
    assert apply(desired, namespace).returncode == 0
    serving = running(docker_client, name).id
    os.utime(desired / "app" / "main.sh", (1_000_000, 1_000_000))
    planned = reconciler("plan", str(desired), "--detailed-exitcode", namespace=namespace)
    assert planned.returncode == 0, said(planned)
    done = apply(desired, namespace)
    assert done.returncode == 0 and "image.built" not in done.stderr, said(done)
    assert running(docker_client, name).id == serving


def test_a_context_outside_the_tree_is_refused_at_its_line_and_accepted_under_build_allow(
        docker_client, app, desired, namespace, tmp_path):
    name, ref = app
    outside = context(tmp_path / "elsewhere" / "app")
    (desired / "app.toml").write_text(app_file(name, ref, f'context = "{outside}"'))
    refused = apply(desired, namespace)
    assert refused.returncode == 1
    assert refused.stderr.startswith("app.toml:3: container.") and "build.context: " in refused.stderr, said(refused)
    assert "outside the desired-state folder" in refused.stderr
    done = apply(desired, namespace, "--build-allow", str(tmp_path / "elsewhere"))
    assert done.returncode == 0, said(done)
    assert image_of(docker_client, name) == docker_client.images.get(ref).id


def test_a_dockerfile_outside_the_tree_is_refused_at_its_line(app, desired, namespace, tmp_path):
    name, ref = app
    outside = context(tmp_path / "elsewhere")
    (desired / "app.toml").write_text(app_file(name, ref, f'context = "./app", dockerfile = "{outside}/Dockerfile"'))
    refused = apply(desired, namespace)
    assert refused.returncode == 1
    assert refused.stderr.startswith("app.toml:3: container.") and "build.dockerfile: " in refused.stderr, said(refused)


def test_a_failing_build_fails_its_container_with_the_builders_last_lines_and_the_old_keeps_running(
        docker_client, app, desired, namespace):
    name, ref = app
    assert apply(desired, namespace).returncode == 0
    serving = running(docker_client, name).id
    context(desired / "app", dockerfile=DOCKERFILE + "RUN echo about to fail && false\n")
    done = apply(desired, namespace)
    assert done.returncode == 1
    failure = done.stdout.split(f"failed: recreate container {name}: failed at 'build {ref} (build-", 1)[1]
    assert f"': build {ref}: " in failure, said(done)
    assert "RUN echo about to fail && false\n" in failure and "\nabout to fail\n" in failure, failure
    assert running(docker_client, name).id == serving


def test_a_build_failure_says_the_builders_lines_without_their_terminal_colours(app, desired, namespace):
    context(desired / "app", dockerfile=DOCKERFILE + "RUN printf '\\033[91mred alert\\033[0m\\n' && false\n")
    done = apply(desired, namespace)
    assert done.returncode == 1
    assert "\nred alert\n" in done.stdout, said(done)
    assert "\x1b" not in said(done) and "\\u001b" not in done.stderr  # the JSON log's form of ESC


def test_a_pushed_build_is_pulled_by_a_second_namespace(docker_client, registry: Registry, app, desired, namespace,
                                                        tmp_path):
    name, _ = app
    repository = f"{namespace}/app"
    ref = f"{registry.host}/{repository}:1"
    (desired / "app.toml").write_text(app_file(name, ref, push=True))
    done = apply(desired, namespace)
    assert done.returncode == 0, said(done)
    digest = registry.digest(repository, "1")
    assert [e["digest"] for e in events(done.stderr, "image.pushed")] == [digest]
    built = docker_client.images.get(ref).id
    drop_local(docker_client, ref)
    second, other = tmp_path / "second", f"{namespace}-2"
    second.mkdir()
    (second / "web.toml").write_text(f'[container.{other}-web]\nimage = "{ref}"\ncommand = ["sleep", "3600"]\n'
                                     "init = true\nstop_timeout = 1\n")
    try:
        pulled = reconciler("apply", str(second), namespace=other)
        assert pulled.returncode == 0, said(pulled)
        assert [e["ref"] for e in events(pulled.stderr, "image.pull_finished")] == [ref]
        assert image_of(docker_client, f"{other}-web") == built
    finally:
        remove_containers(docker_client, docker_client.containers.list(
            all=True, filters={"label": f"io.reconciler.managed={other}"}))
        drop_local(docker_client, ref)


def events(stderr: str, event: str) -> list[dict]:
    """The structlog events named `event` among the JSON lines of a command's stderr."""
    found = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    return [e for e in found if e.get("event") == event]
