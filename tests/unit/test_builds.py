"""Builds from a Dockerfile: the context hash, the Dockerfile checks, the tree a build may read,
and the plan that builds and replaces (on the in-memory engine)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconciler.agent.lastgood import LastKnownGood
from reconciler.commands.cli import main
from reconciler.converge import converge, make_plan, observe
from reconciler.desired.loader import load
from reconciler.images.builds import context_hash, dockerfile_problems, sent_files
from reconciler.model import canonical
from runtime.memory import MemoryRuntime
from tests.conftest import DEMO_IMAGE

APP = """
[container.app]
image = "localhost/app:1"
build = { context = "./app" }
command = ["sleep", "300"]
"""


def tree(root: Path, toml: str = APP, dockerfile: str = f"FROM {DEMO_IMAGE}\nCOPY . /app\n") -> Path:
    (root / "app").mkdir()
    (root / "app" / "Dockerfile").write_text(dockerfile)
    (root / "app" / "main.sh").write_text("echo hi\n")
    (root / "app.toml").write_text(toml)
    return root


def hashed(context: Path) -> str:
    return context_hash(context, context / "Dockerfile", sent_files(context, context / "Dockerfile"))


def test_the_hash_is_stable_under_a_touch_that_changes_no_content(tmp_path):
    app = tree(tmp_path) / "app"
    before = hashed(app)
    os.utime(app / "main.sh", (1, 1))
    assert hashed(app) == before


def test_a_content_change_changes_the_hash(tmp_path):
    app = tree(tmp_path) / "app"
    before = hashed(app)
    (app / "main.sh").write_text("echo bye\n")
    assert hashed(app) != before


def test_a_mode_change_changes_the_hash(tmp_path):
    app = tree(tmp_path) / "app"
    before = hashed(app)
    (app / "main.sh").chmod(0o755)
    assert hashed(app) != before


def test_files_dockerignore_excludes_are_not_hashed(tmp_path):
    app = tree(tmp_path) / "app"
    (app / ".dockerignore").write_text("*.log\n")
    before = hashed(app)
    (app / "debug.log").write_text("noise")
    assert hashed(app) == before
    assert "debug.log" not in sent_files(app, app / "Dockerfile")


def test_a_symlink_is_hashed_as_its_target_text_not_the_target_content(tmp_path):
    app = tree(tmp_path) / "app"
    outside = tmp_path / "secret.txt"
    outside.write_text("one")
    (app / "link").symlink_to(outside)
    before = hashed(app)
    outside.write_text("two")
    assert hashed(app) == before
    (app / "link").unlink()
    (app / "link").symlink_to(tmp_path / "other.txt")
    assert hashed(app) != before


@pytest.mark.parametrize(("text", "line", "words"), [
    ("# syntax=docker/dockerfile:1.4\nFROM x\n", 1, "'# syntax=' directive"),
    ("FROM x\nRUN --mount=type=cache,target=/c make\n", 2, "RUN --mount"),
    ("FROM x\nRUN <<EOF\necho hi\nEOF\n", 2, "heredoc"),
    ("FROM x\nCOPY <<-'END' /etc/conf\nEND\n", 2, "heredoc"),
    ("FROM x\nRUN --network=none true\n", 2, "RUN --network"),
    ("FROM x\nrun --security=insecure true\n", 2, "RUN --security"),
    ("FROM x\nRUN --network=host --mount=type=cache,target=/c make\n", 2, "RUN --network"),
    ("FROM x\nCOPY --link a /a\n", 2, "COPY --link"),
    ("FROM x\nCOPY --chown=1:1 --chmod=644 a /a\n", 2, "COPY --chmod"),
    ("FROM x\nADD --chmod=755 a /a\n", 2, "ADD --chmod"),
    ("FROM x\nADD --checksum=sha256:0123 https://example.com/a /a\n", 2, "ADD --checksum"),
    ("FROM x\nADD --keep-git-dir=true https://example.com/r.git /r\n", 2, "ADD --keep-git-dir"),
])
def test_buildkit_only_syntax_is_an_error_at_its_line_naming_the_engine(text, line, words):
    [(at, message)] = dockerfile_problems(text)
    assert at == line and words in message and "Docker Engine API 1.41" in message and "Podman" in message


def test_a_classic_dockerfile_has_no_problem():
    assert dockerfile_problems("# escape=\\\nFROM x\nRUN echo '<<' && make\nCOPY . /app\n") == []


def test_the_flags_of_the_classic_builder_are_allowed():
    text = "FROM x AS build\nFROM y\nCOPY --from=build --chown=1:1 /a /a\nADD --chown=2 b /b\nRUN echo --network\n"
    assert dockerfile_problems(text) == []


def test_a_buildkit_line_in_the_dockerfile_fails_the_load_at_the_dockerfiles_line(tmp_path):
    result = load(tree(tmp_path, dockerfile=f"FROM {DEMO_IMAGE}\nRUN --mount=type=cache,target=/c true\n"))
    [problem] = result.errors
    assert str(problem).startswith("app/Dockerfile:2: RUN --mount needs BuildKit")


def test_a_context_outside_the_tree_is_refused(tmp_path):
    root = tmp_path / "desired"
    root.mkdir()
    (root / "app.toml").write_text(APP.replace("./app", "/etc"))
    [problem] = load(root).errors
    assert "container.app.build.context" in str(problem) and "outside the desired-state folder" in str(problem)


def test_a_symlinked_context_leading_outside_the_tree_is_refused(tmp_path):
    root = tmp_path / "desired"
    root.mkdir()
    (root / "app.toml").write_text(APP)
    (root / "app").symlink_to("/etc")
    assert any("(resolved: /etc)" in str(problem) for problem in load(root).errors)


def outside_context(tmp_path: Path) -> tuple[Path, Path]:
    """A desired-state folder whose container builds from a context in a folder beside it:
    (the desired-state folder, the outside folder)."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    tree(outside)
    root = tmp_path / "desired"
    root.mkdir()
    (root / "app.toml").write_text(APP.replace("./app", str(outside / "app")))
    return root, outside


