"""Safety on the real engine, as a user meets it (issues 10 and 11): data survives a replacement,
containers tied by id follow their target, jobs run once, conditions hold on every pass, crash
loops are blocked, an invalid file removes nothing, clean-up waits only for its users, and the
plan is what apply does (compared with the engine's own event stream)."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import http.server
import io
import json
import os
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import docker
import pytest

from reconciler.commands.render import plan_text
from reconciler.converge import converge, make_plan, observe
from reconciler.desired.loader import load
from reconciler.fields import Dependency, Healthcheck, NetworkAttachment, UpdatePolicy
from reconciler.model import ContainerSpec, NetworkSpec, Source, form_of, spec_hash_at
from reconciler.options import DEFAULT, PlanOptions
from reconciler.ownership import owned_labels
from reconciler.tasks import Action, Plan, Step, Task
from runtime.docker import DockerRuntime
from tests.integration.test_converge import NO_CHANGES, state
from tests.integration.test_converge import sleeper as plain_sleeper

pytestmark = pytest.mark.integration


def sleeper(name: str, **changes) -> ContainerSpec:
    """A container that sleeps, stops at once, and is rolled back within 10 s."""
    return plain_sleeper(name, **{"update": UpdatePolicy(timeout=10), **changes})


def planned(engine, namespace, desired, options=DEFAULT) -> Plan:
    return make_plan(desired, observe(engine, namespace, desired), namespace, options)


def pending(engine, namespace, desired, options=DEFAULT) -> str:
    return plan_text(planned(engine, namespace, desired, options))


def named(docker_client, name: str) -> list:
    """Every container standing for `name`: itself and any temporary (--next-/--prev-) name."""
    found = []
    for entry in docker_client.api.containers(all=True, filters={"name": name}):
        own = entry["Names"][0].lstrip("/")
        if own == name or own.startswith(f"{name}--"):
            try:
                found.append(docker_client.containers.get(entry["Id"]))
            except docker.errors.NotFound:
                pass
    return found


def exited(docker_client, name: str, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while True:
        container = docker_client.containers.get(name)
        if container.status == "exited" or time.monotonic() > deadline:
            return container
        time.sleep(0.1)


def in_order(text: str, expected: list[str]) -> bool:
    """Whether each expected line is a line of `text`, in this order (other lines may come between)."""
    lines = iter(text.splitlines())
    return all(any(line == wanted for line in lines) for wanted in expected)


def reconciler(*args: str, namespace: str) -> subprocess.CompletedProcess:
    """The CLI as a user runs it, against the engine in $DOCKER_HOST."""
    return subprocess.run([sys.executable, "-m", "reconciler", *args, "--namespace", namespace],
                          capture_output=True, text=True, timeout=120, env={**os.environ})


# -- the engine's own record: container events of one namespace --------------------------------

WATCHED = ("create", "start", "stop", "rename", "destroy")
ENGINE_WORDS = {"remove": "destroy"}  # Podman's name of the event
STOPPED_EXIT_CODES = ("137", "143")


@contextmanager
def engine_events(docker_client, namespace: str) -> Iterator[list[tuple[str, ...]]]:
    """The container create/start/stop/rename/destroy events of `namespace` while the block runs,
    as ("rename", old name, new name) or (action, name), in the engine's order."""
    recorded: list[tuple[str, ...]] = []
    selector = {"label": f"io.reconciler.managed={namespace}"}
    # Podman's rename event has no oldName: names are followed by container id
    names = {c["Id"]: c["Names"][0].lstrip("/") for c in docker_client.api.containers(all=True, filters=selector)}
    since = time.time()
    yield recorded
    until = time.time() + 0.5  # Podman answers only while `until` is ahead
    stream = docker_client.events(
        since=f"{since:.9f}", until=f"{until:.9f}", decode=True, filters={"type": "container", **selector})
    podman = any(c.get("Name") == "Podman Engine" for c in docker_client.version().get("Components") or ())
    for event in stream:
        action = ENGINE_WORDS.get(event.get("Action"), event.get("Action"))
        id, attributes = event["Actor"]["ID"], event["Actor"]["Attributes"]
        if podman and action == "die" and attributes.get("exitCode") in STOPPED_EXIT_CODES:
            action = "stop"  # Podman emits no stop event: a death by SIGTERM or SIGKILL stands for it
            if recorded and recorded[-1] == (action, attributes["name"]):
                continue  # (and may report that death twice)
        if action == "rename":
            old = attributes.get("oldName") or names.get(id, "?")
            recorded.append(("rename", old.lstrip("/"), attributes["name"]))
        elif action in WATCHED:
            recorded.append((action, attributes["name"]))
        names[id] = attributes["name"]


