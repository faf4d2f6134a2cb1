"""`reconciler import compose` reads the YAML 1.1 traps as current Compose (v2, compose-go) reads
them, not as YAML 1.1 readers (PyYAML, docker-compose 1.29.2) do.

compose-go decodes with go-yaml v3 (`resolve.go`): a plain scalar is an int only when Go's
`strconv.ParseInt(s, 0, 64)` takes it (so `0022` is octal, 18: "Octals from the 1.1 spec, spelled
as 0777, are still decoded by default in v3 as well for compatibility"), a bool only when it is
`true`/`false` (any case variant listed there), and base-60 numbers are "purposefully
unsupported": `22:22` stays a string where YAML 1.1 reads 1342, `no`/`on` stay strings where
YAML 1.1 reads false/true. Then compose-go validates the result against compose-spec's
schema (`schema/compose-spec.json`: `user` is a string, so an int there is refused), turns
environment numbers into their decimal text, and reads durations with Go's `time.ParseDuration`
(05-services.md, "stop_grace_period": `1m30s`).

Each test writes a one-service Compose file, imports it with no engine reachable, and reads the
container table of the TOML written (its key under our name or Compose's alias: both are valid);
environment values as our loader reads the folder written (a TOML `true` or `18` is the text
"true" or "18" there, as in Compose).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from reconciler.commands.cli import main
from reconciler.desired.loader import load
from reconciler.desired.units import duration


@pytest.fixture
def imported(tmp_path, monkeypatch, capsys):
    """import(service_yaml) -> (exit code, the container table written or None, stderr); the
    folder written is `tmp_path / "desired-state"`."""
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")

    def run(service: str) -> tuple[int, dict | None, str]:
        compose = tmp_path / "compose.yaml"
        compose.write_text("services:\n  app:\n    image: localhost/demo:1\n" + service)
        out = tmp_path / "desired-state"
        code = main(["import", "compose", str(compose), "--out", str(out)])
        err = capsys.readouterr().err
        written = out / "app.toml"
        if not written.exists():
            return code, None, err
        (table,) = tomllib.loads(written.read_text())["container"].values()
        return code, table, err
    return run


def test_an_unquoted_port_pair_is_the_string_written_not_a_base_60_number(imported):
    code, table, err = imported("    ports: [22:22]\n")
    assert (code, table["ports"]) == (0, ["22:22"]), err


def loaded_env(folder: Path) -> dict[str, str]:
    """The env of the one container our loader reads from `folder`."""
    result = load(folder)
    assert result.errors == (), result.errors
    (spec,) = result.state.containers.values()
    return dict(spec.env)


def test_no_and_on_as_environment_values_stay_the_strings_written(imported, tmp_path):
    code, _, err = imported("    environment: {FLAG: no, ON_KEY: on, OFF_KEY: off, YES_KEY: yes}\n")
    assert code == 0, err
    assert loaded_env(tmp_path / "desired-state") == {"FLAG": "no", "ON_KEY": "on", "OFF_KEY": "off", "YES_KEY": "yes"}


def test_true_as_an_environment_value_is_the_text_compose_gives_it(imported, tmp_path):
    code, _, err = imported("    environment: {DEBUG: true}\n")
    assert code == 0, err
    assert loaded_env(tmp_path / "desired-state") == {"DEBUG": "true"}


def test_an_octal_looking_environment_value_is_the_decimal_text_of_the_octal_number(imported, tmp_path):
    code, _, err = imported("    environment: {UMASK: 0022}\n")
    assert code == 0, err
    assert loaded_env(tmp_path / "desired-state") == {"UMASK": "18"}


def test_a_quoted_octal_looking_user_stays_the_string_written(imported):
    code, table, err = imported('    user: "0755"\n')
    assert (code, table["user"]) == (0, "0755"), err


def test_an_unquoted_octal_looking_user_is_refused_at_its_line_and_nothing_is_written(imported):
    code, table, err = imported("    user: 0755\n")
    assert (code, table) == (1, None)
    assert "compose.yaml:4: services.app.user" in err
    assert "Traceback" not in err


def test_a_grace_period_in_minutes_and_seconds_is_ninety_seconds(imported):
    code, table, err = imported("    stop_grace_period: 1m30s\n")
    grace = table.get("stop_timeout", table.get("stop_grace_period"))
    assert (code, duration(grace)) == (0, 90), err
