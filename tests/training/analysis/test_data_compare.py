"""Models scored on several synthetic test splits: one section per data set, every model a row."""

from __future__ import annotations

import pytest
import torch

from physdis_hub.model import PhysDisModel
from training.analysis.data_compare import main, parse_models
from training.analysis.suite import markdown_cells
from training.presets import build_preset


def test_every_model_is_scored_on_every_data_set(tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = build_preset("tiny", "LV")
    for seed, name in ((0, "a"), (1, "b")):
        torch.manual_seed(seed)
        PhysDisModel(config.model).save_pretrained(tmp_path / name)
    report = tmp_path / "2026-01-01-compare.md"
    code = main(
        ["--model", f"a=local-dir:{tmp_path / 'a'}", "--model", f"b=local-dir:{tmp_path / 'b'}",
         "--preset", "tiny", "--data-dir", str(tmp_path / "data"), "--epochs", "2", "--pca-dims", "8", "--no-real-photos",
         "--datasets", "synthetic-faces", "synthetic-faces-ict", "--report", str(report)]
    )  # fmt: skip
    assert code == 0
    text = report.read_text()
    assert "**Test split of `synthetic-faces`**" in text and "**Test split of `synthetic-faces-ict`**" in text
    tables = markdown_cells(text)
    assert len(tables) == 4  # per data set: the scores and the shape diagnostics
    for table in tables[::2]:
        assert [row[0] for row in table[1:3]] == ["a", "b"]
    # two data sets, two models: the same models score differently on the two test splits
    assert tables[0][1] != tables[2][1]
    assert (report.parent / "data" / report.stem / "data-compare.csv").is_file()


def test_model_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="NAME=MODEL"):
        parse_models(["faces-loocc-lv"])
    with pytest.raises(ValueError, match="twice"):
        parse_models(["a=x", "a=y"])
