"""Commands run in a container with exec (`Runtime.exec_hook`: Compose's post_start and pre_stop
hooks), pinned for every engine (see conftest: `engine`)."""

from __future__ import annotations

import pytest

from reconciler.fields import Hook
from runtime.base import Conflict, NotFound


def running(engine, short: str) -> str:
    id = engine.create(short)
    engine.runtime.start_container(id)
    return id


def test_an_exec_reports_the_exit_code_and_the_output_of_its_command(engine):
    id = running(engine, "web")
    command = ("sh", "-c", "echo to-out; echo to-err >&2; exit 3")
    engine.execs(command, 3, "to-out\nto-err\n")

    result = engine.runtime.exec_hook(id, Hook(command), timeout=10)

    assert result.exit_code == 3
    assert sorted(result.output.splitlines()) == ["to-err", "to-out"]  # the two streams in either order


def test_an_exec_runs_as_the_hook_user_in_its_working_dir_with_its_environment(engine):
    id = running(engine, "web")
    command = ("sh", "-c", 'echo "$(id -u) $(pwd) $GREETING"')
    engine.execs(command, 0, "4242 /tmp hello\n")

    result = engine.runtime.exec_hook(id, Hook(command, user="4242", working_dir="/tmp",
                                                env={"GREETING": "hello"}), timeout=10)

    assert (result.exit_code, result.output) == (0, "4242 /tmp hello\n")


def test_an_exec_still_running_at_its_time_limit_has_no_exit_code(engine):
    id = running(engine, "web")
    engine.execs(("sleep", "30"), None)

    result = engine.runtime.exec_hook(id, Hook(("sleep", "30")), timeout=1)

    assert result.exit_code is None
    assert 1 <= result.seconds < 5


def test_a_command_missing_from_the_image_ends_with_the_engines_exit_code(engine):
    id = running(engine, "web")
    engine.execs(("no-such-command",), 126)

    result = engine.runtime.exec_hook(id, Hook(("no-such-command",)), timeout=10)

    assert result.exit_code in (126, 127)


def test_an_exec_in_a_container_that_is_not_running_is_a_conflict(engine):
    id = engine.create("web")

    with pytest.raises(Conflict):
        engine.runtime.exec_hook(id, Hook(("true",)), timeout=10)


def test_an_exec_in_a_container_that_is_gone_is_not_found(engine):
    id = engine.create("web")
    engine.runtime.remove_container(id)

    with pytest.raises(NotFound):
        engine.runtime.exec_hook(id, Hook(("true",)), timeout=10)
