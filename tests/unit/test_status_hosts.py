"""The status address's Host check with `run --status-host`: the page, /status, /metrics and /healthz
reached by a DNS name the operator names, and nothing else."""

import http.client

import pytest

from reconciler.agent.status import Status, StatusServer, check_host_name, host_allowed
from reconciler.commands.cli import build_parser


@pytest.mark.parametrize("host", ["vm:9110", "VM:9110", "vm", "metrics.example.com:9110"])
def test_a_name_given_with_status_host_is_taken_as_host(host):
    assert host_allowed(host, 9110, "0.0.0.0", ["vm", "metrics.example.com"])


@pytest.mark.parametrize("host", ["other:9110", "vm:80", "vm.attacker.example:9110"])
def test_a_name_not_given_or_another_port_is_refused(host):
    assert not host_allowed(host, 9110, "0.0.0.0", ["vm"])


def test_a_status_address_given_by_name_refuses_another_ip_address_without_raising():
    assert not host_allowed("10.0.0.7:9110", 9110, "localhost")
    assert host_allowed("127.0.0.1:9110", 9110, "localhost") and host_allowed("localhost:9110", 9110, "localhost")


def test_a_status_address_given_by_name_takes_that_name():
    assert host_allowed("vm:9110", 9110, "vm") and not host_allowed("other:9110", 9110, "vm")


@pytest.mark.parametrize("name", ["vm:9110", "http://vm", "vm/x", ""])
def test_a_status_host_with_a_port_or_a_scheme_is_refused(name):
    with pytest.raises(ValueError):
        check_host_name(name)


@pytest.mark.parametrize("path", ["/", "/status", "/metrics", "/healthz"])
def test_every_path_answers_a_host_given_and_refuses_another(tmp_path, path):
    server = StatusServer(Status("ns", str(tmp_path), 30.0, None), "127.0.0.1:0", ["vm"])
    server.start()
    try:
        codes = []
        for host in (f"vm:{server.address[1]}", f"other:{server.address[1]}"):
            connection = http.client.HTTPConnection(*server.address, timeout=5)
            connection.request("GET", path, headers={"Host": host})
            codes.append(connection.getresponse().status)
            connection.close()
    finally:
        server.stop()
    assert codes[0] in (200, 503) and codes[1] == 403


def test_status_host_is_repeatable():
    args = build_parser().parse_args(["run", "--status-host", "vm", "--status-host", "vm.example.com"])
    assert args.status_host == ["vm", "vm.example.com"]


def test_run_help_names_the_status_page_and_status_host(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "address of the status page /, /healthz, /status and /metrics" in text and "--status-host NAME" in text