def as_events(actions: tuple[Action, ...] | list[Action], names: dict[str, str]) -> list[tuple[str, ...]]:
    """The events a sequence of plan actions makes, by container name; `names` maps the ids the
    plan targets to their current names and follows the renames."""
    events: list[tuple[str, ...]] = []
    for action in actions:
        current = names.get(action.target, action.target)
        if action.step is Step.CREATE:
            events.append(("create", action.name))
        elif action.step is Step.START:
            events.append(("start", current))
        elif action.step is Step.STOP:
            events.append(("stop", current))
        elif action.step is Step.RENAME:
            events.append(("rename", current, action.name))
            names[action.target] = action.name
        elif action.step is Step.REMOVE:
            events.append(("destroy", current))
    return events


def expected_events(task: Task, names: dict[str, str], failed: Action | None = None) -> list[tuple[str, ...]]:
    """What the plan lets `task` do: every step; or, when `failed` is one of its steps, the steps up
    to it and the conditional branch (rollback) printed under it."""
    if failed is None:
        return as_events(task.steps, names)
    index = task.steps.index(failed)
    return as_events([*task.steps[: index + 1], *task.rollback[index]], names)


def by_container(events: list[tuple[str, ...]], logical: dict[str, str]) -> dict[str, list[tuple[str, ...]]]:
    """Events grouped by the desired name they stand for (`logical`: engine name -> desired name)."""
    groups: dict[str, list[tuple[str, ...]]] = {}
    for event in events:
        groups.setdefault(logical.get(event[1], event[1].split("--")[0]), []).append(event)
    return groups


def ids_to_names(docker_client, namespace: str) -> dict[str, str]:
    return {c.id: c.name for c in docker_client.containers.list(
        all=True, filters={"label": f"io.reconciler.managed={namespace}"})}


# -- 1. data survives a replacement --------------------------------------------------------------


def test_data_in_an_image_volume_survives_a_replacement_in_an_owned_named_volume(
    engine, namespace, names, docker_client, volume_image
):
    db = sleeper(names("db"), image=volume_image, env={"V": "1"})
    volume = f"{db.name}_data"
    assert f"+ create volume {volume} (missing)" in pending(engine, namespace, state(db)).splitlines()
    assert converge(engine, state(db), namespace).converged
    before = docker_client.containers.get(db.name)
    assert before.exec_run(["sh", "-c", "echo kept > /data/marker"]).exit_code == 0

    assert converge(engine, state(dataclasses.replace(db, env={"V": "2"})), namespace).converged

    (after,) = named(docker_client, db.name)
    assert after.id != before.id and "V=2" in after.attrs["Config"]["Env"]
    assert after.exec_run(["cat", "/data/marker"]).output == b"kept\n"
    (mount,) = [m for m in after.attrs["Mounts"] if m["Destination"] == "/data"]
    assert (mount["Type"], mount["Name"]) == ("volume", volume)
    labels = docker_client.volumes.get(volume).attrs["Labels"]
    assert labels["io.reconciler.managed"] == namespace
    assert labels["io.reconciler.volume-of"] == f"{db.name}:/data"


def test_an_image_volume_is_retained_when_its_container_leaves_and_removed_only_with_prune_volumes(
    engine, namespace, names, docker_client, volume_image
):
    db, keeper = sleeper(names("db"), image=volume_image), sleeper(names("keeper"))
    volume = f"{db.name}_data"
    converge(engine, state(db, keeper), namespace)
    docker_client.containers.get(db.name).exec_run(["sh", "-c", "echo kept > /data/marker"])

    report = converge(engine, state(keeper), namespace)

    assert report.converged
    assert named(docker_client, db.name) == []
    assert f"= retain volume {volume} (no longer declared; kept, --prune-volumes removes it)" in (
        pending(engine, namespace, state(keeper)).splitlines()
    )
    reader = docker_client.containers.run("localhost/demo:1", ["cat", "/data/marker"], detach=True,
                                          volumes={volume: {"bind": "/data", "mode": "ro"}})
    reader.wait(timeout=10)  # (a `run` that waits for the output hangs on Podman 4.3)
    assert reader.logs() == b"kept\n"
    reader.remove()
    assert converge(engine, state(keeper), namespace, PlanOptions(prune_volumes=True)).converged
    assert docker_client.volumes.list(filters={"name": volume}) == []