def test_a_context_under_build_allow_is_accepted(tmp_path):
    root, outside = outside_context(tmp_path)
    assert not load(root, build_allow=(outside,)).errors


def test_validate_refuses_an_outside_context_at_its_file_and_line(tmp_path, capsys):
    root, _ = outside_context(tmp_path)
    assert main(["validate", str(root)]) == 1
    assert capsys.readouterr().err.startswith("app.toml:4: container.app.build.context: ")


def test_validate_accepts_an_outside_context_under_build_allow(tmp_path, capsys):
    root, outside = outside_context(tmp_path)
    assert main(["validate", str(root), "--build-allow", "/nonexistent", "--build-allow", str(outside)]) == 0
    assert capsys.readouterr().out.startswith("ok: 1 container")


def test_the_agents_last_known_good_reads_outside_contexts_under_build_allow(tmp_path):
    root, outside = outside_context(tmp_path)
    assert LastKnownGood(root, environ={}).refresh().invalid == {"app.toml"}
    allowed = LastKnownGood(root, environ={}, build_allow=(outside,)).refresh()
    assert not allowed.invalid and allowed.state.containers["app"].build.context == str(outside / "app")


def test_a_build_argument_from_the_env_file_is_refused(tmp_path):
    toml = APP.replace('context = "./app"', 'context = "./app", args = { TOKEN = "${TOKEN}" }')
    env = tmp_path / "secrets.env"
    env.write_text("TOKEN=hunter2\n")
    problems = load(tree(tmp_path, toml), env_file=str(env), environ={}).errors
    assert any("build.args.TOKEN" in str(p) and "history" in str(p) for p in problems)
    assert not any("hunter2" in str(p) for p in problems)


def test_a_file_without_build_keeps_its_spec_hash_shape(tmp_path):
    (tmp_path / "web.toml").write_text(f'[container.web]\nimage = "{DEMO_IMAGE}"\n')
    spec = load(tmp_path).state.containers["web"]
    assert spec.build is None and "build" not in canonical(spec) and "push" not in canonical(spec)


def test_a_context_change_plans_a_rebuild_and_a_replacement(tmp_path):
    root = tree(tmp_path)
    runtime = MemoryRuntime(images={DEMO_IMAGE: "sha256:" + "d" * 64})
    report = converge(runtime, load(root).state, "ns")
    assert report.converged
    (root / "app" / "main.sh").write_text("echo bye\n")
    desired = load(root).state
    text = str(make_plan(desired, observe(runtime, "ns", desired), "ns"))
    tag = desired.containers["app"].build.tag.rpartition(":")[2]
    assert text.splitlines()[:3] == [
        f"~ recreate container app (image rebuilt: localhost/app:1 as {tag})",
        f"    build localhost/app:1 ({tag})",
        "    create container app--next-" + text.split("app--next-")[1].split()[0],
    ]


def test_a_touch_plans_nothing(tmp_path):
    root = tree(tmp_path)
    runtime = MemoryRuntime(images={DEMO_IMAGE: "sha256:" + "d" * 64})
    converge(runtime, load(root).state, "ns")
    os.utime(root / "app" / "main.sh", (1, 1))
    desired = load(root).state
    assert not make_plan(desired, observe(runtime, "ns", desired), "ns").has_changes


def test_a_buildkit_flag_on_a_continued_line_or_under_onbuild_is_refused_at_its_first_line():
    text = ("FROM localhost/demo:1\nRUN \\\n  --network=none true\nONBUILD COPY --chmod=644 a /a\n"
            "COPY --chown=1:1 \\\n  a /a\n")
    assert [(line, message.split(" needs")[0]) for line, message in dockerfile_problems(text)] == [
        (2, "RUN --network"), (4, "COPY --chmod")]
