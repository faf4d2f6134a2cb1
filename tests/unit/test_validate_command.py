"""`reconciler validate`: exit 0 and a summary when valid; exit 1 and every problem when not."""

from reconciler.commands.cli import main
from tests.unit.desired import write
from tests.unit.test_hosts import FLEET as HOSTS_FLEET


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


FLEET = {"fleet.toml": HOSTS_FLEET + 'networks = ["front"]\n'}  # log, for every host, on web's network


def test_the_inventory_checks_each_hosts_view_and_names_the_host_whose_view_fails(tmp_path, capsys):
    write(tmp_path / "ds", FLEET)
    write(tmp_path, {"inventory.toml": 'hosts = ["web-1", "db-1"]\n'})
    assert main(["validate", str(tmp_path / "ds"), "--inventory", str(tmp_path / "inventory.toml")]) == 1
    assert capsys.readouterr().err == (
        "fleet.toml:19: container.log.networks.front: on host 'db-1': network 'front' is not for this host "
        '(hosts = ["web-*"], at fleet.toml:1)\n'
        "invalid: 1 error\n"
    )


def test_the_inventory_file_is_never_read_as_desired_state_when_kept_outside_the_directory(tmp_path, capsys):
    write(tmp_path, {"ds/web.toml": '[container.web]\nimage = "x"\nhosts = ["web-*"]\n',
                     "inventory.toml": 'hosts = ["web-1", "web-2"]\n'})
    assert main(["validate", str(tmp_path / "ds"), "--inventory", str(tmp_path / "inventory.toml")]) == 0
    assert capsys.readouterr() == ("ok: 1 container, 0 networks, 0 volumes in 1 file; the views of web-1, web-2\n", "")


def test_a_resource_for_no_host_of_the_inventory_is_a_warning_at_its_hosts_key(tmp_path, capsys):
    write(tmp_path, {"ds/web.toml": '[container.web]\nimage = "x"\nhosts = ["wbe-*"]\n',
                     "inventory.toml": 'hosts = ["web-1"]\n'})
    assert main(["validate", str(tmp_path / "ds"), "--inventory", str(tmp_path / "inventory.toml")]) == 0
    assert capsys.readouterr().err == "warning: web.toml:3: container.web.hosts: matches no host of the inventory\n"


def test_a_bad_inventory_is_an_error_at_its_file_and_line(tmp_path, capsys):
    write(tmp_path, {"ds/web.toml": '[container.web]\nimage = "x"\n', "inventory.toml": 'hosts = ["web-1", "web-*"]\n'})
    inventory = str(tmp_path / "inventory.toml")
    assert main(["validate", str(tmp_path / "ds"), "--inventory", inventory]) == 1
    assert capsys.readouterr().err == (
        f"{inventory}:1: hosts[1]: a host id is a non-empty string without * ? or [\ninvalid: 1 error\n")


def test_without_an_inventory_the_views_of_the_hosts_named_literally_are_checked(tmp_path, capsys):
    write(tmp_path, FLEET)
    assert main(["validate", str(tmp_path)]) == 1
    assert "on host 'db-1': network 'front' is not for this host" in capsys.readouterr().err


def test_validate_with_a_host_id_shows_that_hosts_view(tmp_path, capsys):
    write(tmp_path, FLEET)
    assert main(["validate", str(tmp_path), "--host-id", "web-1"]) == 0
    assert capsys.readouterr().out == (
        "ok: host web-1: 2 containers, 1 network, 0 volumes (of 3 containers, 1 network, 1 volume in 1 file)\n")


def test_the_summary_counts_secrets_and_configs_when_some_are_declared(tmp_path, capsys):
    write(tmp_path, {"a.toml": "[secret.db]\nenvironment = 'HOME'\n[config.app]\ncontent = 'y'\n"
                               "[config.more]\ncontent = 'z'\n[container.web]\nimage = 'x'\nsecrets = ['db']\n"
                               "configs = ['app', 'more']\n"})
    assert main(["validate", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "ok: 1 container, 0 networks, 0 volumes, 1 secret, 2 configs in 1 file\n"
