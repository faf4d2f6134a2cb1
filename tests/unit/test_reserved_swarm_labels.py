"""A file may not declare a label with Swarm's prefix `com.docker.swarm.` (Docker reserves
com.docker.* for itself: docs.docker.com "Docker object labels"; what carries such a label is
Swarm's, `model.held_by_swarm`, so the reconciler would disown what it made): validate refuses it
at FILE:LINE on a container, network or volume; `import compose` leaves it out with a note."""

from __future__ import annotations

from tests.unit.compose_import import converted, project, table_lines
from tests.unit.desired import errors

REFUSED = "the label prefix 'com.docker.swarm.' is reserved for Swarm"


def test_a_container_label_with_swarms_prefix_is_refused_at_its_line(tmp_path):
    text = '[container.app]\nimage = "demo"\nlabels = { "com.docker.swarm.affinities" = "x" }\n'
    assert errors(tmp_path, {"app.toml": text}) == [
        f'app.toml:3: container.app.labels."com.docker.swarm.affinities": {REFUSED}']


def test_a_network_label_with_swarms_prefix_is_refused_at_its_line(tmp_path):
    text = '[network.net]\nlabels = { "com.docker.swarm.x" = "1" }\n'
    assert errors(tmp_path, {"net.toml": text}) == [f'net.toml:2: network.net.labels."com.docker.swarm.x": {REFUSED}']


def test_a_volume_label_with_swarms_prefix_is_refused_at_its_line(tmp_path):
    text = '[volume.data]\n\nlabels = ["com.docker.swarm.node.id=n1"]\n'
    assert errors(tmp_path, {"data.toml": text}) == [
        f'data.toml:3: volume.data.labels."com.docker.swarm.node.id": {REFUSED}']


def test_a_label_file_may_not_set_swarms_prefix(tmp_path):
    (tmp_path / "app.labels").write_text("com.docker.swarm.service.name=web\n")
    assert errors(tmp_path, {"app.toml": '[container.app]\nimage = "demo"\nlabel_file = "app.labels"\n'}) == [
        f"app.toml:3: container.app.label_file: com.docker.swarm.service.name: {REFUSED}"]


def test_other_com_docker_labels_are_still_taken(tmp_path):
    text = '[container.app]\nimage = "demo"\nlabels = { "com.docker.swarmish" = "1" }\n'
    assert errors(tmp_path, {"app.toml": text}) == []


def test_import_compose_leaves_a_service_label_with_swarms_prefix_out_with_a_note():
    compose = project({"web": {"image": "x", "labels": {"com.docker.swarm.affinities": "[]", "team": "core"}}})
    conversion = converted(compose)
    assert table_lines(conversion, "web.toml")[2] == 'labels = {team = "core"}'
    assert [(s.key, s.why) for s in conversion.skipped] == [("services.web.labels.com.docker.swarm.affinities",
                                                             REFUSED)]


def test_import_compose_leaves_reserved_items_of_a_label_list_out_by_their_index():
    compose = project({"web": {"image": "x"}},
                      volumes={"data": {"labels": ["com.docker.swarm.z=1", "kept=2", "io.reconciler.name=x"]}})
    conversion = converted(compose)
    assert 'labels = ["kept=2"]' in table_lines(conversion, "volumes.toml")
    assert [(s.key, s.why) for s in conversion.skipped] == [
        ("volumes.data.labels.0", REFUSED),
        ("volumes.data.labels.2", "the label prefix 'io.reconciler.' is reserved for the reconciler")]
