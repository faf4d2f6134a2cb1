"""A build failure's message is plain text (runtime/builder_output.py): the builder's last lines
without the terminal colours and control characters a step wrote, as Docker 20.10 relays them."""

from __future__ import annotations

from runtime.builder_output import BUILD_LINES, failure, plain

# the classic builder's stream lines of a failing `RUN apk add nosuch` on Docker 20.10 (stderr in red)
COLOURED = [
    "Step 2/2 : RUN apk add nosuch",
    " ---> Running in 5d1c2a3b4e6f",
    "\x1b[91mERROR: unable to select packages:\n\x1b[0m",
    "\x1b[91m  nosuch (no such package):\n    required by: world[nosuch]\n\x1b[0m",
    "The command '/bin/sh -c apk add nosuch' returned a non-zero code: 1",
]


def test_a_failure_message_carries_no_escape_sequence():
    message = failure("app:1", COLOURED)
    assert "\x1b" not in message and "[91m" not in message and "[0m" not in message
    assert message.splitlines()[:4] == ["build app:1: Step 2/2 : RUN apk add nosuch", "---> Running in 5d1c2a3b4e6f",
                                        "ERROR: unable to select packages:", "nosuch (no such package):"]


def test_plain_leaves_out_osc_titles_cursor_moves_and_control_characters():
    assert plain("\x1b]0;title\x07done\x1b[2K\r\x1b[1A ok\x07\tend\n") == "done ok\tend\n"


def test_a_failure_message_keeps_the_last_lines_only():
    lines = [f"line {n}" for n in range(BUILD_LINES + 5)]
    assert failure("app:1", lines).splitlines()[1:] == lines[-BUILD_LINES + 1:]
