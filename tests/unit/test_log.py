import io
import json
import logging
from datetime import datetime

import pytest
import structlog

from reconciler import log


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _restore_logging():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


def lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_off_a_terminal_each_event_is_one_json_line_with_its_key_values():
    stream = io.StringIO()
    log.configure("info", stream)
    structlog.get_logger().info("container.recreated", name="web", reason="spec changed")
    [record] = [json.loads(line) for line in lines(stream)]
    assert record["event"] == "container.recreated"
    assert record["name"] == "web" and record["reason"] == "spec changed"
    assert record["level"] == "info"


def test_timestamps_are_iso_8601():
    stream = io.StringIO()
    log.configure("info", stream)
    structlog.get_logger().info("pass.started")
    timestamp = json.loads(lines(stream)[0])["timestamp"]
    assert datetime.fromisoformat(timestamp.replace("Z", "+00:00")).tzinfo is not None


def test_on_a_terminal_events_are_rendered_for_people_not_as_json():
    stream = Terminal()
    log.configure("info", stream)
    structlog.get_logger().info("container.recreated", name="web")
    [line] = lines(stream)
    assert "container.recreated" in line and "name" in line and "web" in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


def test_events_below_the_level_are_dropped():
    stream = io.StringIO()
    log.configure("warning", stream)
    logger = structlog.get_logger()
    logger.info("pass.finished")
    logger.warning("engine.unavailable")
    assert [json.loads(line)["event"] for line in lines(stream)] == ["engine.unavailable"]


def test_debug_level_lets_debug_events_through():
    stream = io.StringIO()
    log.configure("debug", stream)
    structlog.get_logger().debug("watch.event", path="web.toml")
    assert json.loads(lines(stream)[0])["event"] == "watch.event"


def test_reconfiguring_reaches_a_logger_created_before():
    logger = structlog.get_logger()
    first, second = io.StringIO(), io.StringIO()
    log.configure("info", first)
    logger.info("one")
    log.configure("error", second)
    logger.info("two")
    assert lines(second) == []


def test_exceptions_are_included_in_the_json_line():
    stream = io.StringIO()
    log.configure("info", stream)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        structlog.get_logger().exception("pass.crashed")
    assert "RuntimeError: boom" in json.loads(lines(stream)[0])["exception"]


def test_stdlib_info_from_libraries_is_silenced():
    stream = io.StringIO()
    log.configure("debug", stream)
    logging.getLogger("watchdog.observers").info("chatter")
    assert lines(stream) == []


def test_stdlib_warnings_from_libraries_are_rendered_as_json():
    stream = io.StringIO()
    log.configure("info", stream)
    logging.getLogger("urllib3.connectionpool").warning("retrying %s", "GET")
    [record] = [json.loads(line) for line in lines(stream)]
    assert record["event"] == "retrying GET"
    assert record["level"] == "warning"
    assert record["logger"] == "urllib3.connectionpool"


def test_configuring_twice_does_not_duplicate_stdlib_lines():
    stream = io.StringIO()
    log.configure("info", stream)
    log.configure("info", stream)
    logging.getLogger("docker").error("lost")
    assert len(lines(stream)) == 1