def test_a_start_first_container_with_an_image_volume_is_replaced_stop_first_and_the_plan_says_why(
    engine, namespace, names, docker_client, volume_image
):
    db = sleeper(names("db"), image=volume_image, update=UpdatePolicy(order="start-first", timeout=10))
    converge(engine, state(db), namespace)
    changed = dataclasses.replace(db, env={"V": "2"})
    plan = planned(engine, namespace, state(changed))
    assert plan_text(plan).splitlines()[0] == (
        f"~ recreate container {db.name} (spec changed: env; replaced stop-first: it keeps data in image volumes)"
    )
    current = ids_to_names(docker_client, namespace)

    with engine_events(docker_client, namespace) as events:
        assert converge(engine, state(changed), namespace).converged

    (task,) = plan.tasks
    assert events == expected_events(task, current)
    assert events.index(("stop", db.name)) < events.index(("start", db.name))


# -- 2. a container tied by id is replaced with its target --------------------------------------


def test_a_sidecar_in_the_network_stack_of_pause_is_replaced_with_it_and_joins_the_new_pause(
    engine, namespace, names, docker_client
):
    pause = sleeper(names("pause"))
    side = sleeper(names("side"), network_mode=f"container:{pause.name}")
    assert converge(engine, state(pause, side), namespace).converged
    old_side = docker_client.containers.get(side.name).id
    changed = dataclasses.replace(pause, env={"V": "2"})
    assert f"~ recreate container {side.name} (tied to a replaced container: {pause.name})" in (
        pending(engine, namespace, state(changed, side)).splitlines()
    )

    assert converge(engine, state(changed, side), namespace).converged

    (new_pause,) = named(docker_client, pause.name)
    (sidecar,) = named(docker_client, side.name)
    assert sidecar.id != old_side and sidecar.status == "running"
    assert sidecar.attrs["HostConfig"]["NetworkMode"] == f"container:{new_pause.id}"
    assert pending(engine, namespace, state(changed, side)) == NO_CHANGES


# -- 3. run-to-completion containers ------------------------------------------------------------


def made_hash(docker_client, job: ContainerSpec) -> str:
    """The hash a completion record keeps for `job`: its spec hash at the form its container was
    made at (an engine without the update call makes containers at form 2: docs/engines.md)."""
    return spec_hash_at(job, form_of(docker_client.containers.get(job.name).labels))


def test_a_completed_job_runs_once_and_the_next_pass_does_not_start_it_again(engine, namespace, names, docker_client):
    job = sleeper(names("job"), command=("true",), state="completed")
    assert converge(engine, state(job), namespace).converged
    started = exited(docker_client, job.name).attrs["State"]["StartedAt"]

    second = converge(engine, state(job), namespace)

    assert second.converged
    assert second.completed == {job.name: made_hash(docker_client, job)}
    container = docker_client.containers.get(job.name)
    assert (container.status, container.attrs["State"]["StartedAt"]) == ("exited", started)


def test_a_completed_job_removed_by_hand_is_not_run_again_given_its_completion_record(
    engine, namespace, names, docker_client
):
    job = sleeper(names("job"), command=("true",), state="completed")
    records = converge(engine, state(job), namespace).completed
    assert records == {job.name: made_hash(docker_client, job)}
    docker_client.containers.get(job.name).remove()
    options = PlanOptions(completed=records)
    assert pending(engine, namespace, state(job), options) == NO_CHANGES

    with engine_events(docker_client, namespace) as events:
        report = converge(engine, state(job), namespace, options)

    assert report.converged
    assert events == []
    assert named(docker_client, job.name) == []


def test_a_job_that_exits_non_zero_is_not_converged_and_is_started_again_next_pass(
    engine, namespace, names, docker_client
):
    job = sleeper(names("job"), command=("sh", "-c", "exit 3"), state="completed")
    first = converge(engine, state(job), namespace)
    assert not first.converged
    assert [str(r) for r in first.failures] == [f"create container {job.name}: failed at 'wait {job.name} completed "
                                                "(10s)': exited with code 3, expected 0"]
    assert pending(engine, namespace, state(job)).splitlines()[0] == (
        f"> start container {job.name} (run failed: code 3)"
    )

    with engine_events(docker_client, namespace) as events:
        report = converge(engine, state(job), namespace)

    assert not report.converged
    assert report.completed == {}
    assert ("start", job.name) in events


