"""Which files make up a desired state, and what a missing or empty directory means."""

import os

from reconciler.agent.lastgood import LastKnownGood
from reconciler.desired.loader import discover, load, load_file
from tests.unit.desired import write


def test_discover_reads_toml_files_in_subfolders_sorted(tmp_path):
    write(tmp_path, {"b.toml": "", "a.toml": "", "apps/web.toml": "", "apps/deep/db.toml": ""})
    assert discover(tmp_path) == ["a.toml", "apps/deep/db.toml", "apps/web.toml", "b.toml"]


def test_discover_ignores_hidden_files_hidden_folders_and_editor_artefacts(tmp_path):
    artefacts = [".draft.toml", ".git/config.toml", ".x.toml.swp", "4913", "x.toml~", "x.toml.bak",
                 "#x.toml#", ".#x.toml", "notes.md", "sub/.hidden/y.toml"]
    write(tmp_path, {name: "" for name in artefacts} | {"real.toml": ""})
    assert discover(tmp_path) == ["real.toml"]


def test_a_missing_directory_is_an_error(tmp_path):
    result = load(tmp_path / "nowhere")
    assert result.state is None
    assert [str(e) for e in result.errors] == [f"desired-state directory {tmp_path / 'nowhere'} does not exist"]


def test_a_file_given_as_the_directory_is_an_error(tmp_path):
    write(tmp_path, {"a.toml": ""})
    result = load(tmp_path / "a.toml")
    assert [str(e) for e in result.errors] == [f"desired-state directory {tmp_path / 'a.toml'} is not a directory"]


def test_an_unreadable_subfolder_is_an_error_not_a_partial_state(tmp_path, monkeypatch):
    write(tmp_path, {"a.toml": "", "locked/b.toml": ""})
    scandir = os.scandir

    def refuse_locked(path="."):
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refuse_locked)
    result = load(tmp_path)
    assert result.state is None
    assert [str(e) for e in result.errors] == [f"cannot read {tmp_path / 'locked'}: Permission denied"]


def test_an_empty_directory_is_a_valid_empty_state_with_a_warning(tmp_path):
    result = load(tmp_path)
    assert result.errors == ()
    assert result.state.specs() == []
    assert [str(w) for w in result.warnings] == [f"no *.toml files in {tmp_path}: the desired state is empty"]


def test_load_lists_the_files_it_read(tmp_path):
    write(tmp_path, {"a.toml": "", "sub/b.toml": "", ".c.toml": ""})
    assert load(tmp_path).files == ("a.toml", "sub/b.toml")


def test_a_fifo_named_toml_is_skipped_with_a_warning_and_never_read(tmp_path):
    write(tmp_path, {"a.toml": "[container.web]\nimage = 'demo'\n"})
    os.mkfifo(tmp_path / "x.toml")
    result = load(tmp_path)
    assert (result.errors, result.files) == ((), ("a.toml",))
    assert [str(w) for w in result.warnings] == ["x.toml: skipped: a FIFO, not a regular file"]
    assert [str(e) for e in load_file(tmp_path, "x.toml", {}).errors] == [
        "x.toml: cannot read: a FIFO, not a regular file"
    ]


def test_a_symlinked_folder_leading_outside_is_followed(tmp_path):
    write(tmp_path, {"shared/web.toml": "[container.web]\nimage = 'demo'\n", "ds/a.toml": ""})
    (tmp_path / "ds" / "apps").symlink_to(tmp_path / "shared")
    result = load(tmp_path / "ds")
    assert result.files == ("a.toml", "apps/web.toml")
    assert result.state.containers["web"].source.file == "apps/web.toml"


def test_a_symlinked_folder_leading_inside_or_back_up_is_read_once_with_a_warning(tmp_path):
    write(tmp_path, {"apps/web.toml": "[container.web]\nimage = 'demo'\n"})
    (tmp_path / "alias").symlink_to(tmp_path / "apps")
    (tmp_path / "apps" / "up").symlink_to(tmp_path)
    result = load(tmp_path)
    assert (result.errors, result.files) == ((), ("apps/web.toml",))
    assert [str(w) for w in result.warnings] == [
        "alias: symlinked folder not followed: it leads to apps, which is read anyway",
        "apps/up: symlinked folder not followed: it leads to the directory itself, which is read anyway",
    ]


def test_a_symlinked_folder_leading_above_the_directory_is_not_followed_with_a_warning(tmp_path):
    write(tmp_path, {"ds/a.toml": "[container.web]\nimage = 'demo'\n"})
    (tmp_path / "ds" / "parent").symlink_to(tmp_path)
    result = load(tmp_path / "ds")
    assert (result.errors, result.files) == ((), ("a.toml",))
    assert [str(w) for w in result.warnings] == [
        f"parent: symlinked folder not followed: it leads to {tmp_path}, which holds the directory:"
        " its files would be read twice"
    ]


def checkout_with_a_link_to(tmp_path, target):
    """A checkout (tmp_path/checkout) holding hosts/web/app.toml and hosts/web/linkdir -> `target`;
    the host folder tmp_path/host holds host.toml."""
    write(tmp_path, {"checkout/hosts/web/app.toml": "[container.web]\nimage = 'demo'\n",
                     "checkout/common/shared.toml": "[container.shared]\nimage = 'demo'\n",
                     "host/host.toml": "[container.host]\nimage = 'demo'\n"})
    (tmp_path / "checkout" / "hosts" / "web" / "linkdir").symlink_to(target)
    return tmp_path / "checkout"


def test_a_symlinked_folder_leading_outside_the_checkout_is_not_followed_with_a_warning_naming_only_it(tmp_path):
    checkout = checkout_with_a_link_to(tmp_path, tmp_path / "host")
    warnings = []
    assert discover(checkout / "hosts" / "web", warnings, confine=checkout) == ["app.toml"]
    assert [str(w) for w in warnings] == ["linkdir: a symlinked folder leading outside the repository; not followed"]


def test_a_symlinked_folder_leading_elsewhere_in_the_checkout_is_followed(tmp_path):
    checkout = checkout_with_a_link_to(tmp_path, "../../common")
    warnings = []
    assert discover(checkout / "hosts" / "web", warnings, confine=checkout) == ["app.toml", "linkdir/shared.toml"]
    assert warnings == []


def test_the_agent_reading_a_checkout_does_not_follow_a_folder_link_out_of_it(tmp_path):
    checkout = checkout_with_a_link_to(tmp_path, tmp_path / "host")
    desired = LastKnownGood(tmp_path / "elsewhere", environ={})
    desired.move_to(checkout / "hosts" / "web", checkout)
    refresh = desired.refresh()
    assert sorted(refresh.state.containers) == ["web"]
    assert [str(w) for w in refresh.warnings] == [
        "linkdir: a symlinked folder leading outside the repository; not followed"]
    assert refresh.errors == ()
