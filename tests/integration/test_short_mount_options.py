"""The short form's mount options on the real engine: `ro`, a propagation mode, `z`/`Z` and
`nocopy` reach the container as `docker run -v` gives them (the binds in HostConfig.Binds, the
volume with VolumeOptions.NoCopy, which Podman 4.3 drops and so is refused there), `cached` changes
nothing, and a second pass changes nothing."""

from __future__ import annotations

import subprocess
import sys

import pytest

from runtime.capabilities import is_podman

pytestmark = pytest.mark.integration

IMAGE = "localhost/demo:1"


def reconciler(*args: str, namespace: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reconciler", *args, "--namespace", namespace],
                          capture_output=True, text=True, timeout=180)


def test_short_form_options_reach_the_engine_and_a_second_pass_changes_nothing(tmp_path, namespace, docker_client):
    podman = is_podman(docker_client.version())
    volume = "" if podman else f', "{namespace}-vv:/e:nocopy"'
    host = tmp_path / "host"
    host.mkdir()
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.toml").write_text(
        f'[volume.{namespace}-vv]\n\n[container.{namespace}-app]\nimage = "{IMAGE}"\ncommand = ["sleep", "3600"]\n'
        f'init = true\nstop_timeout = 1\nvolumes = ["{host}:/b:z", "{host}:/c:ro,rprivate", "{host}:/d:cached", '
        f'"{host}:/f:ro,Z"{volume}]\n')
    applied = reconciler("apply", str(tmp_path / "d"), namespace=namespace)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    inspected = docker_client.api.inspect_container(f"{namespace}-app")
    if not podman:  # Podman lists its own normalised options (rw,rprivate,rbind), without the relabel
        assert sorted(inspected["HostConfig"]["Binds"]) == sorted(
            [f"{host}:/b:z", f"{host}:/c:ro,rprivate", f"{host}:/d", f"{host}:/f:ro,Z"])
    mounts = {m["Destination"]: m for m in inspected["Mounts"]}
    assert (mounts["/c"]["RW"], mounts["/c"]["Propagation"], mounts["/f"]["RW"], mounts["/b"]["RW"]) == (
        False, "rprivate", False, True)
    if not podman:
        (nocopy,) = [m for m in inspected["HostConfig"]["Mounts"] if m["Target"] == "/e"]
        assert nocopy["VolumeOptions"]["NoCopy"] is True
    again = reconciler("plan", str(tmp_path / "d"), "--detailed-exitcode", namespace=namespace)
    assert (again.returncode, again.stdout) == (0, "No changes: the engine matches the desired state.\n")
