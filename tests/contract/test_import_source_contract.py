"""What `import containers` reads of an engine (`Runtime.import_source`), pinned for every engine
(see conftest: `engine`): read back through `runtime.docker_import`, a container gives the keys
it was created with."""

from __future__ import annotations

import pytest

from reconciler.fields import Mount
from reconciler.model import VolumeSpec
from runtime.base import NotFound
from runtime.docker_import import container_table, volume_table
from runtime.engine_defaults import engine_defaults


def test_a_named_container_reads_back_as_created(engine):
    volume = engine.name("data")
    engine.runtime.create_volume(VolumeSpec(volume, labels={"keep": "yes"}), engine.labels())
    id = engine.create("web", env={"MODE": "dev"}, restart="always", mounts=(Mount("volume", "/data", volume),))
    engine.runtime.start_container(id)

    source = engine.runtime.import_source([engine.name("web")])
    [inspected] = source.containers
    imported = container_table(inspected, source.images[inspected["Image"]],
                               engine_defaults(source.engine, source.info), source.names)

    assert imported.name == engine.name("web")
    assert imported.env == {"MODE": "dev"}
    assert {key: imported.table[key] for key in ("command", "restart", "init", "stop_timeout")} == {
        "command": ["sleep", "300"], "restart": "always", "init": True, "stop_timeout": 1}
    assert imported.volumes == [volume]
    assert volume_table(source.volumes[volume])["labels"]["keep"] == "yes"


def test_a_name_the_engine_does_not_have_is_not_found(engine):
    with pytest.raises(NotFound):
        engine.runtime.import_source([engine.name("nobody")])