def test_a_change_to_a_completed_jobs_spec_runs_it_again(engine, namespace, names, docker_client):
    job = sleeper(names("job"), command=("sh", "-c", "echo run $V"), env={"V": "1"}, state="completed")
    converge(engine, state(job), namespace)
    exited(docker_client, job.name)
    changed = dataclasses.replace(job, env={"V": "2"})

    report = converge(engine, state(changed), namespace)

    assert report.converged, [str(r) for r in report.results]
    (container,) = named(docker_client, job.name)
    container = exited(docker_client, job.name)
    assert container.logs() == b"run 2\n"
    assert container.attrs["State"]["ExitCode"] == 0
    assert converge(engine, state(changed), namespace).completed == {job.name: made_hash(docker_client, changed)}


# -- 4. a dependency's condition holds on every pass -------------------------------------------


def never_healthy(name: str) -> ContainerSpec:
    return sleeper(name, healthcheck=Healthcheck(("CMD", "false"), interval=1, timeout=1, retries=1),
                   update=UpdatePolicy(timeout=10))


def test_a_dependent_of_a_container_that_never_becomes_healthy_is_never_created(
    engine, namespace, names, docker_client
):
    a = never_healthy(names("a"))
    b = sleeper(names("b"), depends_on=(Dependency(a.name, "healthy"),))
    desired = state(a, b)

    first = converge(engine, desired, namespace)
    second = converge(engine, desired, namespace)

    assert not first.converged and not second.converged
    assert named(docker_client, b.name) == []
    assert docker_client.containers.get(a.name).status == "running"
    lines = pending(engine, namespace, desired).splitlines()
    assert lines[:2] == [
        f"+ create container {b.name} (missing; waiting for a dependency: {a.name} is not healthy)",
        f"    blocked: waiting: {a.name} is not healthy",
    ]


def write(directory: Path, name: str, text: str) -> Path:
    (directory / name).write_text(text)
    return directory


def test_the_cli_plan_exits_3_for_a_dependent_blocked_on_a_dependency_never_healthy(
    tmp_path, namespace, docker_client
):
    directory = write(tmp_path, "app.toml", f"""
[container.{namespace}-a]
image = "localhost/demo:1"
command = ["sleep", "3600"]
init = true
stop_timeout = 1
update = {{ timeout = "10s" }}
healthcheck = {{ test = ["CMD", "false"], interval = "1s", timeout = "1s", retries = 1 }}

[container.{namespace}-b]
image = "localhost/demo:1"
command = ["sleep", "3600"]
init = true
stop_timeout = 1
depends_on = {{ {namespace}-a = "healthy" }}
""")
    assert reconciler("apply", str(directory), namespace=namespace).returncode == 1
    assert reconciler("apply", str(directory), namespace=namespace).returncode == 1

    result = reconciler("plan", str(directory), "--detailed-exitcode", namespace=namespace)

    assert result.returncode == 3, result.stdout + result.stderr
    assert f"    blocked: waiting: {namespace}-a is not healthy" in result.stdout.splitlines()
    assert named(docker_client, f"{namespace}-b") == []


# -- 5. a crash loop the engine runs is not "converged" -----------------------------------------


def test_a_container_the_engine_keeps_restarting_is_a_blocked_crash_loop_for_plan_and_apply(
    tmp_path, namespace, docker_client
):
    name = f"{namespace}-crash"
    directory = write(tmp_path, "crash.toml", f"""
[container.{name}]
image = "localhost/demo:1"
command = ["sh", "-c", "sleep 1; exit 1"]
restart = "always"
init = true
stop_timeout = 1
""")
    assert reconciler("apply", str(directory), namespace=namespace).returncode == 0
    created = docker_client.containers.get(name).id
    deadline = time.monotonic() + 20
    while docker_client.containers.get(name).attrs["RestartCount"] < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    desired = load(directory).state
    engine = DockerRuntime(os.environ.get("DOCKER_HOST"))

    plan = planned(engine, namespace, desired)
    report = converge(engine, desired, namespace)
    planned_cli = reconciler("plan", str(directory), "--detailed-exitcode", namespace=namespace)
    applied_cli = reconciler("apply", str(directory), namespace=namespace)

    assert plan.blocked == (f"container/{name}",)
    assert plan_text(plan).splitlines()[0].startswith(f"# blocked container {name} (crash loop: restarted ")
    assert not report.converged
    assert planned_cli.returncode == 3, planned_cli.stdout
    assert applied_cli.returncode == 1, applied_cli.stdout
    assert docker_client.containers.get(name).id == created


