"""The key of secrets' keyed hashes per target (swarm.cluster_key): on Swarm the cluster's, kept in
the config `reconciler-key-<namespace>`, so that agents and `apply`s with different state
directories name a secret alike; on one host (and for the offline `validate --target swarm`) the
state directory's."""

from __future__ import annotations

import argparse

import pytest

from reconciler.agent.lastgood import LastKnownGood
from reconciler.agent.statedir import StateDir
from reconciler.commands.context import cluster_key_source
from reconciler.desired.filesources import keyed_hash
from reconciler.swarm.cluster_key import KEY_BYTES, ClusterKey, key_name
from reconciler.swarm.service_spec import object_name
from runtime.base import EngineUnavailable
from tests.unit.conftest import NS
from tests.unit.desired import write
from tests.unit.test_agent_swarm import Pipeline, service, swarm_agent
from tests.unit.test_swarm_lease import Configs

TOKEN = '[secret.token]\nfile = "token.txt"\n'


class KeyConfigs:
    """The key calls of a Swarm manager: config name -> data; creating a taken name gives the data
    there, as runtime.swarm's create_cluster_key does after a Conflict."""

    def __init__(self, **data: bytes) -> None:
        self.data = {key_name(namespace): value for namespace, value in data.items()}
        self.calls = 0
        self.down = False

    def cluster_key(self, name: str) -> bytes | None:
        self.calls += 1
        if self.down:
            raise EngineUnavailable("connection refused")
        return self.data.get(name)

    def create_cluster_key(self, name: str, data: bytes) -> bytes:
        self.calls += 1
        return self.data.setdefault(name, data)


def args(target: str) -> argparse.Namespace:
    return argparse.Namespace(target=target, namespace=NS)


def test_the_key_in_the_clusters_config_is_used_and_nothing_is_created():
    manager = KeyConfigs(unit=b"k" * 32)
    assert ClusterKey(manager, NS, random=pytest.fail)() == b"k" * 32


def test_a_cluster_without_a_key_gets_one_of_32_random_bytes_under_the_namespaces_name():
    manager = KeyConfigs()
    made = ClusterKey(manager, NS, random=lambda n: bytes(range(n)))()
    assert made == bytes(range(KEY_BYTES))
    assert manager.data == {f"reconciler-key-{NS}": made}


def test_the_key_a_concurrent_creator_made_first_is_the_one_used():
    manager = KeyConfigs()
    first = ClusterKey(manager, NS, random=lambda n: b"a" * n)
    second = ClusterKey(manager, NS, random=lambda n: b"b" * n)
    manager.cluster_key = lambda name: None  # both found none, then both create
    assert (first(), second()) == (b"a" * 32, b"a" * 32)


def test_once_read_the_key_is_kept_without_asking_the_manager_again():
    manager = KeyConfigs(unit=b"k" * 32)
    key = ClusterKey(manager, NS)
    key()
    key()
    assert manager.calls == 1


def test_a_manager_out_of_reach_is_an_engine_error_and_the_next_call_asks_again():
    manager = KeyConfigs(unit=b"k" * 32)
    manager.down = True
    key = ClusterKey(manager, NS)
    with pytest.raises(EngineUnavailable):
        key()
    manager.down = False
    assert key() == b"k" * 32


def test_without_create_a_cluster_without_a_key_gets_a_provisional_one_and_nothing_is_written():
    manager = KeyConfigs()
    key = ClusterKey(manager, NS, random=lambda n: b"p" * n, create=False)
    assert (key(), key.provisional, manager.data) == (b"p" * 32, True, {})


def test_without_create_the_clusters_key_is_read_and_is_not_provisional():
    key = ClusterKey(KeyConfigs(unit=b"k" * 32), NS, random=pytest.fail, create=False)
    assert (key(), key.provisional) == (b"k" * 32, False)


def test_storing_a_provisional_key_makes_it_the_clusters():
    manager = KeyConfigs()
    key = ClusterKey(manager, NS, random=lambda n: b"p" * n, create=False)
    key()
    assert (key.store(), manager.data, key.provisional) == (True, {f"reconciler-key-{NS}": b"p" * 32}, False)


def test_storing_after_another_stored_first_says_so_and_gives_the_others_key():
    manager = KeyConfigs()
    key = ClusterKey(manager, NS, random=lambda n: b"p" * n, create=False)
    key()
    manager.data[key_name(NS)] = b"o" * 32
    assert (key.store(), key()) == (False, b"o" * 32)


def test_storing_a_key_read_from_the_cluster_writes_nothing():
    manager = KeyConfigs(unit=b"k" * 32)
    key = ClusterKey(manager, NS, create=False)
    key()
    manager.create_cluster_key = pytest.fail
    assert key.store() is True


def test_swarm_with_a_manager_hashes_with_the_clusters_key():
    source = cluster_key_source(args("swarm"), KeyConfigs(unit=b"k" * 32))
    assert source is not None and source() == b"k" * 32


def test_the_host_target_keeps_the_state_directorys_key():
    assert cluster_key_source(args("host"), KeyConfigs(unit=b"k" * 32)) is None


def test_validate_for_swarm_reaches_no_manager_and_keeps_the_state_directorys_key():
    assert cluster_key_source(args("swarm"), None) is None


def digest_of_token(root, store: StateDir, key=None) -> str:
    refresh = LastKnownGood(write(root, {"app.toml": TOKEN, "token.txt": "s3cret"}), environ={}, store=store,
                            key=key).refresh()
    return refresh.state.secrets["token"].digest


def test_two_agents_with_different_state_directories_name_a_secret_alike_with_the_clusters_key(tmp_path):
    manager = KeyConfigs(unit=b"k" * 32)
    one = digest_of_token(tmp_path / "a", StateDir(tmp_path / "state-a"), ClusterKey(manager, NS))
    other = digest_of_token(tmp_path / "b", StateDir(tmp_path / "state-b"), ClusterKey(manager, NS))
    assert one == other == keyed_hash(b"k" * 32, b"s3cret")


def test_without_a_cluster_key_each_state_directory_hashes_with_its_own(tmp_path):
    one = digest_of_token(tmp_path / "a", StateDir(tmp_path / "state-a"))
    other = digest_of_token(tmp_path / "b", StateDir(tmp_path / "state-b"))
    assert one != other


def test_the_swarm_agent_loads_its_files_with_the_clusters_key(root, engine, clock, state):
    agent = swarm_agent(root, engine, clock, state, Configs(), Pipeline(service(1, 1)))
    write(root, {"token.toml": TOKEN, "token.txt": "s3cret"})
    agent.desired.key = ClusterKey(KeyConfigs(unit=b"k" * 32), NS)
    agent.run_pass({"resync"})
    token = agent.desired.state.secrets["token"]
    assert object_name(token) == f"token-{keyed_hash(b'k' * 32, b's3cret').rpartition(':')[2][:12]}"


def test_a_swarm_agent_whose_manager_cannot_give_the_key_ends_the_pass_unavailable_having_planned_nothing(
        root, engine, clock, state):
    pipeline = Pipeline(service(1, 1))
    agent = swarm_agent(root, engine, clock, state, Configs(), pipeline)
    manager = KeyConfigs()
    manager.down = True
    agent.desired.key = ClusterKey(manager, NS)
    agent.run_pass({"resync"})
    assert (agent.status.snapshot()["last_pass"]["result"], pipeline.asked) == ("unavailable", [])
