"""Writing an import's output: TOML that loads back as written, and the env file beside `--out`."""

import stat
import tomllib

import pytest

from reconciler.desired.envfile import parse_env
from reconciler.importing.emit import ImportFailure, Resource, default_env_path, render, render_env, write

WEB = Resource("container", "web", {
    "image": "nginx:1.25",
    "env": {"GREETING": "${GREETING}", "com.example.tier": "front"},
    "mounts": ["data:/srv", {"type": "tmpfs", "target": "/tmp"}],
}, notes={"image": "converted from `image: nginx:1.25`"}, comment="from compose.yaml: services.web")


def test_rendered_tables_load_back_as_the_values_given():
    loaded = tomllib.loads(render([WEB, Resource("volume", "data", {"driver": "local"})]))

    assert loaded == {"container": {"web": dict(WEB.table)}, "volume": {"data": {"driver": "local"}}}


def test_notes_and_comments_are_written_as_toml_comments():
    text = render([WEB], header="written by reconciler import")

    assert text.splitlines()[:4] == ["# written by reconciler import", "", "# from compose.yaml: services.web",
                                     "[container.web]"]
    assert 'image = "nginx:1.25" # converted from `image: nginx:1.25`' in text


def test_a_long_mapping_is_written_as_a_sub_table():
    long_env = {f"VARIABLE_{i}": "a fairly long value" for i in range(6)}
    text = render([Resource("container", "web", {"image": "x", "env": long_env})])

    assert "[container.web.env]" in text
    assert tomllib.loads(text)["container"]["web"]["env"] == long_env


@pytest.mark.parametrize("value", ["plain", "it's", "two\nlines", 'quote " and $HOME and \\', "${NOT_INTERPOLATED}"])
def test_env_file_values_read_back_exactly(value):
    assert parse_env(render_env({"VALUE": value}), "test.env") == {"VALUE": value}


def test_env_file_is_written_beside_out_with_mode_0600(tmp_path):
    out = tmp_path / "desired-state"

    written = write(out, {"web.toml": [WEB]}, env={"GREETING": "hi"})

    assert written == [out / "web.toml", tmp_path / "desired-state.env"]
    assert stat.S_IMODE((tmp_path / "desired-state.env").stat().st_mode) == 0o600
    assert default_env_path(out) == tmp_path / "desired-state.env"


def test_an_env_file_inside_out_is_refused_and_nothing_is_written(tmp_path):
    out = tmp_path / "desired-state"

    with pytest.raises(ImportFailure, match="must not be inside"):
        write(out, {"web.toml": [WEB]}, env={"GREETING": "hi"}, env_path=out / "secrets.env")

    assert not out.exists()


def test_an_existing_file_is_refused_unless_forced(tmp_path):
    out = tmp_path / "desired-state"
    out.mkdir()
    (out / "web.toml").write_text("# mine\n")

    with pytest.raises(ImportFailure, match="exists; nothing was written"):
        write(out, {"web.toml": [WEB], "db.toml": [WEB]})
    assert not (out / "db.toml").exists()

    write(out, {"web.toml": [WEB]}, force=True)
    assert "[container.web]" in (out / "web.toml").read_text()
