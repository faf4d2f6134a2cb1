"""Devices are read as `docker run --device` reads them, and refused where it refuses them."""

import pytest

from reconciler.fields import Device, Mount
from reconciler.model import ContainerSpec, spec_hash, spec_hash_at
from tests.unit.desired import container, errors


@pytest.mark.parametrize(("written", "device"), [
    ("/dev/fuse", Device("/dev/fuse", "/dev/fuse", "rwm")),
    ("/dev/null:r", Device("/dev/null", "/dev/null", "r")),
    ("/dev/null:/dev/n", Device("/dev/null", "/dev/n", "rwm")),
    ("/dev/null:/dev/n:mw", Device("/dev/null", "/dev/n", "wm")),
])
def test_the_four_forms_of_a_device(tmp_path, written, device):
    assert container(tmp_path, f"devices = ['{written}']").devices == (device,)


@pytest.mark.parametrize(("written", "message"), [
    ("dev/null", "the host device 'dev/null' must be an absolute path"),
    ("/dev/null:rwx", "'rwx' is neither device permissions (r, w, m) nor an absolute path in the container"),
    ("/dev/null:rr", "'rr' is neither device permissions (r, w, m) nor an absolute path in the container"),
    ("/dev/null:", "'' is neither device permissions (r, w, m) nor an absolute path in the container"),
    ("/dev/null:/dev/n:", "'' are not device permissions: a subset of r (read), w (write) and m (mknod),"
                          " each at most once"),
    ("/dev/null:rw:rw", "'rw' is not an absolute path in the container"),
    ("/dev/null:/dev/n:r:w", "'/dev/null:/dev/n:r:w' is not a device: expected /dev/host[:/dev/container][:rwm]"),
])
def test_a_device_docker_run_would_refuse_is_an_error_at_its_index(tmp_path, written, message):
    text = f"[container.web]\nimage = 'demo'\ndevices = ['/dev/zero', '{written}']\n"
    assert errors(tmp_path, {"a.toml": text}) == [f"a.toml:3: container.web.devices[1]: {message}"]


def test_permissions_in_any_order_hash_the_same(tmp_path):
    assert spec_hash(container(tmp_path / "a", "devices = ['/dev/null:mwr']")) == \
        spec_hash(container(tmp_path / "b", "devices = ['/dev/null:/dev/null:rwm']"))


def test_a_bind_hashes_as_before_devices_were_parsed_whichever_form_created_it():
    recorded = "655af5c9310c6dd9ed94c5c3a7b2832030818953dcd812a75d6be95d17bd4ec1"  # by the model before Device
    for short_form in (False, True):
        mount = Mount("bind", "/certs", "/etc/ssl/certs", read_only=True, create_host_path=short_form)
        assert spec_hash_at(ContainerSpec(name="web", image="demo", mounts=(mount,)), 2) == recorded
