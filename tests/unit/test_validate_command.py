"""`reconciler validate`: exit 0 and a summary when valid; exit 1 and every problem when not."""

from reconciler.commands.cli import main
from tests.unit.desired import write


def test_a_valid_directory_prints_a_summary_and_exits_0(tmp_path, capsys):
    write(tmp_path, {
        "net.toml": "[network.front]\n",
        "web.toml": "[volume.data]\n[container.web]\nimage = 'x'\nnetworks = ['front']\nmounts = ['data:/srv']\n",
    })
    assert main(["validate", str(tmp_path)]) == 0
    assert capsys.readouterr() == ("ok: 1 container, 1 network, 1 volume in 2 files\n", "")


def test_an_invalid_directory_prints_every_error_to_stderr_and_exits_1(tmp_path, capsys):
    write(tmp_path, {"a.toml": "[container.web]\nimage = 'x'\nrestart = 'never'\nports = [0]\n"})
    assert main(["validate", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        'a.toml:3: container.web.restart: "never" is not no, always, unless-stopped, on-failure or on-failure:N\n'
        "a.toml:4: container.web.ports[0]: 0 is less than the minimum 1\n"
        "invalid: 2 errors\n"
    )


def test_warnings_are_prefixed_and_do_not_fail_validation(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("NOPE", raising=False)
    write(tmp_path, {"a.toml": "[container.web]\nimage = 'x'\nenv = { A = '${NOPE}' }\n"})
    assert main(["validate", str(tmp_path)]) == 0
    assert capsys.readouterr() == (
        "ok: 1 container, 0 networks, 0 volumes in 1 file\n",
        "warning: a.toml:3: container.web.env.A: variable NOPE is not set; using an empty string\n",
    )


def test_an_empty_directory_is_valid_with_a_warning(tmp_path, capsys):
    assert main(["validate", str(tmp_path)]) == 0
    assert capsys.readouterr() == (
        "ok: 0 containers, 0 networks, 0 volumes in 0 files\n",
        f"warning: no *.toml files in {tmp_path}: the desired state is empty\n",
    )


def test_the_env_file_option_feeds_interpolation(tmp_path, capsys):
    write(tmp_path, {"ds/a.toml": "[container.web]\nimage = '${IMAGE:?needs IMAGE}'\n", "vars.env": "IMAGE=demo\n"})
    assert main(["validate", str(tmp_path / "ds")]) == 1
    assert capsys.readouterr().err.startswith("a.toml:2: container.web.image: required variable IMAGE is not set")
    assert main(["validate", str(tmp_path / "ds"), "--env-file", str(tmp_path / "vars.env")]) == 0


def test_a_missing_directory_exits_1(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "none")]) == 1
    assert capsys.readouterr().err == f"desired-state directory {tmp_path / 'none'} does not exist\ninvalid: 1 error\n"
