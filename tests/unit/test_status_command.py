import json
import subprocess
import sys
import time
from argparse import Namespace

import pytest

from reconciler.agent.status import ResourceReport, Status
from reconciler.commands import status as command
from reconciler.desired.problems import Problem
from runtime.capabilities import probe
from tests.unit.test_engine_differences import PODMAN_VERSION


@pytest.fixture
def status_file(tmp_path):
    return tmp_path / "prod.status.json"


@pytest.fixture
def status(tmp_path, status_file) -> Status:
    return Status("prod", str(tmp_path / "desired"), interval=30, path=str(status_file))


def run(status_file, json_output=False) -> int:
    return command.run(Namespace(status_file=str(status_file), json=json_output, namespace="prod"))


def write_with_pid(status_file, pid: int) -> None:
    data = json.loads(status_file.read_text())
    data["pid"] = pid
    status_file.write_text(json.dumps(data))


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_missing_status_file_exits_1_saying_the_agent_is_not_running(status_file, capsys):
    assert run(status_file) == 1
    err = capsys.readouterr().err
    assert str(status_file) in err and "not running" in err


def test_an_unreadable_status_file_exits_1_with_the_reason(status_file, capsys):
    status_file.write_text("{half")
    assert run(status_file) == 1
    assert "cannot read the status file" in capsys.readouterr().err


def test_a_running_agent_exits_0(status, status_file):
    status.save()
    assert run(status_file) == 0


def test_json_prints_the_status_file_verbatim(status, status_file, capsys):
    status.record_pass("converged", 0.5, digest="abc")
    status.save()
    run(status_file, json_output=True)
    assert capsys.readouterr().out == status_file.read_text()


def test_table_lists_each_resource_with_state_and_message(status, status_file, capsys):
    status.set_resources([ResourceReport("container", "web", "failed", "pull failed: no such image"),
                          ResourceReport("volume", "data", "retained", "no longer declared")])
    status.save()
    run(status_file)
    lines = capsys.readouterr().out.splitlines()
    header = next(line for line in lines if line.startswith("RESOURCE"))
    assert header.split() == ["RESOURCE", "STATE", "SINCE", "MESSAGE"]
    web = next(line for line in lines if line.startswith("container/web"))
    assert "failed" in web and "pull failed: no such image" in web
    assert any(line.startswith("volume/data") and "retained" in line for line in lines)


def test_table_shows_the_last_pass_result_and_counts(status, status_file, capsys):
    status.record_pass("failed", 1.5, counts={"created": 2, "failed": 1, "removed": 0})
    status.save()
    run(status_file)
    last = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("last pass"))
    assert "failed" in last and "took 1.5s" in last and "created 2, failed 1" in last
    assert "removed" not in last


def test_table_shows_a_pass_under_way_until_it_is_recorded(status, status_file, capsys):
    status.pass_started()
    status.save()
    run(status_file)
    assert any(line.startswith("running    a pass since ") for line in capsys.readouterr().out.splitlines())
    status.record_pass("converged", 40.0)
    status.save()
    run(status_file)
    assert "running    " not in capsys.readouterr().out


def test_table_shows_the_applied_digest(status, status_file, capsys):
    status.record_pass("converged", 0.1, digest="d1g3st")
    status.save()
    run(status_file)
    assert "d1g3st" in capsys.readouterr().out


def test_table_shows_the_engine_and_what_it_cannot_do(status, status_file, capsys):
    status.save()
    run(status_file)
    assert "engine     not reached yet" in capsys.readouterr().out
    status.set_engine(probe(PODMAN_VERSION, {"host": {"cgroupManager": "cgroupfs"}}).describe())
    status.save()
    run(status_file)
    assert ("engine     podman 4.3.1 (API 1.41; without in-place update, distribution, healthchecks)"
            in capsys.readouterr().out.splitlines())
    assert json.loads(status_file.read_text())["engine"]["kind"] == "podman"


