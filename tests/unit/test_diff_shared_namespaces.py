"""A container sharing another's IPC or PID namespace (`ipc`/`pid = "container:NAME"`) is tied to
that container's id, as one sharing its network stack is: replaced with it."""

from __future__ import annotations

import pytest

from reconciler.model import ContainerSpec, Source
from tests.unit.test_diff_plan import IMAGE, db, desired, observed, printed, running, web


@pytest.mark.parametrize("key", ["ipc", "pid"])
def test_a_container_sharing_a_namespace_of_a_replaced_one_is_replaced_with_it(key):
    side = ContainerSpec(name="side", image=IMAGE, source=Source("side.toml", 1), **{key: "container:db"})
    o = observed(running(web(), "1"), running(db(), "2"), running(side, "3"))
    text = printed(desired(web(), db(env={"A": "b"}), side), o)
    assert "~ recreate container side (tied to a replaced container: db)" in text.splitlines()


def test_a_container_sharing_a_namespace_of_an_unchanged_one_is_left_alone():
    side = ContainerSpec(name="side", image=IMAGE, source=Source("side.toml", 1), ipc="container:db")
    o = observed(running(web(), "1"), running(db(), "2"), running(side, "3"))
    assert "side" not in printed(desired(web(), db(), side), o)


def test_a_container_tied_to_one_container_several_ways_names_it_once():
    side = ContainerSpec(name="side", image=IMAGE, source=Source("side.toml", 1), ipc="container:db",
                         pid="container:db", network_mode="container:db", volumes_from=("db:ro",))
    o = observed(running(web(), "1"), running(db(), "2"), running(side, "3"))
    text = printed(desired(web(), db(env={"A": "b"}), side), o)
    assert "~ recreate container side (tied to a replaced container: db)" in text.splitlines()
