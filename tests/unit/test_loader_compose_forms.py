"""Compose's value forms of references and dependency conditions, and the checks on secret targets."""

from tests.unit.desired import errors, load_texts

TWO = "[container.db]\nimage = 'demo'\n[container.app]\nimage = 'demo'\n"


def app(tmp_path, body: str):
    result = load_texts(tmp_path, {"a.toml": TWO + body})
    assert result.errors == (), [str(e) for e in result.errors]
    return result.state.containers["app"]


def test_compose_condition_names_are_our_conditions(tmp_path):
    spec = app(tmp_path, "depends_on = { db = { condition = 'service_healthy' } }\n"
                         "[container.db.healthcheck]\ntest = 'true'\n")
    assert [(d.name, d.condition) for d in spec.depends_on] == [("db", "healthy")]


def test_a_network_mode_of_compose_service_is_the_container(tmp_path):
    assert app(tmp_path, "network_mode = 'service:db'\n").network_mode == "container:db"


def test_volumes_from_takes_compose_service_and_container_prefixes(tmp_path):
    spec = app(tmp_path, "volumes_from = ['service:db', 'container:db:ro']\n")
    assert spec.volumes_from == ("db", "db:ro")


def test_a_config_target_that_is_also_a_tmpfs_path_is_an_error(tmp_path):
    text = ("[config.pw]\ncontent = 'x'\n[container.app]\nimage = 'demo'\n"
            "configs = [{ source = 'pw', target = '/etc/x' }]\ntmpfs = ['/etc/x']\n")
    assert errors(tmp_path, {"a.toml": text}) == [
        "a.toml:6: container.app.tmpfs: /etc/x is also a mount target: the engine refuses a duplicate mount point"]


def test_a_config_target_of_the_root_is_an_error(tmp_path):
    text = "[config.pw]\ncontent = 'x'\n[container.app]\nimage = 'demo'\nconfigs = [{ source = 'pw', target = '/' }]\n"
    assert errors(tmp_path, {"a.toml": text}) == [
        "a.toml:5: container.app.configs[0]: target '/' is the container's root: the engine refuses a mount there; "
        "name a file"]


def test_a_decimal_mode_that_reads_as_octal_is_an_error_saying_both(tmp_path):
    text = "[config.pw]\ncontent = 'x'\n[container.app]\nimage = 'demo'\nconfigs = [{ source = 'pw', mode = 440 }]\n"
    assert errors(tmp_path, {"a.toml": text}) == [
        "a.toml:5: container.app.configs[0]: mode 440 is the decimal number 440 (0o670), probably meant as octal: "
        "write 0o440 or \"0440\" (or 0o670 if that is what you mean)"]
