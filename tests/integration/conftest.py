"""Fixtures of the integration tests."""

from __future__ import annotations

import os

import pytest

from tests.integration.relay import SocketProxy


@pytest.fixture
def proxy(docker_client, tmp_path):
    target = os.environ.get("DOCKER_HOST", "")
    if not target.startswith("unix://"):
        pytest.skip("the proxy relays a unix socket engine only")
    relay = SocketProxy(str(tmp_path / "engine.sock"), target.removeprefix("unix://"))
    relay.serve()
    return relay
