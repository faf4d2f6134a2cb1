"""The keys a plan names when a spec changed are the keys of the file."""

import dataclasses

from reconciler.fields import Blkio, Resources, Throttle
from reconciler.model import ContainerSpec, changed_keys, spec_keys

WEB = ContainerSpec("web", "localhost/demo:1", resources=Resources(memory=64 * 2**20))


def test_a_changed_top_level_limit_is_named_as_the_file_writes_it():
    period = dataclasses.replace(WEB, resources=dataclasses.replace(WEB.resources, cpu_period=50000))
    assert changed_keys(spec_keys(WEB), spec_keys(period)) == ["cpu_period"]


def test_a_changed_blkio_config_is_named_blkio_config():
    limited = Blkio(device_read_bps=(Throttle("/dev/sda", 1048576),))
    blkio = dataclasses.replace(WEB, resources=dataclasses.replace(WEB.resources, blkio=limited))
    assert changed_keys(spec_keys(WEB), spec_keys(blkio)) == ["blkio_config"]


def test_a_changed_shared_memory_size_is_still_named_resources():
    more = dataclasses.replace(WEB, resources=Resources(memory=64 * 2**20, shm_size=128 * 2**20))
    assert changed_keys(spec_keys(WEB), spec_keys(more)) == ["resources"]


def test_a_field_updated_in_place_is_named_by_no_key_of_form_3_but_by_its_key_in_form_2():
    more = dataclasses.replace(WEB, resources=Resources(memory=128 * 2**20), restart="always")
    assert changed_keys(spec_keys(WEB), spec_keys(more)) == []
    assert changed_keys(spec_keys(WEB, 2), spec_keys(more, 2)) == ["resources", "restart"]