# -- 6. while a file is invalid nothing is removed ----------------------------------------------


def test_while_a_file_is_invalid_no_container_is_removed_whatever_file_declared_it(
    engine, namespace, names, docker_client
):
    kept = sleeper(names("kept"), source=Source("a.toml", 1))
    dropped = sleeper(names("dropped"), source=Source("a.toml", 8))
    frozen = sleeper(names("frozen"), source=Source("b.toml", 1))
    converge(engine, state(kept, dropped, frozen), namespace)
    before = ids_to_names(docker_client, namespace)
    options = PlanOptions(invalid_files=frozenset({"b.toml"}))
    text = pending(engine, namespace, state(kept), options)
    assert f"- remove container {dropped.name} (no longer declared)\n    blocked: removal held back while b.toml " \
           "is invalid" in text
    assert f"- remove container {frozen.name} (no longer declared)\n    blocked: its file b.toml is invalid; " \
           "the last valid content stays in force" in text

    with engine_events(docker_client, namespace) as events:
        report = converge(engine, state(kept), namespace, options)

    assert not report.converged
    assert events == []
    assert ids_to_names(docker_client, namespace) == before
    assert converge(engine, state(kept), namespace).converged  # every file valid again: now they go
    assert sorted(ids_to_names(docker_client, namespace).values()) == [kept.name]


# -- 7. removals of networks wait only for their users -----------------------------------------


def test_a_stale_network_is_removed_although_an_unrelated_container_fails_to_create(
    engine, namespace, names, docker_client
):
    net = NetworkSpec(name=names("net"), source=Source("net.toml", 1))
    user = sleeper(names("user"), networks=(NetworkAttachment(net.name),))
    converge(engine, state(net, user), namespace)
    broken = sleeper(names("broken"), cap_add=("NOPE",))  # both engines refuse it at create

    report = converge(engine, state(broken), namespace)

    (failure,) = report.failures
    assert failure.task.key == f"container/{broken.name}" and failure.failed_step.step is Step.CREATE
    assert named(docker_client, user.name) == []
    assert docker_client.networks.list(names=[net.name]) == []


# -- 8. the plan is what apply does (issue 11) -------------------------------------------------


def test_plan_equals_apply_for_a_missing_image_that_cannot_be_pulled(engine, namespace, names, docker_client):
    web = sleeper(names("web"), image="127.0.0.1:1/nowhere:1")
    plan = planned(engine, namespace, state(web))
    assert in_order(plan_text(plan, steps=True), [
        "< pull image 127.0.0.1:1/nowhere:1 (not on this host)",
        "    pull 127.0.0.1:1/nowhere:1",
        f"+ create container {web.name} (missing)",
        f"    create container {web.name}",
        f"    start {web.name}",
    ])

    with engine_events(docker_client, namespace) as events:
        report = converge(engine, state(web), namespace)

    (failure,) = report.failures
    assert failure.task.key == "image/127.0.0.1:1/nowhere:1" and failure.failed_step.step is Step.PULL
    assert events == []  # the steps after the failed pull are not made
    (skipped,) = [r for r in report.results if r.task.key == f"container/{web.name}"]
    assert skipped.skipped and skipped.error == "image 127.0.0.1:1/nowhere:1 is not available"


