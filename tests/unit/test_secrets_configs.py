"""Secrets and configs (DESIGN section 11): their forms, errors, references, keyed hashes, and
that no value reaches a repr or a plan."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler import grantfiles
from reconciler.changes import Change, ChangeKind
from reconciler.desired.loader import load
from reconciler.grantfiles import file_name, mounted, with_files
from reconciler.model import spec_hash
from reconciler.plan import plan
from reconciler.tasks import Step

CANARY = "canary-7f3a9b1e-value"
KEY_A, KEY_B = b"a" * 32, b"b" * 32


def _write(folder: Path, toml: str, secret: str = CANARY) -> Path:
    (folder / "db.secret").write_text(secret)
    (folder / "app.toml").write_text(toml)
    return folder


_BASIC = """
[secret.db]
file = "db.secret"
[config.app_conf]
content = "level = debug"
[container.web]
image = "busybox"
secrets = ["db"]
configs = ["app_conf"]
"""


def _load(folder: Path, key: bytes = KEY_A, environ: dict | None = None):
    return load(folder, environ=environ or {}, hash_key=lambda: key)


def test_short_forms_mount_a_secret_under_run_secrets_0400_and_a_config_at_root_0444(tmp_path):
    state = _load(_write(tmp_path, _BASIC)).state
    web = state.containers["web"]
    assert (web.secrets[0].target, web.secrets[0].mode) == ("/run/secrets/db", 0o400)
    assert (web.configs[0].target, web.configs[0].mode) == ("/app_conf", 0o444)


def test_long_form_takes_a_relative_target_under_run_secrets_and_compose_string_numbers(tmp_path):
    toml = _BASIC.replace('secrets = ["db"]', 'secrets = [{ source = "db", target = "pw", uid = "100", gid = 7, '
                                              'mode = "0440" }]')
    grant = _load(_write(tmp_path, toml)).state.containers["web"].secrets[0]
    assert (grant.target, grant.uid, grant.gid, grant.mode) == ("/run/secrets/pw", 100, 7, 0o440)


def test_a_secret_from_the_environment_reads_the_variable(tmp_path):
    toml = _BASIC.replace('file = "db.secret"', 'environment = "DB_PW"')
    a = _load(_write(tmp_path, toml), environ={"DB_PW": "one"}).state.containers["web"]
    b = _load(_write(tmp_path, toml), environ={"DB_PW": "two"}).state.containers["web"]
    assert spec_hash(a) != spec_hash(b)


def test_an_unset_variable_is_an_error_at_its_line_without_any_value(tmp_path):
    toml = _BASIC.replace('file = "db.secret"', 'environment = "DB_PW"')
    errors = _load(_write(tmp_path, toml)).errors
    assert [str(e) for e in errors] == [
        "app.toml:3: secret.db.environment: the variable DB_PW is not set (neither in the environment nor in the env "
        "file)"]


def test_a_missing_file_is_an_error_at_its_line(tmp_path):
    errors = _load(_write(tmp_path, _BASIC.replace("db.secret", "nope"))).errors
    assert [str(e) for e in errors] == ["app.toml:3: secret.db.file: nope cannot be read: No such file or directory"]


def test_two_sources_are_an_error_naming_both(tmp_path):
    errors = _load(_write(tmp_path, _BASIC.replace('file = "db.secret"', 'file = "db.secret"\nenvironment = "X"')))
    assert "needs exactly one of `file` or `environment`; it has file, environment" in str(errors.errors[0])


def test_an_undeclared_secret_is_a_reference_error_with_did_you_mean(tmp_path):
    errors = _load(_write(tmp_path, _BASIC.replace('secrets = ["db"]', 'secrets = ["dbb"]'))).errors
    assert [str(e) for e in errors] == ["app.toml:8: container.web.secrets[0]: secret 'dbb' is not declared "
                                        "(did you mean 'db'?)"]


def test_a_changed_value_changes_the_spec_hash(tmp_path):
    before = spec_hash(_load(_write(tmp_path, _BASIC)).state.containers["web"])
    after = spec_hash(_load(_write(tmp_path, _BASIC, secret="other")).state.containers["web"])
    assert before != after


def test_the_same_value_under_another_key_gives_another_hash(tmp_path):
    folder = _write(tmp_path, _BASIC)
    assert spec_hash(_load(folder, KEY_A).state.containers["web"]) != spec_hash(
        _load(folder, KEY_B).state.containers["web"])


def test_no_value_in_the_repr_of_the_state(tmp_path):
    state = _load(_write(tmp_path, _BASIC)).state
    assert CANARY not in repr(state) and "level = debug" not in repr(state.containers["web"])


def _create_plan(state, folder: str | None, refused: str | None = None, owner: tuple[int, int] | None = None):
    from reconciler.options import PlanOptions
    spec = state.containers["web"]
    change = Change(ChangeKind.CREATE, "container", "web", spec=spec, needs_start=True)
    return plan([change], "ns", PlanOptions(files_folder=folder, files_refused=refused, files_owner=owner))


def test_the_plan_writes_the_files_before_the_create_which_binds_them_read_only(tmp_path):
    state = _load(_write(tmp_path, _BASIC)).state
    task = _create_plan(state, "/run/x").tasks[0]
    assert [a.step for a in task.steps] == [Step.WRITE_FILES, Step.CREATE, Step.START]
    binds = [m for m in task.steps[1].spec.mounts if m.type == "bind"]
    assert [(m.target, m.read_only, m.create_host_path) for m in binds] == [
        ("/run/secrets/db", True, False), ("/app_conf", True, False)]
    assert binds[0].source == "/run/x/" + file_name(state.containers["web"].secrets[0])


def test_no_value_in_the_plan_text(tmp_path):
    assert CANARY not in str(_create_plan(_load(_write(tmp_path, _BASIC)).state, "/run/x"))


def test_without_a_folder_the_container_is_blocked_with_the_reason(tmp_path):
    task = _create_plan(_load(_write(tmp_path, _BASIC)).state, None, "not a tmpfs").tasks[0]
    assert task.blocked == "not a tmpfs"


def test_a_process_that_cannot_chown_blocks_a_file_to_be_owned_by_another(tmp_path):
    task = _create_plan(_load(_write(tmp_path, _BASIC)).state, "/run/x", owner=(1000, 1000)).tasks[0]
    assert task.blocked.startswith("the file of db is to be owned by 0:0, and only root can give it an owner "
                                   "other than 1000:1000 (this process)")


def test_a_start_after_a_reboot_writes_the_files_first(tmp_path):
    spec = _load(_write(tmp_path, _BASIC)).state.containers["web"]
    change = Change(ChangeKind.START, "container", "web", spec=spec, current=("abc",), needs_start=True)
    steps, _ = with_files(change, (), (), "/run/x")
    assert steps == ()
    from reconciler.tasks import Action
    steps, _ = with_files(change, (Action(Step.START, "web"),), (), "/run/x")
    assert [a.step for a in steps] == [Step.WRITE_FILES, Step.START]


def test_file_names_differ_by_value_and_by_mode(tmp_path):
    state = _load(_write(tmp_path, _BASIC)).state
    grant = state.containers["web"].secrets[0]
    other = _load(_write(tmp_path, _BASIC, secret="x")).state.containers["web"].secrets[0]
    assert file_name(grant) != file_name(other)
    assert len({file_name(grant), file_name(grant.__class__(**{**grant.__dict__, "mode": 0o440}))}) == 2
    assert mounted(state.containers["web"], "/f").mounts[0].source.startswith("/f/")


def test_a_hosts_view_keeps_the_secrets_and_configs_for_that_host(tmp_path):
    from reconciler.desired.hosts import select
    view = select(_load(_write(tmp_path, _BASIC)).state, "any-host")
    assert (list(view.secrets), list(view.configs), dict(view.inactive)) == (["db"], ["app_conf"], {})


def test_a_folder_on_disk_is_refused_to_a_user_who_cannot_mount_a_tmpfs_there(tmp_path):
    if grantfiles.filesystem_of(tmp_path) == "tmpfs":
        pytest.skip("this host's temporary folder is a tmpfs")
    assert "not a tmpfs" in grantfiles.folder_refusal(tmp_path, euid=1000)


def test_a_folder_on_disk_is_taken_by_root_who_mounts_a_tmpfs_there(tmp_path):
    assert grantfiles.folder_refusal(tmp_path, euid=0) is None


def test_a_uid_above_the_largest_linux_id_is_an_error_at_its_line(tmp_path):
    toml = _BASIC.replace('secrets = ["db"]', 'secrets = [{ source = "db", uid = 4294967295 }]')
    errors = _load(_write(tmp_path, toml)).errors
    assert [str(e) for e in errors] == [
        "app.toml:8: container.web.secrets[0]: user id 4294967295 is above 4294967294 (Linux ids are 32-bit, "
        "4294967295 is reserved)"]


def test_the_largest_linux_id_is_taken_as_a_gid(tmp_path):
    toml = _BASIC.replace('secrets = ["db"]', 'secrets = [{ source = "db", gid = "4294967294" }]')
    (grant,) = _load(_write(tmp_path, toml)).state.containers["web"].secrets
    assert grant.gid == 4294967294


def test_a_target_with_a_dot_dot_part_is_an_error_at_its_line(tmp_path):
    toml = _BASIC.replace('secrets = ["db"]', 'secrets = [{ source = "db", target = "../../etc/passwd" }]')
    errors = _load(_write(tmp_path, toml)).errors
    assert [str(e) for e in errors] == [
        "app.toml:8: container.web.secrets[0]: target '../../etc/passwd' has a '..' part; write the path without it"]
