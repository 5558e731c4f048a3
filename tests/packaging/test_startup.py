"""Start-up: `physdis --help` and `physdis list` import neither torch nor scikit-learn (the package
``__init__`` modules re-export lazily), and the commands' default CPU thread count."""

import ast
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import physdis_hub
from physdis_hub import _threads
from physdis_hub.align import FACES
from physdis_hub.cli import build_parser, main
from physdis_hub.stream import ON_ERROR

ROOT = Path(__file__).resolve().parents[2]
LAZY_PACKAGES = ("physdis_hub", "physdis_hub.hub", "physdis_hub.probes", "physdis_hub.convert")

PROBE = """
import json, sys
from physdis_hub.cli import main
for argv in (["--help"], ["list"], ["probe", "cluster", "--help"], ["convert", "pdr", "--help"]):
    try:
        main(argv)
    except SystemExit:
        pass
print(json.dumps(sorted(m for m in ("torch", "sklearn", "PIL.Image", "huggingface_hub") if m in sys.modules)))
"""


def test_help_and_list_import_no_torch(tmp_path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    )
    assert "faces-loocc-lv" in run.stdout and "usage: physdis" in run.stdout
    assert json.loads(run.stdout.splitlines()[-1]) == []


@pytest.mark.parametrize("name", LAZY_PACKAGES)
def test_lazy_exports_match_the_type_checking_imports_and_all(name) -> None:
    package = importlib.import_module(name)
    tree = ast.parse(Path(package.__file__).read_text())
    block = next(n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING")
    imported = {
        "." * n.level + str(n.module): tuple(a.name for a in n.names)
        for n in block.body
        if isinstance(n, ast.ImportFrom)
    }
    assert imported == package._EXPORTS
    names = [n for names in package._EXPORTS.values() for n in names]
    assert sorted(set(package.__all__) - {"__version__"}) == sorted(names)
    assert set(names) <= set(dir(package))
    for export in names:
        assert getattr(package, export) is getattr(importlib.import_module(_where(package, export), name), export)
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        package.no_such_name  # noqa: B018


def _where(package, export: str) -> str:
    return next(module for module, names in package._EXPORTS.items() if export in names)


def test_top_level_names_still_import_the_usual_way() -> None:
    from physdis_hub import PhysDisModel, load_pretrained

    assert PhysDisModel.__module__ == "physdis_hub.model" and callable(load_pretrained)
    assert physdis_hub.__version__ == "0.1.0"


def test_faces_choices_are_the_aligners() -> None:
    faces = next(
        a for a in build_parser()._subparsers._group_actions[0].choices["extract"]._actions if a.dest == "faces"
    )
    assert tuple(faces.choices) == FACES
    on_error = next(
        a for a in build_parser()._subparsers._group_actions[0].choices["extract"]._actions if a.dest == "on_error"
    )
    assert tuple(on_error.choices) == ON_ERROR


@pytest.fixture
def torch_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_threads_default_to_at_most_four_unless_omp_num_threads_is_set(monkeypatch, torch_threads) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    torch.set_num_threads(1)
    assert _threads.limit_threads() is None and torch.get_num_threads() == 1
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.setattr(_threads, "available_cores", lambda: 64)
    assert _threads.limit_threads() == 4 and torch.get_num_threads() == 4
    assert os.environ["OMP_NUM_THREADS"] == "4"  # for workers and a torch imported later
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.setattr(_threads, "available_cores", lambda: 2)
    assert _threads.limit_threads() == 2 and torch.get_num_threads() == 2
    assert _threads.limit_threads(3) == 3 and torch.get_num_threads() == 3


def test_threads_option(monkeypatch, capsys, torch_threads) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert main(["--threads", "0", "list"]) == 1
    assert "--threads: expected a positive int, got 0" in capsys.readouterr().err
    assert main(["--threads", "1", "list"]) == 0 and torch.get_num_threads() == 1
