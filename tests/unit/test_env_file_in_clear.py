"""A value from the env file is never put where the engine shows it in the clear: labels (of every
kind) and annotations are refused at their line (DESIGN section 11)."""

from __future__ import annotations

from reconciler.desired.loader import load


def problems(tmp_path, body: str) -> list[str]:
    (tmp_path / "env").write_text("PW=pw-from-env-file\n")
    desired = tmp_path / "desired"
    desired.mkdir()
    (desired / "a.toml").write_text(body)
    return [str(p) for p in load(desired, str(tmp_path / "env"), environ={}).errors]


def test_a_container_label_from_the_env_file_is_an_error_at_its_line(tmp_path):
    assert problems(tmp_path, '[container.app]\nimage = "busybox"\nlabels = { pw = "${PW}", plain = "x" }\n') == [
        "a.toml:3: container.app.labels.pw: labels must not take a value from the env file: the engine shows labels "
        "in the clear (docker inspect); give the secret to the container in env or as a secret"]


def test_an_annotation_from_the_env_file_is_an_error(tmp_path):
    found = problems(tmp_path, '[container.app]\nimage = "busybox"\nannotations = { pw = "x-${PW}" }\n')
    assert [p.split(": ")[1] for p in found] == ["container.app.annotations.pw"]


def test_a_network_label_from_the_env_file_is_an_error(tmp_path):
    found = problems(tmp_path, '[network.net]\nlabels = ["pw=${PW}"]\n')
    assert [p.split(": ")[1] for p in found] == ["network.net.labels[0]"]


def test_the_env_file_value_is_taken_in_env(tmp_path):
    assert problems(tmp_path, '[container.app]\nimage = "busybox"\nenv = { PW = "${PW}" }\n') == []
