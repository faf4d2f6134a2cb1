"""The fields updated in place on the Engine API (runtime.docker_update): read from inspect, and
the body of POST /containers/{id}/update. Pure."""

from __future__ import annotations

from reconciler.fields import Blkio, Resources
from reconciler.model import ContainerSpec
from runtime.docker_update import KnownLimits, limits, update_body

MB = 2**20


def test_a_container_without_limits_reads_as_declaring_none():
    inspected = {"HostConfig": {"Memory": 0, "MemoryReservation": 0, "MemorySwap": 0, "NanoCpus": 0, "CpuShares": 0,
                                "CpusetCpus": "", "PidsLimit": None, "BlkioWeight": 0,
                                "RestartPolicy": {"Name": "", "MaximumRetryCount": 0}}}
    assert limits(inspected) == {
        "resources.memory": None, "resources.memory_reservation": None, "resources.memswap_limit": None,
        "resources.cpus": None, "resources.cpu_shares": None, "resources.cpuset": None, "resources.pids_limit": None,
        "resources.blkio.weight": None, "restart": "no"}


def test_limits_read_in_the_files_units_and_an_on_failure_count_as_the_file_writes_it():
    inspected = {"HostConfig": {"Memory": 64 * MB, "NanoCpus": 1_500_000_000, "PidsLimit": 50, "CpusetCpus": "0-1",
                                "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3}}}
    found = limits(inspected)
    assert (found["resources.memory"], found["resources.cpus"], found["resources.pids_limit"]) == (64 * MB, 1.5, 50)
    assert (found["resources.cpuset"], found["restart"]) == ("0-1", "on-failure:3")


def test_the_update_body_holds_what_the_spec_declares_and_its_restart_policy():
    spec = ContainerSpec("web", "demo", restart="on-failure:2",
                         resources=Resources(memory=128 * MB, cpus=0.25, blkio=Blkio(weight=300), shm_size=MB))
    assert update_body(spec) == {"Memory": 128 * MB, "NanoCpus": 250_000_000, "BlkioWeight": 300,
                                 "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 2}}


def test_known_limits_are_read_once_per_container_and_again_after_forget():
    known, asked = KnownLimits(), []

    def inspect(id):
        asked.append(id)
        return {"HostConfig": {"Memory": 32 * MB}}

    known.created("a", {"HostConfig": {"Memory": 64 * MB}})
    assert known.read({"a", "b"}, {}, inspect)["a"]["resources.memory"] == 64 * MB and asked == ["b"]
    assert known.read({"a", "b"}, {}, inspect)["b"]["resources.memory"] == 32 * MB and asked == ["b"]
    known.forget("a")
    assert known.read({"a"}, {}, inspect)["a"]["resources.memory"] == 32 * MB and asked == ["b", "a"]
    known.forget()
    known.read({"b"}, {}, inspect)
    assert asked == ["b", "a", "b"]


def test_an_inspect_answer_of_the_observation_refreshes_what_is_known():
    known = KnownLimits()
    known.created("a", {"HostConfig": {"Memory": 64 * MB}})
    fresh = known.read({"a"}, {"a": {"HostConfig": {"Memory": 48 * MB}}}, lambda id: None)
    assert fresh["a"]["resources.memory"] == 48 * MB


def test_a_pids_limit_of_minus_one_reads_as_no_limit():
    assert limits({"HostConfig": {"PidsLimit": -1}})["resources.pids_limit"] is None
