"""The example in desired-state/ is a valid desired state, as the README tour relies on."""

from pathlib import Path

from reconciler.commands.cli import main
from reconciler.desired.loader import load

EXAMPLE = Path(__file__).parents[2] / "desired-state"


def test_the_example_validates(capsys):
    assert main(["validate", str(EXAMPLE)]) == 0
    assert capsys.readouterr().out == "ok: 2 containers, 1 network, 1 volume in 3 files\n"


def test_the_example_web_page_says_hello_from_an_env_var_so_the_tour_sed_changes_it():
    text = (EXAMPLE / "web.toml").read_text()
    assert text.count("hello") == 1
    web = load(EXAMPLE, environ={}).state.containers["web"]
    assert web.env["GREETING"] == "hello from the reconciler"
    assert "$GREETING" in web.command[-1]


def test_the_example_web_container_depends_on_a_healthy_api_and_stops_fast():
    state = load(EXAMPLE, environ={}).state
    assert [(d.name, d.condition) for d in state.containers["web"].depends_on] == [("api", "healthy")]
    assert all(c.init for c in state.containers.values())
    assert all(c.image == "localhost/demo:1" for c in state.containers.values())
