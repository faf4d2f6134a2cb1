"""Last-known-good on the agent's target (`LastKnownGood.target`): a file the target cannot run
(on one host a Swarm-only value, desired.targets; on Swarm what reconciler.swarm.checks refuses)
is held as a file that fails validation is: never saved as last-known-good, its resources stalled
at their last valid content, its error listed until the file no longer has the value."""

from __future__ import annotations

import pytest

from reconciler.agent.lastgood import LastKnownGood, Refresh
from reconciler.agent.statedir import StateDir
from tests.unit.desired import write

WEB = '[container.web]\nimage = "demo"\nenv = { GREETING = "hello" }\n'
REPLICAS = WEB.replace("hello", "bonjour") + "replicas = 3\n"
PRIVILEGED = WEB.replace("hello", "bonjour") + "privileged = true\n"
SYNTAX = '[container.web]\nimage = "demo\n'
REPLICAS_ERROR = ("web.toml:4: container.web.replicas: replicas = 3: only --target swarm runs several tasks "
                  "(or none); on one host a container is one")


@pytest.fixture
def root(tmp_path):
    return tmp_path / "desired"


@pytest.fixture
def store(tmp_path) -> StateDir:
    return StateDir(tmp_path / "state")


def seen_valid(root, store: StateDir, target: str) -> LastKnownGood:
    """The agent's LastKnownGood for `target` that has seen WEB valid (and saved it)."""
    lkg = LastKnownGood(write(root, {"web.toml": WEB}), environ={}, store=store, target=target)
    assert lkg.refresh().errors == ()
    return lkg


def edited(root, store: StateDir, target: str, content: str) -> tuple[LastKnownGood, Refresh]:
    """`seen_valid`, then `content` written in web.toml: (the LastKnownGood, its refresh then)."""
    lkg = seen_valid(root, store, target)
    write(root, {"web.toml": content})
    return lkg, lkg.refresh()


def test_replicas_on_the_host_target_keep_the_last_valid_content_in_force_and_stalled(root, store):
    _, refresh = edited(root, store, "host", REPLICAS)
    assert refresh.state.containers["web"].env == {"GREETING": "hello"}
    assert (refresh.stalled, refresh.invalid) == ({"container/web"}, {"web.toml"})
    assert [str(p) for p in refresh.errors] == [REPLICAS_ERROR]


def test_replicas_on_the_host_target_are_never_saved_as_last_known_good(root, store):
    edited(root, store, "host", REPLICAS)
    assert store.lastgood() == {"web.toml": WEB.encode()}


def test_a_file_first_seen_with_the_global_mode_contributes_nothing_on_the_host_target(root, store):
    write(root, {"web.toml": WEB + 'mode = "global"\n'})
    refresh = LastKnownGood(root, environ={}, store=store, target="host").refresh()
    assert (dict(refresh.state.containers), refresh.invalid) == ({}, {"web.toml"})
    assert [p.key for p in refresh.errors] == ["container.web.mode"]
    assert store.lastgood() == {}


def test_a_syntax_error_after_replicas_shows_only_the_syntax_error(root, store):
    lkg, _ = edited(root, store, "host", REPLICAS)
    write(root, {"web.toml": SYNTAX})
    refresh = lkg.refresh()
    assert [str(p).split(": ")[:2] for p in refresh.errors] == [["web.toml:2", "TOML syntax error"]]
    assert refresh.state.containers["web"].env == {"GREETING": "hello"}
    assert store.lastgood() == {"web.toml": WEB.encode()}


def test_the_swarm_target_takes_replicas(root, store):
    _, refresh = edited(root, store, "swarm", REPLICAS)
    assert (refresh.errors, refresh.state.containers["web"].replicas) == ((), 3)
    assert store.lastgood() == {"web.toml": REPLICAS.encode()}


def test_what_swarm_cannot_run_is_never_saved_as_last_known_good_on_the_swarm_target(root, store):
    _, refresh = edited(root, store, "swarm", PRIVILEGED)
    assert refresh.state.containers["web"].env == {"GREETING": "hello"}
    assert (refresh.stalled, refresh.invalid) == ({"container/web"}, {"web.toml"})
    assert [str(p).split(": ")[:2] for p in refresh.errors] == [["web.toml:4", "container.web.privileged"]]
    assert store.lastgood() == {"web.toml": WEB.encode()}


def test_saved_content_the_target_cannot_run_is_dropped_on_restart(root, store):
    seen_valid(root, store, "swarm")
    write(root, {"web.toml": REPLICAS})
    LastKnownGood(root, environ={}, store=store, target="swarm").refresh()
    write(root, {"web.toml": SYNTAX})
    refresh = LastKnownGood(root, environ={}, store=store, target="host").refresh()
    assert (dict(refresh.state.containers), refresh.stalled) == ({}, frozenset())