class Registry:
    """A read-only registry (distribution API v2) on 127.0.0.1, which the engine reaches over
    plain HTTP: `publish` serves a local image under a repository (any tag)."""

    def __init__(self, docker_client) -> None:
        self._client = docker_client
        self.manifests: dict[str, bytes] = {}
        self.blobs: dict[str, bytes] = {}
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.host = f"127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def publish(self, repository: str, image: str) -> str:
        """Serve the local `image` as `repository`; returns the reference to pull it by."""
        saved = io.BytesIO(b"".join(self._client.images.get(image).save()))
        with tarfile.open(fileobj=saved) as archive:
            (entry,) = json.load(archive.extractfile("manifest.json"))
            config = archive.extractfile(entry["Config"]).read()
            layers = [gzip.compress(archive.extractfile(layer).read(), mtime=0) for layer in entry["Layers"]]
        self.blobs.update({_digest(blob): blob for blob in [config, *layers]})
        self.manifests[repository] = json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(config),
                       "digest": _digest(config)},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": len(layer),
                        "digest": _digest(layer)} for layer in layers],
        }).encode()
        return f"{self.host}/{repository}:1"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        registry = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_HEAD(self) -> None:
                self._answer(body=False)

            def do_GET(self) -> None:
                self._answer(body=True)

            def _answer(self, body: bool) -> None:
                path = self.path.split("?")[0]
                repository, _, reference = path.removeprefix("/v2/").partition("/manifests/")
                blob = path.rsplit("/blobs/", 1)[-1]
                if path in ("/v2", "/v2/"):
                    found = (b"{}", "application/json")
                elif reference and repository in registry.manifests:
                    found = (registry.manifests[repository], "application/vnd.docker.distribution.manifest.v2+json")
                elif "/blobs/" in path and blob in registry.blobs:
                    found = (registry.blobs[blob], "application/octet-stream")
                else:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                content, kind = found
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(content)))
                self.send_header("Docker-Distribution-API-Version", "registry/2.0")
                self.send_header("Docker-Content-Digest", _digest(content))
                self.end_headers()
                if body:
                    self.wfile.write(content)

            def log_message(self, *args) -> None:
                pass

        return Handler


def _digest(content: bytes) -> str:
    return "sha256:" + hashlib.sha256(content).hexdigest()


@pytest.fixture(scope="module")
def registry(docker_client) -> Iterator[Registry]:
    served = Registry(docker_client)
    yield served
    served.close()


@pytest.fixture
def pulled(docker_client, namespace):
    """Image references a test pulls, removed from the engine afterwards (with the test's own
    containers, which the namespace fixture would remove too late; the filter keeps to the test's
    namespace, since a pulled image may be another image's content, used by anyone)."""
    refs: list[str] = []
    yield refs
    for ref in refs:
        mine = {"ancestor": ref, "label": f"io.reconciler.managed={namespace}"}
        for container in docker_client.containers.list(all=True, filters=mine):
            container.remove(force=True)
        try:
            docker_client.images.remove(ref, force=True)
        except docker.errors.ImageNotFound:
            pass


def test_plan_equals_apply_for_a_missing_image_that_is_pulled(
    engine, namespace, names, docker_client, registry, pulled
):
    ref = registry.publish(f"{namespace}/demo", "localhost/demo:1")
    pulled.append(ref)
    web = sleeper(names("web"), image=ref)
    plan = planned(engine, namespace, state(web))
    assert in_order(plan_text(plan, steps=True), [
        f"< pull image {ref} (not on this host)",
        f"    pull {ref}",
        f"+ create container {web.name} (missing)",
        f"    create container {web.name}",
        f"    start {web.name}",
    ])

    with engine_events(docker_client, namespace) as events:
        report = converge(engine, state(web), namespace)

    assert report.converged, [str(r) for r in report.results]
    (_, task) = plan.tasks
    assert events == expected_events(task, {})
    assert docker_client.containers.get(web.name).image.id == docker_client.images.get("localhost/demo:1").id


def test_a_pulled_image_that_declares_a_volume_gets_its_owned_volume_in_the_same_pass(
    engine, namespace, names, docker_client, registry, pulled, volume_image
):
    ref = registry.publish(f"{namespace}/demo-volume", volume_image)
    pulled.append(ref)
    db = sleeper(names("db"), image=ref)

    assert converge(engine, state(db), namespace).converged

    (mount,) = [m for m in docker_client.containers.get(db.name).attrs["Mounts"] if m["Destination"] == "/data"]
    assert (mount["Type"], mount["Name"]) == ("volume", f"{db.name}_data")
    assert pending(engine, namespace, state(db)) == NO_CHANGES


def test_plan_equals_apply_for_a_pull_always_check_that_finds_a_new_image(
    engine, namespace, names, docker_client, registry, pulled
):
    ref = registry.publish(f"{namespace}/app", "localhost/demo:1")
    pulled.append(ref)
    web = sleeper(names("web"), image=ref, pull="always")
    converge(engine, state(web), namespace)
    registry.publish(f"{namespace}/app", "localhost/demo-volume:1")  # the tag moves in the registry
    plan = planned(engine, namespace, state(web))
    assert plan_text(plan, steps=True).splitlines() == [
        f"^ check image {ref} (pull = always)",
        f"    pull {ref}",
        "    then: observe and plan again; if the image moved, replace the containers that use it",
        "No changes: the engine matches the desired state (1 image check(s)).",
    ]
    current = ids_to_names(docker_client, namespace)

    with engine_events(docker_client, namespace) as events:
        report = converge(engine, state(web), namespace)

    assert report.converged, [str(r) for r in report.results]
    (replacement,) = [t for t in report.results if t.task.key == f"container/{web.name}"]
    assert str(replacement.task.change).startswith(f"~ recreate container {web.name} (image moved: {ref} is now")
    assert events == expected_events(replacement.task, current)
    assert docker_client.containers.get(web.name).image.id == docker_client.images.get(ref).id


