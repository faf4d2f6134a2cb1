"""The spec hash depends on what a file means, never on how it is written or where."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.model import spec_hash
from tests.unit.desired import load_texts

_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="$"), max_size=12)
_env_value = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="$\0"), max_size=12)
_word = st.from_regex(r"[a-z][a-z0-9_-]{1,8}", fullmatch=True)

containers = st.fixed_dictionaries(
    {"image": st.from_regex(r"localhost/[a-z]{1,8}:[0-9]{1,3}", fullmatch=True)},
    optional={
        "command": st.lists(_text, min_size=1, max_size=4),
        "env": st.dictionaries(st.from_regex(r"[A-Z_][A-Z0-9_]{0,6}", fullmatch=True), _env_value, max_size=4),
        "labels": st.dictionaries(_word, _text, max_size=3),
        "ports": st.lists(st.integers(1, 65535), max_size=3),
        "restart": st.sampled_from(["no", "always", "unless-stopped", "on-failure:3"]),
        "init": st.booleans(),
        "tty": st.booleans(),
        "stop_timeout": st.integers(0, 600),
        "healthcheck": st.fixed_dictionaries({"test": _text.filter(bool), "retries": st.integers(1, 9)}),
    },
)


def _value(value) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_value(k)} = {_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def inline(body: dict) -> str:
    """The container as one inline table under [container]."""
    return f"[container]\napp = {_value(body)}\n"


def spread(body: dict) -> str:
    """The container as a table with one key per line, sub-tables last, comments and blank lines."""
    lines = ["# the app", "", "[container.app]"]
    tables = {k: v for k, v in body.items() if isinstance(v, dict)}
    lines += [f"{k}   =   {_value(v)}   # {k}" for k, v in reversed(body.items()) if k not in tables]
    for key, table in tables.items():
        lines += ["", f"[container.app.{key}]", *(f"{_value(k)} = {_value(v)}" for k, v in table.items())]
    return "\n".join(lines) + "\n"


def app_hash(root, text: str, name: str = "app.toml") -> str:
    result = load_texts(root, {name: text})
    assert result.errors == (), [str(e) for e in result.errors]
    return spec_hash(result.state.containers["app"])


@settings(max_examples=60, deadline=None)
@given(body=containers, order=st.randoms(use_true_random=False))
def test_the_hash_ignores_key_order_and_formatting(tmp_path_factory, body, order):
    keys = list(body)
    order.shuffle(keys)
    shuffled = {k: body[k] for k in keys}
    root = tmp_path_factory.mktemp("h")
    assert app_hash(root / "a", inline(body)) == app_hash(root / "b", spread(shuffled))


@settings(max_examples=40, deadline=None)
@given(body=containers, extra=_env_value)
def test_any_change_of_a_value_changes_the_hash(tmp_path_factory, body, extra):
    changed = {**body, "env": {**body.get("env", {}), "CHANGED": extra}}
    root = tmp_path_factory.mktemp("h")
    assert app_hash(root / "a", inline(body)) != app_hash(root / "b", inline(changed))


def test_moving_a_container_to_another_file_or_line_keeps_its_hash(tmp_path):
    text = "[container.app]\nimage = 'demo'\n"
    assert app_hash(tmp_path / "a", text) == app_hash(tmp_path / "b", "\n\n# moved\n" + text, name="sub/other.toml")


def test_short_and_long_forms_hash_the_same(tmp_path):
    short = ("[container.app]\nimage = 'd'\ncommand = 'sh -c \"exit 0\"'\nports = ['127.0.0.1:80:80']\n"
             "stop_timeout = '1m'\n")
    long = ("[container.app]\nimage = 'd'\ncommand = ['sh', '-c', 'exit 0']\nstop_timeout = 60\n"
            "ports = [{ target = 80, published = 80, host_ip = '127.0.0.1', protocol = 'tcp' }]\n")
    assert app_hash(tmp_path / "a", short) == app_hash(tmp_path / "b", long)


def test_writing_a_default_explicitly_keeps_the_hash(tmp_path):
    implicit = "[container.app]\nimage = 'd'\n"
    explicit = implicit + "restart = 'no'\nstate = 'running'\ninit = false\nenv = {}\nports = []\n"
    assert app_hash(tmp_path / "a", implicit) == app_hash(tmp_path / "b", explicit)
