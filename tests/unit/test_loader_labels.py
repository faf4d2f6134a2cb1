"""Labels from `labels` and Compose's `label_file`, annotations and a healthcheck's start interval."""

from runtime.docker_specs import container_body
from tests.unit.desired import container, errors


def test_label_file_entries_are_labels_and_labels_win(tmp_path):
    (tmp_path / "app.labels").write_text("team=core\ntier=back\n")
    spec = container(tmp_path, 'label_file = "app.labels"\nlabels = { tier = "front" }\n')
    assert spec.labels == {"team": "core", "tier": "front"}


def test_a_missing_label_file_is_reported_at_its_entry(tmp_path):
    text = '[container.app]\nimage = "demo"\nlabel_file = ["a.labels",\n  "gone.labels"]\n'
    (tmp_path / "a.labels").write_text("a=1\n")
    assert errors(tmp_path, {"app.toml": text}) == [
        "app.toml:4: container.app.label_file[1]: gone.labels: cannot read env file: No such file or directory"]


def test_a_label_file_may_not_set_the_reserved_prefix(tmp_path):
    (tmp_path / "app.labels").write_text("io.reconciler.managed=x\n")
    assert errors(tmp_path, {"app.toml": '[container.app]\nimage = "demo"\nlabel_file = "app.labels"\n'}) == [
        "app.toml:3: container.app.label_file: io.reconciler.managed: the label prefix 'io.reconciler.' is "
        "reserved for the reconciler"]


def test_annotations_reach_the_host_config(tmp_path):
    spec = container(tmp_path, 'annotations = { "org.example/team" = "core" }\n')
    body, _ = container_body(spec, {}, "1.43")
    assert body["HostConfig"]["Annotations"] == {"org.example/team": "core"}


def test_a_start_interval_reaches_the_healthcheck_in_nanoseconds(tmp_path):
    spec = container(tmp_path, '[container.app.healthcheck]\ntest = "true"\nstart_interval = "2s"\n')
    body, _ = container_body(spec, {}, "1.44")
    assert body["Healthcheck"]["StartInterval"] == 2_000_000_000


def test_without_a_start_interval_the_healthcheck_body_has_none(tmp_path):
    spec = container(tmp_path, '[container.app.healthcheck]\ntest = "true"\n')
    assert "StartInterval" not in container_body(spec, {}, "1.41")[0]["Healthcheck"]