def test_plan_equals_apply_for_a_held_dependency(engine, namespace, names, docker_client):
    db, other = sleeper(names("db")), sleeper(names("other"))
    web = sleeper(names("web"), depends_on=(Dependency(db.name),))
    options = PlanOptions(held={f"container/{db.name}": "backoff until 12:00:00Z"})
    plan = planned(engine, namespace, state(db, web, other), options)
    assert in_order(plan_text(plan, steps=True), [
        f"+ create container {db.name} (missing)",
        "    blocked: backoff until 12:00:00Z",
        f"    create container {db.name}",
        f"    start {db.name}",
        f"+ create container {other.name} (missing)",
        f"    create container {other.name}",
        f"    start {other.name}",
        f"+ create container {web.name} (missing)",
        f"    blocked: container/{db.name} is blocked",
        f"    create container {web.name}",
        f"    start {web.name}",
        "Plan: 1 to create, 2 blocked.",
    ])

    with engine_events(docker_client, namespace) as events:
        report = converge(engine, state(db, web, other), namespace, options)

    assert not report.converged
    assert events == expected_events(next(t for t in plan.tasks if t.key == f"container/{other.name}"), {})
    assert named(docker_client, db.name) == named(docker_client, web.name) == []


def test_plan_equals_apply_for_the_refusal_of_an_emptied_desired_state(engine, namespace, names, docker_client):
    web = sleeper(names("web"))
    converge(engine, state(web), namespace)
    plan = planned(engine, namespace, state())
    assert plan.runnable == ()
    assert "    blocked: refused: the desired state declares no container" in plan_text(plan)

    with engine_events(docker_client, namespace) as events:
        report = converge(engine, state(), namespace)

    assert not report.converged
    assert events == []
    assert docker_client.containers.get(web.name).status == "running"


def test_plan_equals_apply_for_a_replacement_that_rolls_back(engine, namespace, names, docker_client):
    web = sleeper(names("web"))
    converge(engine, state(web), namespace)
    old = docker_client.containers.get(web.name).id
    broken = dataclasses.replace(web, command=("sh", "-c", "exit 1"),
                                 healthcheck=Healthcheck(("CMD", "true"), interval=1, timeout=1, retries=1))
    plan = planned(engine, namespace, state(broken))
    (task,) = plan.tasks
    current = ids_to_names(docker_client, namespace)

    with engine_events(docker_client, namespace) as events:
        report = converge(engine, state(broken), namespace)

    (failure,) = report.failures
    assert failure.rolled_back and failure.failed_step.step is Step.WAIT
    assert events == expected_events(task, current, failure.failed_step)
    (container,) = named(docker_client, web.name)
    assert (container.id, container.name, container.status) == (old, web.name, "running")


def test_the_printed_plan_shows_each_rollback_as_a_conditional_branch_under_its_step(
    engine, namespace, names, docker_client
):
    web = sleeper(names("web"))
    converge(engine, state(web), namespace)
    plan = planned(engine, namespace, state(dataclasses.replace(web, env={"V": "2"})))
    (task,) = plan.tasks
    assert any(task.rollback)
    expected = [f"~ recreate container {web.name} (spec changed: env)"]
    for step, rollback in zip(task.steps, task.rollback, strict=True):
        expected.append(f"    {step}")
        if rollback:
            expected.append("      if it fails: " + ", ".join(str(action) for action in rollback))
    assert plan_text(plan, steps=True).splitlines()[:-1] == expected


# -- drift of a target, upgrades, crash loops that are fixed ------------------------------------


def netns(container) -> bytes:
    return container.exec_run(["readlink", "/proc/1/ns/net"]).output.strip()


