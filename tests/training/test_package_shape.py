"""The training package's architecture, read from its source with ``ast``: the core (the flat modules
of ``training/``) imports neither ``training.analysis`` nor ``training.release``, and no module of
``training/`` imports itself back through a chain of imports (function-level imports included)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.training.conftest import REPO

TRAINING = REPO / "training"
OPTIONAL = ("training.analysis", "training.release")


def module_name(path: Path) -> str:
    """``training/analysis/suite.py`` -> ``"training.analysis.suite"``; a package's ``__init__`` is the package."""
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """The modules of ``known`` that ``path`` imports anywhere in its body (relative imports resolved;
    ``from pkg import mod`` counts as importing ``pkg.mod`` when that is a module)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            modules = {f"{target}.{alias.name}" for alias in node.names} & known
            # `from pkg import mod` imports the module; `from mod import name` (or `from pkg import
            # name` of the package's own) imports ``target``
            found.update(modules if modules and not node.module else modules | {target})
    return {m for m in found if m in known} - {name}


def import_graph() -> dict[str, set[str]]:
    """Module -> the ``training`` modules it imports."""
    paths = sorted(TRAINING.rglob("*.py"))
    known = {module_name(p) for p in paths}
    return {module_name(p): imported_modules(p, known) for p in paths}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as ``[a, b, ..., a]``, or None (depth-first search, three colours)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_graph_sees_relative_and_nested_imports() -> None:
    graph = import_graph()
    assert "training.trainer" in graph["training.export"]  # `from .trainer import ...`
    assert "training.config" in graph["training.analysis.suite"]  # `from ..config import ...`
    assert "training.analysis.shape_eval" in graph["training.analysis.suite"]
    assert "training.export" in graph["training.train"]  # imported inside main()


def test_find_cycle_reports_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycles_in_training() -> None:
    assert find_cycle(import_graph()) is None


@pytest.mark.parametrize("module", sorted(m for m in import_graph() if not m.startswith(OPTIONAL)))
def test_core_imports_neither_analysis_nor_release(module: str) -> None:
    reached, todo = set(), [module]
    while todo:  # everything the core module pulls in, directly or through other modules
        for nxt in import_graph()[todo.pop()] - reached:
            reached.add(nxt)
            todo.append(nxt)
    assert not {m for m in reached if m.startswith(OPTIONAL)}, f"{module} reaches {sorted(reached)}"
