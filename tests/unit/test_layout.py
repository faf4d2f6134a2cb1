"""The layout holds its rules (DESIGN section 3): `runtime` imports nothing from `reconciler` but
the model's vocabulary (`model`, `fields`), and the pure stages (diff, plan, their options) import nothing that does
I/O or reads a clock."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PURE = ("reconciler/changes.py", "reconciler/diff.py", "reconciler/diff_containers.py", "reconciler/plan.py",
        "reconciler/tasks.py",
        "reconciler/options.py", "reconciler/model.py", "reconciler/fields.py", "reconciler/ownership.py")
VOCABULARY = ("reconciler.model", "reconciler.fields")
IO_MODULES = {"os", "time", "socket", "subprocess", "pathlib", "docker", "requests", "threading", "datetime",
              "random", "structlog", "runtime.docker", "runtime.memory"}


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_runtime_imports_only_the_models_vocabulary_from_reconciler():
    offenders = {
        str(path.relative_to(ROOT)): sorted(n for n in imported(path) if n.split(".")[0] == "reconciler"
                                            and n not in VOCABULARY)
        for path in (ROOT / "runtime").rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_pure_stages_import_nothing_that_does_io_or_reads_a_clock():
    offenders = {rel: sorted(n for n in imported(ROOT / rel) if n in IO_MODULES or n.split(".")[0] in IO_MODULES)
                 for rel in PURE}
    assert {rel: names for rel, names in offenders.items() if names} == {}
