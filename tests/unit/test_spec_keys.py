"""The keys a plan names when a spec changed are the keys of the file."""

import dataclasses

from reconciler.fields import Blkio, Resources
from reconciler.model import ContainerSpec, changed_keys, spec_keys

WEB = ContainerSpec("web", "localhost/demo:1", resources=Resources(memory=64 * 2**20))


def test_a_changed_top_level_limit_is_named_as_the_file_writes_it():
    shares = dataclasses.replace(WEB, resources=dataclasses.replace(WEB.resources, cpu_shares=512))
    assert changed_keys(spec_keys(WEB), spec_keys(shares)) == ["cpu_shares"]


def test_a_changed_blkio_config_is_named_blkio_config():
    blkio = dataclasses.replace(WEB, resources=dataclasses.replace(WEB.resources, blkio=Blkio(weight=300)))
    assert changed_keys(spec_keys(WEB), spec_keys(blkio)) == ["blkio_config"]


def test_a_changed_memory_is_still_named_resources():
    more = dataclasses.replace(WEB, resources=Resources(memory=128 * 2**20))
    assert changed_keys(spec_keys(WEB), spec_keys(more)) == ["resources"]
