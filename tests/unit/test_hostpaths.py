"""Which long-form bind sources the host lacks: looked at only when the engine is on this host."""

from reconciler.fields import Mount
from reconciler.hostpaths import missing_bind_sources
from reconciler.model import ContainerSpec
from runtime.host_cgroups import is_local


def spec(*mounts: Mount) -> ContainerSpec:
    return ContainerSpec(name="web", image="localhost/demo:1", mounts=mounts)


def test_a_missing_long_form_bind_source_is_found_on_a_local_engine(tmp_path):
    there = Mount("bind", "/a", str(tmp_path))
    missing = Mount("bind", "/b", str(tmp_path / "missing"))
    assert missing_bind_sources([spec(there, missing)], "unix:///run/docker.sock") == {str(tmp_path / "missing")}


def test_a_short_form_bind_is_created_by_the_engine_so_it_is_never_missing(tmp_path):
    short = Mount("bind", "/b", str(tmp_path / "missing"), create_host_path=True)
    assert missing_bind_sources([spec(short)], None) == frozenset()


def test_the_host_of_a_remote_engine_is_not_looked_at(tmp_path):
    missing = Mount("bind", "/b", str(tmp_path / "missing"))
    assert missing_bind_sources([spec(missing)], "tcp://10.0.0.5:2376") == frozenset()
    assert not is_local("ssh://host") and is_local(None)
