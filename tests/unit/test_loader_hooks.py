"""`post_start` and `pre_stop` as Compose writes them: lists of { command, user, privileged,
working_dir, environment }, each problem reported at its FILE:LINE: key.path."""

from __future__ import annotations

from reconciler.fields import Hook
from tests.unit.desired import container, errors, load_texts


def _errors(tmp_path, body: str) -> list[str]:
    return errors(tmp_path, {"a.toml": f"[container.web]\nimage = 'demo'\n{body}\n"})


def test_a_hook_takes_compose_s_keys_with_a_shell_split_command_and_an_environment_table(tmp_path):
    spec = container(tmp_path, """
        [[container.app.post_start]]
        command = "chown -R 1001:1001 '/my data'"
        user = "root"
        privileged = true
        working_dir = "/srv"
        environment = { MODE = "fast", LEVEL = 3 }
        """)
    assert spec.post_start == (Hook(("chown", "-R", "1001:1001", "/my data"), "root", True, "/srv",
                                    {"LEVEL": "3", "MODE": "fast"}),)
    assert spec.pre_stop == ()


def test_pre_stop_hooks_keep_their_order_and_take_a_list_command_and_a_list_environment(tmp_path):
    spec = container(tmp_path, """
        pre_stop = [{ command = ["sh", "-c", "flush"], environment = ["A=1"] }, { command = "sync" }]
        """)
    assert spec.pre_stop == (Hook(("sh", "-c", "flush"), env={"A": "1"}), Hook(("sync",)))


def test_a_hook_without_a_command_is_an_error_and_the_other_hooks_are_still_checked(tmp_path):
    assert _errors(tmp_path, "post_start = [{ user = 'root' }, { command = '' }]") == [
        "a.toml:3: container.web.post_start[0]: missing required key 'command'",
        "a.toml:3: container.web.post_start[1].command: must not be empty",
    ]


def test_a_hook_user_the_engine_would_misread_is_an_error(tmp_path):
    assert _errors(tmp_path, "pre_stop = [{ command = 'x', user = 'a:b:c' }]") == [
        "a.toml:3: container.web.pre_stop[0].user: 'a:b:c' is not a user: expected \"name\", \"uid\", "
        "\"name:group\" or \"uid:gid\"",
    ]


def test_a_hook_environment_name_the_engine_refuses_is_an_error(tmp_path):
    assert _errors(tmp_path, "pre_stop = [{ command = 'x', environment = { '' = 1 } }]") == [
        "a.toml:3: container.web.pre_stop[0].environment.\"\": a variable name must not be empty: the engine "
        "refuses it",
    ]


def test_an_unknown_hook_key_is_an_error(tmp_path):
    (problem,) = _errors(tmp_path, "post_start = [{ command = 'x', timeout = '5s' }]")
    assert problem.startswith("a.toml:3: container.web.post_start[0]") and "timeout" in problem


def test_a_hook_environment_value_may_come_from_the_env_file(tmp_path):
    (tmp_path / "secrets.env").write_text("TOKEN=s3cr3t-token\n")
    text = ('[container.app]\nimage = "demo"\n'
            'post_start = [{ command = "login", environment = { TOKEN = "${TOKEN}" } }]\n')
    result = load_texts(tmp_path / "ds", {"a.toml": text}, env_file=str(tmp_path / "secrets.env"))
    assert result.state.containers["app"].post_start[0].env == {"TOKEN": "s3cr3t-token"}
