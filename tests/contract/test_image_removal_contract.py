"""Removing images and listing the images containers use, pinned for every engine (see conftest:
`engine`): what image retention (reconciler/images) relies on."""

from __future__ import annotations

import pytest

from runtime.base import Conflict, NotFound


def test_an_unused_image_is_removed_with_its_size_and_a_second_remove_is_not_found(engine):
    tag = f"localhost/{engine.namespace}-gone:1"
    id = engine.make_image(tag)
    assert engine.runtime.remove_image(id) > 0
    assert engine.runtime.resolve_image(tag) is None
    with pytest.raises(NotFound):
        engine.runtime.remove_image(id)


@pytest.mark.parametrize("running", [False, True], ids=["stopped", "running"])
def test_an_image_a_container_uses_is_a_conflict_and_stays(engine, running):
    tag = f"localhost/{engine.namespace}-used:1"
    id = engine.make_image(tag)
    container = engine.create("user", image=tag)
    if running:
        engine.runtime.start_container(container)
    with pytest.raises(Conflict):
        engine.runtime.remove_image(id)
    assert engine.runtime.resolve_image(tag) == id
    engine.runtime.remove_container(container)


def test_the_images_in_use_are_those_of_every_container_owned_or_not(engine):
    tag = f"localhost/{engine.namespace}-listed:1"
    id = engine.make_image(tag)
    unused = engine.make_image(f"localhost/{engine.namespace}-unlisted:1")
    container = engine.create("owned", image=tag)
    engine.add_unowned_container(engine.name("stranger"))
    in_use = engine.runtime.images_in_use()
    assert {id, engine.unowned_image_id()} <= in_use
    assert unused not in in_use
    engine.runtime.remove_container(container)
