"""A second agent on the same engine and namespace refuses to start."""

import multiprocessing
import os

import pytest

from reconciler.agent.lock import Locked, acquire, lock_path


def test_the_lock_file_is_named_for_namespace_and_engine(tmp_path):
    a = lock_path("ns", "unix:///a.sock", tmp_path)
    assert a.parent == tmp_path and a.name.startswith("ns@")
    assert a != lock_path("ns", "unix:///b.sock", tmp_path)
    assert a != lock_path("other", "unix:///a.sock", tmp_path)


def _try_lock(path, answer):
    try:
        acquire(path)
        answer.put("acquired")
    except Locked as locked:
        answer.put(str(locked))


def test_a_second_process_is_refused_with_the_holder_pid(tmp_path):
    path = lock_path("ns", None, tmp_path)
    fd = acquire(path)
    answer = multiprocessing.get_context("fork").Queue()
    child = multiprocessing.get_context("fork").Process(target=_try_lock, args=(path, answer))
    child.start()
    child.join(10)
    assert answer.get(timeout=5) == (
        f"another reconciler (pid {os.getpid()}: an agent, or an apply) already reconciles this namespace on "
        f"this engine ({path})"
    )
    os.close(fd)


def test_the_lock_is_free_again_once_its_holder_is_gone(tmp_path):
    path = lock_path("ns", None, tmp_path)
    os.close(acquire(path))
    os.close(acquire(path))


def test_a_held_lock_refuses_even_in_the_same_process(tmp_path):
    path = lock_path("ns", None, tmp_path)
    fd = acquire(path)
    with pytest.raises(Locked):
        acquire(path)
    os.close(fd)
