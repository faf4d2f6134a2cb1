"""The adoption records of the state directory (adopted.json) and the --adopt argument."""

from __future__ import annotations

import argparse

import pytest

from reconciler.agent.statedir import StateDir
from reconciler.commands.cli import _adopt_name


def test_records_are_kept_with_the_time_they_were_first_made(tmp_path):
    state = StateDir(tmp_path / "state")
    state.save_adopted({"volume/data": "2024-05-01T13:02:10Z"}, now=1.0)
    state.save_adopted({"volume/data": "2024-05-01T13:02:10Z", "network/front": "n" * 64}, now=2.0)
    assert state.adopted() == {"volume/data": "2024-05-01T13:02:10Z", "network/front": "n" * 64}
    assert '"at": 1.0' in (tmp_path / "state" / "adopted.json").read_text()


def test_a_record_left_out_is_dropped(tmp_path):
    state = StateDir(tmp_path / "state")
    state.save_adopted({"network/front": "n" * 64}, now=1.0)
    state.save_adopted({}, now=2.0)
    assert state.adopted() == {}


def test_adopt_takes_a_kind_and_name_or_a_bare_name():
    assert _adopt_name("volume/data") == "volume/data"
    assert _adopt_name("web") == "web"
    with pytest.raises(argparse.ArgumentTypeError, match="KIND/NAME"):
        _adopt_name("image/web")