def test_table_shows_a_swarm_manager_and_its_swarm(status, status_file, capsys):
    swarm = {"role": "manager", "node_id": "n1", "cluster_id": "c1", "nodes": 3, "managers": 1}
    status.set_engine({"kind": "docker", "version": "20.10.24", "api_version": "1.41", "swarm": swarm})
    status.save()
    run(status_file)
    assert "engine     docker 20.10.24 (API 1.41), Swarm manager n1 of 3 nodes" in capsys.readouterr().out.splitlines()


def test_table_lists_current_errors_with_file_line_and_key(status, status_file, capsys):
    status.set_errors([Problem("web.toml", 3, "container.web.image", "required")])
    status.save()
    run(status_file)
    assert "  web.toml:3: container.web.image: required" in capsys.readouterr().out.splitlines()


def test_table_lists_current_warnings(status, status_file, capsys):
    status.set_warnings([Problem("empty.toml", None, "", "the file declares nothing")])
    status.save()
    run(status_file)
    out = capsys.readouterr().out.splitlines()
    assert out[out.index("WARNINGS (1)") + 1] == "  empty.toml: the file declares nothing"


def test_table_shows_why_the_last_pass_crashed(status, status_file, capsys):
    status.record_pass("failed", 0.2, error="ValueError: cannot convert float NaN to integer")
    status.save()
    run(status_file)
    last = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("last pass"))
    assert last.endswith("took 0.2s: ValueError: cannot convert float NaN to integer")


def test_table_lists_pending_retries_with_time_to_go(status, status_file, capsys):
    status.set_retries({"container/web": time.monotonic() + 120}, now=time.monotonic())
    status.save()
    run(status_file)
    out = capsys.readouterr().out
    retry = next(line for line in out.splitlines() if line.strip().startswith("container/web"))
    assert "in 2m" in retry or "in 1m 59s" in retry


def test_sections_without_content_are_left_out(status, status_file, capsys):
    status.save()
    run(status_file)
    out = capsys.readouterr().out
    assert "ERRORS" not in out and "PENDING RETRIES" not in out and "RESOURCE" not in out


def test_a_dead_agent_is_reported_and_exits_1(status, status_file, capsys):
    status.save()
    pid = dead_pid()
    write_with_pid(status_file, pid)
    assert run(status_file) == 1
    assert f"not running (pid {pid} gone)" in capsys.readouterr().out


def test_a_silent_agent_is_reported(status, status_file, capsys):
    status.save()
    data = json.loads(status_file.read_text())
    data["updated_at"] = "2000-01-01T00:00:00+00:00"
    status_file.write_text(json.dumps(data))
    run(status_file)
    assert "but silent for" in capsys.readouterr().out


@pytest.mark.parametrize("seconds, text", [(5, "5s"), (90, "1m 30s"), (120, "2m"), (3 * 3600 + 60, "3h 1m"),
                                           (3 * 86400, "3d")])
def test_durations_are_short_and_readable(seconds, text):
    assert command._duration(seconds) == text


def test_table_shows_a_git_sources_revisions_and_what_held_the_attempted_one_back(status, status_file, capsys):
    good, broken = "a" * 40, "b" * 40
    status.source = lambda: {"kind": "git", "url": "https://***@forge.example/infra.git", "ref": "main",
                             "path": "hosts/web", "fetched": broken, "fetched_at": None, "fetch_error": None,
                             "refused": {"revision": "c" * 40, "reason": "not signed by an allowed key"},
                             "revision": broken, "attempted": broken, "applied": good,
                             "files": {"web.toml": "invalid", "db.toml": "applied"}}
    status.save()
    run(status_file)
    out = capsys.readouterr().out
    assert "git        https://***@forge.example/infra.git main /hosts/web" in out
    assert f"revision   applied {good[:12]}, attempted {broken[:12]}, fetched {broken[:12]}" in out
    assert "not applied: web.toml (invalid)" in out
    assert f"refused    {'c' * 12}: not signed by an allowed key" in out