def test_a_sidecar_shares_the_network_stack_of_pause_again_after_pause_was_stopped_by_hand(
    engine, namespace, names, docker_client
):
    pause = sleeper(names("pause"))
    side = sleeper(names("side"), network_mode=f"container:{pause.name}")
    converge(engine, state(pause, side), namespace)
    docker_client.containers.get(pause.name).stop(timeout=1)

    assert converge(engine, state(pause, side), namespace).converged

    new_pause, sidecar = docker_client.containers.get(pause.name), docker_client.containers.get(side.name)
    assert sidecar.status == "running"
    assert netns(sidecar) == netns(new_pause)


def test_a_sidecar_shares_the_network_stack_of_pause_again_after_docker_restarted_pause(
    engine, namespace, names, docker_client
):
    pause = sleeper(names("pause"))
    side = sleeper(names("side"), network_mode=f"container:{pause.name}")
    converge(engine, state(pause, side), namespace)
    time.sleep(1.5)  # the sidecar has been up a while when pause restarts: the list's uptimes order them
    docker_client.containers.get(pause.name).restart(timeout=1)

    assert converge(engine, state(pause, side), namespace).converged

    new_pause, sidecar = docker_client.containers.get(pause.name), docker_client.containers.get(side.name)
    assert netns(sidecar) == netns(new_pause)
    assert pending(engine, namespace, state(pause, side)) == NO_CHANGES


def test_a_sidecar_restarted_just_before_pause_in_the_same_second_is_replaced(engine, namespace, names, docker_client):
    pause = sleeper(names("pause"))
    side = sleeper(names("side"), network_mode=f"container:{pause.name}")
    converge(engine, state(pause, side), namespace)
    docker_client.containers.get(side.name).restart(timeout=1)
    docker_client.containers.get(pause.name).restart(timeout=1)

    assert converge(engine, state(pause, side), namespace).converged

    new_pause, sidecar = docker_client.containers.get(pause.name), docker_client.containers.get(side.name)
    assert netns(sidecar) == netns(new_pause)


def test_a_sidecar_is_replaced_when_pause_is_removed_by_hand(engine, namespace, names, docker_client):
    pause = sleeper(names("pause"))
    side = sleeper(names("side"), network_mode=f"container:{pause.name}")
    converge(engine, state(pause, side), namespace)
    if engine.capabilities.kind == "podman":  # Podman refuses: its dependent still uses the stack
        with pytest.raises(docker.errors.APIError, match="has dependent containers"):
            docker_client.containers.get(pause.name).remove(force=True)
        assert pending(engine, namespace, state(pause, side)) == NO_CHANGES
        return
    docker_client.containers.get(pause.name).remove(force=True)

    assert converge(engine, state(pause, side), namespace).converged

    new_pause, sidecar = docker_client.containers.get(pause.name), docker_client.containers.get(side.name)
    assert sidecar.attrs["HostConfig"]["NetworkMode"] == f"container:{new_pause.id}"
    assert netns(sidecar) == netns(new_pause)
    assert pending(engine, namespace, state(pause, side)) == NO_CHANGES


def test_data_in_the_anonymous_volume_of_a_container_made_before_image_volumes_were_owned_survives_its_replacement(
    engine, namespace, names, docker_client, volume_image
):
    db = sleeper(names("db"), image=volume_image)
    old = docker_client.containers.create(volume_image, ["sleep", "3600"], name=db.name, init=True,
                                          labels=owned_labels(db, namespace))
    old.start()
    old.exec_run(["sh", "-c", "echo kept > /data/marker"])
    changed = dataclasses.replace(db, env={"V": "2"})
    assert converge(engine, state(changed), namespace).converged
    (after,) = named(docker_client, db.name)
    assert after.exec_run(["cat", "/data/marker"]).output == b"kept\n"


def test_a_crash_loop_ends_when_the_spec_is_fixed_the_plan_replaces_it(engine, namespace, names, docker_client):
    crash = sleeper(names("crash"), command=("sh", "-c", "sleep 1; exit 1"), restart="always")
    converge(engine, state(crash), namespace)
    deadline = time.monotonic() + 20
    while docker_client.containers.get(crash.name).attrs["RestartCount"] < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert planned(engine, namespace, state(crash)).blocked == (f"container/{crash.name}",)
    fixed = dataclasses.replace(crash, command=("sleep", "3600"))
    assert pending(engine, namespace, state(fixed)).splitlines()[0] == (
        f"~ recreate container {crash.name} (spec changed: command)"
    )
    assert converge(engine, state(fixed), namespace).converged
    assert docker_client.containers.get(crash.name).attrs["RestartCount"] == 0
