"""docs/hooks.py: the generated parts of the documentation (CLI reference, presets table, results index)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from physdis_hub.cli import build_parser
from training.presets import PRESETS

HOOKS = Path(__file__).resolve().parent.parent / "docs" / "hooks.py"


@pytest.fixture(scope="module")
def hooks():
    spec = importlib.util.spec_from_file_location("docs_hooks", HOOKS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_physdis_reference_has_every_subcommand(hooks) -> None:
    text = hooks.cli_physdis()
    commands = [name for name, _ in hooks._subparsers(build_parser())]
    assert {"extract", "decompose", "probe", "convert"} <= set(commands)
    for name in commands:
        assert f"`physdis {name}`" in text, name
    assert "`physdis convert unsup3d`" in text and "`physdis probe linear`" in text  # nested levels too
    assert "--parts" in text  # option help, not only names


def test_the_training_reference_finds_the_scripts_by_walking_the_package(hooks) -> None:
    modules = hooks.script_modules()
    assert "training.train" in modules and "training.reproduce" in modules
    assert "training.trainer" not in modules and "training.presets" not in modules  # libraries, not scripts
    assert "usage: python -m training.train" in hooks.script_help("training.train")


def test_the_presets_table_has_one_row_per_preset_read_from_its_config(hooks) -> None:
    table = hooks.presets_table().splitlines()
    assert len(table) == 2 + len(PRESETS)
    row = next(r for r in table if r.startswith("| `tiny` |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[3:7] == ["16, 32", "8", "0.001", "3"]  # widths, batch, lr, epochs of the tiny preset
    assert cells[-1] == "fp32, auto"  # precision, Adam implementation
    cpu = next(r for r in table if r.startswith("| `faces-synthetic-cpu` |"))
    assert cpu.endswith("| bf16, auto |")


def test_render_fills_markers_and_refuses_unknown_ones(hooks, tmp_path) -> None:
    page = "# Presets\n\n<!-- generated: presets -->\n\nafter\n"
    out = hooks.render(page)
    assert "<!-- generated" not in out and "| `faces-synthetic-cpu` |" in out and out.endswith("after\n")
    with pytest.raises(ValueError, match="unknown generated block 'nope'"):
        hooks.render("<!-- generated: nope -->\n")


def test_results_index_lists_dated_reports_newest_first(hooks, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(hooks, "ROOT", tmp_path)
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "2026-01-02-b.md").write_text("# B\n\n**Question**: why b?\n**Verdict**: adopted.\n")
    (folder / "2025-12-01-a.md").write_text("# A\n\n**Question**: why a?\n**Verdict**: not adopted.\n")
    (folder / "notes.md").write_text("# not a report\n")
    rows = hooks.results_index(folder).splitlines()[2:]
    assert rows == [
        "| 2026-01-02 | `results/2026-01-02-b.md`: B | why b? | adopted. |",
        "| 2025-12-01 | `results/2025-12-01-a.md`: A | why a? | not adopted. |",
    ]
