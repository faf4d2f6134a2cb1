"""What starting the CLI costs: a command imports what it needs, `--version` alone reads the
installed distribution's metadata."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata

import pytest

from reconciler.commands.cli import main


def test_version_prints_the_installed_distributions_version(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert (exited.value.code, capsys.readouterr().out) == (0, f"reconciler {metadata.version('reconciler')}\n")


def test_plan_apply_and_validate_import_neither_jsonschema_before_a_check_nor_the_agent():
    unneeded = ("jsonschema", "watchdog", "prometheus_client", "http.server")
    code = ("import sys, reconciler.commands.plan, reconciler.commands.apply, reconciler.commands.validate; "
            "from reconciler.commands.cli import build_parser; build_parser(); "
            f"print(sorted(m for m in {unneeded!r} if m in sys.modules))")
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert found.stdout == "[]\n"
