"""The control API end to end: `reconciler run` as a process, called over its unix socket and TLS
TCP, and through the CLI commands that are its clients; every answer valid against the OpenAPI
document."""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import subprocess
import threading
from pathlib import Path

import jsonschema
import pytest

from reconciler.control.client import AgentClient, CallFailed
from reconciler.control.openapi import document, schema_of
from reconciler.control.paths import default_socket
from tests.integration.agents import RECONCILER, eventually, running, service

pytestmark = pytest.mark.integration


@pytest.fixture
def agent(desired, names, start_agent):
    (desired / "web.toml").write_text(service(names("web")))
    process = start_agent()
    process.wait_converged(names("web"))
    return process


@pytest.fixture
def client(namespace) -> AgentClient:
    return AgentClient(default_socket(namespace, os.environ.get("DOCKER_HOST")))


def valid(answer: dict, component: str) -> dict:
    jsonschema.validate(answer, schema_of(component), cls=jsonschema.Draft202012Validator)
    return answer


def cli(namespace: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([RECONCILER, "--namespace", namespace, *args], capture_output=True, text=True, timeout=120)


def test_every_call_answers_json_valid_against_the_openapi_document(agent, client, names):
    valid(client.call("GET", "/v1/status"), "status")
    valid(client.call("GET", "/v1/plan"), "planned")
    valid(client.call("POST", "/v1/sync", {"prune_volumes": False}), "passed")
    valid(client.call("POST", f"/v1/retry/container/{names('web')}"), "passed")
    valid(client.call("POST", "/v1/suspend"), "suspension")
    valid(client.call("POST", "/v1/resume"), "suspension")
    assert client.call("GET", "/v1/openapi.json") == json.loads(json.dumps(document()))


def test_the_openapi_document_is_a_valid_openapi_3_1_document_of_valid_schemas():
    doc = document()
    assert doc["openapi"].startswith("3.1")
    for schema in doc["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)
    for path, methods in doc["paths"].items():
        for operation in methods.values():
            for answer in operation["responses"].values():
                ref = answer["content"]["application/json"]["schema"]["$ref"]
                assert ref.removeprefix("#/components/schemas/") in doc["components"]["schemas"], (path, ref)


@pytest.mark.parametrize("method, path, body, code", [
    ("GET", "/v1/nothing", None, 404),
    ("POST", "/v1/status", None, 405),
    ("POST", "/v1/sync", {"prune": True}, 400),
    ("POST", "/v1/retry/pod/x", None, 400),
])
def test_a_refused_call_answers_a_json_error_with_a_message(agent, client, method, path, body, code):
    with pytest.raises(CallFailed) as refused:
        client.call(method, path, body)
    assert refused.value.code == code and str(refused.value)


def test_a_second_client_is_answered_while_a_pass_runs(agent, client, desired, names):
    (desired / "db.toml").write_text(service(names("db")))
    synced: list[dict] = []
    thread = threading.Thread(target=lambda: synced.append(client.call("POST", "/v1/sync")))
    thread.start()
    status = client.call("GET", "/v1/status")
    thread.join(timeout=60)
    assert status["status"]["namespace"] and synced and synced[0]["pass"]["result"] == "converged"


def test_a_caller_outside_the_sockets_group_is_refused(agent, namespace):
    path = default_socket(namespace, os.environ.get("DOCKER_HOST"))
    assert oct(path.stat().st_mode & 0o777) == "0o660"
    probe = ("import socket,os,sys\nos.setgid(65534); os.setgroups([]); os.setuid(65534)\n"
             f"s = socket.socket(socket.AF_UNIX)\ntry: s.connect({str(path)!r})\n"
             "except PermissionError: sys.exit(3)\nsys.exit(0)\n")
    assert subprocess.run(["python3", "-c", probe], timeout=30).returncode == 3


def test_reconciler_sync_makes_a_pass_and_prints_its_result(agent, namespace, desired, names, docker_client):
    (desired / "db.toml").write_text(service(names("db")))
    done = cli(namespace, "sync")
    assert done.returncode == 0, done.stderr
    assert "pass converged" in done.stdout
    assert running(docker_client, names("db"))


def test_a_suspended_agent_reports_drift_keeps_suspended_across_a_restart_and_heals_on_resume(
    desired, names, namespace, start_agent, docker_client
):
    (desired / "web.toml").write_text(service(names("web")))
    first = start_agent()
    first.wait_converged(names("web"))
    assert cli(namespace, "suspend").returncode == 0
    docker_client.containers.get(names("web")).stop(timeout=1)
    eventually(lambda: first.states().get(names("web")) == "drifted", "drift reported")
    assert first.status()["suspended"] and not running(docker_client, names("web"))
    first.stop()

    second = start_agent()
    eventually(lambda: second.status()["last_pass"], "a first pass")
    assert second.status()["suspended"] and second.states()[names("web")] == "drifted"
    assert not running(docker_client, names("web"))
    assert cli(namespace, "resume").returncode == 0
    second.wait_converged(names("web"))
    assert running(docker_client, names("web"))


def test_apply_beside_a_running_agent_goes_through_it_and_refuses_another_directory(
    agent, namespace, desired, names, docker_client, tmp_path
):
    (desired / "db.toml").write_text(service(names("db")))
    done = cli(namespace, "apply", str(desired))
    assert done.returncode == 0, done.stderr
    assert "through the running agent" in done.stdout and running(docker_client, names("db"))
    other = tmp_path / "other"
    other.mkdir()
    refused = cli(namespace, "apply", str(other))
    assert refused.returncode == 1 and "not" in refused.stderr and str(other) in refused.stderr


def test_the_status_address_refuses_a_foreign_host_header_and_every_control_call(agent):
    connection = http.client.HTTPConnection("127.0.0.1", agent.port, timeout=5)
    connection.request("GET", "/status", headers={"Host": "attacker.example:80"})
    assert connection.getresponse().status == 403
    connection.close()
    connection = http.client.HTTPConnection("127.0.0.1", agent.port, timeout=5)
    connection.request("POST", "/v1/sync")
    assert connection.getresponse().status == 405
    assert agent.get("/status")[0] == 200


def _certificates(folder: Path) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl."""
    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test-ca",
        "-keyout", "ca.key", "-out", "ca.pem")
    (folder / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    for name in ("server", "client"):
        run("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout", f"{name}.key",
            "-out", f"{name}.csr")
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "1", "-extfile", "san.cnf", "-out", f"{name}.pem")
    return {name: folder / name for name in ("ca.pem", "server.pem", "server.key", "client.pem", "client.key")}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_tcp_control_answers_a_client_certificate_and_refuses_a_client_without_one(
    desired, names, start_agent, tmp_path
):
    made = _certificates(tmp_path)
    port = _free_port()
    (desired / "web.toml").write_text(service(names("web")))
    agent = start_agent(extra=("--api-tcp", f"127.0.0.1:{port}", "--api-tls-cert", str(made["server.pem"]),
                               "--api-tls-key", str(made["server.key"]), "--api-tls-ca", str(made["ca.pem"])))
    agent.wait_converged(names("web"))

    trusted = ssl.create_default_context(cafile=str(made["ca.pem"]))
    trusted.load_cert_chain(str(made["client.pem"]), str(made["client.key"]))
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=trusted, timeout=10)
    connection.request("GET", "/v1/status")
    answer = connection.getresponse()
    assert answer.status == 200 and valid(json.loads(answer.read()), "status")

    anonymous = ssl.create_default_context(cafile=str(made["ca.pem"]))
    with pytest.raises((ssl.SSLError, ConnectionError, http.client.HTTPException)):
        connection = http.client.HTTPSConnection("127.0.0.1", port, context=anonymous, timeout=10)
        connection.request("GET", "/v1/status")
        connection.getresponse()


def test_tcp_control_is_refused_without_tls(desired, names, start_agent, tmp_path, namespace):
    done = subprocess.run([RECONCILER, "--namespace", namespace, "--state-dir", str(tmp_path / "s"), "run",
                           str(desired), "--status-addr", "127.0.0.1:0", "--api-tcp", "127.0.0.1:0"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "TLS" in done.stderr


def test_without_an_agent_a_suspension_is_recorded_and_apply_waits_for_resume(
    desired, names, namespace, tmp_path, docker_client
):
    (desired / "web.toml").write_text(service(names("web")))
    state = ("--state-dir", str(tmp_path / "state"))
    assert "recorded in" in cli(namespace, *state, "suspend").stdout
    assert "is suspended" in cli(namespace, *state, "plan", str(desired)).stderr
    refused = cli(namespace, *state, "apply", str(desired))
    assert refused.returncode == 1 and "suspended" in refused.stderr
    assert not running(docker_client, names("web"))
    assert cli(namespace, *state, "resume").returncode == 0
    assert cli(namespace, *state, "apply", str(desired)).returncode == 0
    assert running(docker_client, names("web"))


def test_a_sync_over_invalid_files_says_what_is_wrong(agent, namespace, desired):
    (desired / "broken.toml").write_text("this is [not toml\n")
    done = cli(namespace, "sync")
    assert done.returncode == 1 and "pass invalid" in done.stdout
    assert "error: broken.toml:1" in done.stdout
