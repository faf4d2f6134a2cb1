"""On the host target the Swarm-only values (`replicas` other than 1, `mode = "global"`,
desired.targets) are errors of their file like any other (docs/format.md: every error is
reported): `validate`, `plan` and `plan --json` list them with the files' other errors, sorted by
file and line."""

import json
import subprocess
import sys

from reconciler.commands.cli import main
from tests.unit.desired import load_texts, write

WEB = "[container.web]\nimage = 'x'\n"


def plan(root, *extra: str) -> subprocess.CompletedProcess:
    """`plan` of `root` in a process of its own (it configures the process's logging), on an
    engine it never reaches: invalid files end it before."""
    return subprocess.run([sys.executable, "-m", "reconciler", "plan", "--engine", "unix:///nonexistent.sock",
                           "--state-dir", str(root / "state"), *extra, str(root / "d")],
                          capture_output=True, text=True)


def test_validate_lists_replicas_in_one_file_with_an_error_of_another(tmp_path, capsys):
    write(tmp_path, {"x.toml": WEB + "init = 'x'\n", "y.toml": WEB.replace("web", "api") + "replicas = 2\n"})
    assert main(["validate", str(tmp_path)]) == 1
    assert [line.split(": ")[0:2] for line in capsys.readouterr().err.splitlines()] == [
        ["x.toml:3", "container.web.init"], ["y.toml:3", "container.api.replicas"], ["invalid", "2 errors"]]


def test_validate_lists_replicas_and_mode_with_another_error_of_the_same_container_in_line_order(tmp_path, capsys):
    write(tmp_path, {"x.toml": WEB + "mode = 'global'\ninit = 'x'\nreplicas = 2\n"})
    assert main(["validate", str(tmp_path)]) == 1
    assert [line.split(": ")[0:2] for line in capsys.readouterr().err.splitlines()] == [
        ["x.toml:3", "container.web.mode"], ["x.toml:4", "container.web.init"],
        ["x.toml:5", "container.web.replicas"], ["invalid", "3 errors"]]


def test_the_loader_takes_replicas_for_any_target_but_the_host(tmp_path):
    result = load_texts(tmp_path, {"x.toml": WEB + "replicas = 2\n"})
    assert (result.errors, result.state.containers["web"].replicas) == ((), 2)


def test_plan_prints_mode_and_replicas_in_line_order(tmp_path):
    write(tmp_path / "d", {"x.toml": WEB + "mode = 'global'\nreplicas = 2\n"})
    done = plan(tmp_path)
    assert done.returncode == 1
    assert [line.split(": ")[0:2] for line in done.stderr.splitlines()] == [
        ["x.toml:3", "container.web.mode"], ["x.toml:4", "container.web.replicas"]]


def test_plan_json_lists_the_swarm_only_values_with_the_other_errors_in_line_order(tmp_path):
    write(tmp_path / "d", {"x.toml": WEB + "replicas = 2\ninit = 'x'\nmode = 'global'\n"})
    done = plan(tmp_path, "--json")
    assert done.returncode == 1
    assert [(p["line"], p["key"]) for p in json.loads(done.stdout)["problems"]] == [
        (3, "container.web.replicas"), (4, "container.web.init"), (5, "container.web.mode")]
