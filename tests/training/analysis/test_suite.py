import math

import pytest
import torch

from physdis_hub.model import PhysDisModel
from training.analysis.real_photos import jittered_draws
from training.analysis.suite import SHAPE_COLUMNS, evaluate_models, main, markdown_table, publish, replace_block
from training.presets import build_preset


def test_table_and_report_block(tmp_path) -> None:
    rows = {"ours": {"cluster_ood_acc": 0.5, "side": 0.01}, "pixels": {"cluster_ood_acc": 0.25, "side": math.nan}}
    table = markdown_table(rows)
    assert "| ours | 0.5 | 0.01 |" in table and "| pixels | 0.25 | - |" in table
    report = tmp_path / "2026-01-01-x.md"
    report.write_text("a\n<!-- results:faces:start -->\nold\n<!-- results:faces:end -->\nb\n")
    replace_block(report, "faces", table)
    assert "old" not in report.read_text() and table in report.read_text()
    with pytest.raises(ValueError, match="results:cars"):
        replace_block(report, "cars", table)


def test_publish_creates_a_new_report_and_writes_each_table_as_csv(tmp_path, capsys) -> None:
    rows = {"ours": {"cluster_ood_acc": 0.5, "side": 0.01, "side_true_view": 0.02}}
    table = f"{markdown_table(rows)}\n\nShape:\n\n{markdown_table(rows, SHAPE_COLUMNS[:2])}"
    report = tmp_path / "results" / "2026-01-01-new.md"
    publish("Header.", table, report, "faces")
    text = report.read_text()
    assert text.startswith("# faces\n") and "<!-- results:faces:start -->\nHeader.\n\n| model |" in text
    data = tmp_path / "results" / "data" / "2026-01-01-new"
    assert sorted(p.name for p in data.iterdir()) == ["faces-2.csv", "faces.csv"]
    assert (data / "faces.csv").read_text().splitlines()[1] == "ours,0.5,0.01"
    assert "Header." in capsys.readouterr().out


def test_a_missing_report_block_or_a_readme_stops_the_suite_before_it_evaluates(tmp_path, capsys) -> None:
    report, runs = tmp_path / "2026-01-01-suite.md", tmp_path / "runs"
    report.write_text("<!-- results:faces:start -->\n<!-- results:faces:end -->\n")
    runs.mkdir()
    with pytest.raises(SystemExit) as stop:
        main(["faces", "--runs", str(runs), "--report", str(report), "--block", "faces-long"])
    assert stop.value.code == 2 and "results:faces-long:start" in capsys.readouterr().err
    assert list(runs.iterdir()) == []  # nothing written
    readme = tmp_path / "README.md"
    readme.write_text("<!-- results:faces:start -->\n<!-- results:faces:end -->\n")
    with pytest.raises(SystemExit) as stop:  # results never go into a README, even one with the block
        main(["faces", "--runs", str(runs), "--report", str(readme)])
    assert stop.value.code == 2 and "is a README" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:  # the named block exists: the next check (no runs) speaks
        main(["faces", "--runs", str(runs), "--report", str(report)])
    assert "no <variant>/model folders" in capsys.readouterr().err


def test_evaluate_models_scores_every_row_and_the_real_photo_check() -> None:
    config = build_preset("tiny", "LV")
    photos = torch.rand(4, 1, 25, 25, generator=torch.Generator().manual_seed(0))
    real = jittered_draws(photos, 2, (0, 1))
    rows = evaluate_models(
        {"ours": PhysDisModel(config.model).eval()},
        config,
        n_labels=(8, 10_000),
        epochs=2,
        pca_dims=8,
        real_photos=real,
    )
    assert list(rows) == ["ours", "random-init", "pixels+PCA", "ResNet-18 (random init)", "null depth"]
    for name in ("ours", "random-init", "pixels+PCA", "ResNet-18 (random init)"):
        row = rows[name]
        assert {
            "cluster_id_acc",
            "cluster_ood_nmi",
            "lin_ood@8",
            "real_photo_acc",
            "real_photo_acc_sd",
            "real_photo_nmi",
        } <= set(row)
        assert "lin_ood@10000" not in row  # a budget larger than the test split is left out, not faked
        assert all(0 <= row[k] <= 1 for k in ("cluster_ood_acc", "lin_ood@8", "real_photo_acc"))
    assert {"side", "mad_deg", "side_vs_null", "recon_l1", "part_pcc"} <= set(rows["ours"])
    assert {k for k, _ in SHAPE_COLUMNS} <= set(rows["ours"])
    assert set(rows["null depth"]) == {"side", "mad_deg", "side_vs_null", "mad_vs_null"}
    assert rows["null depth"]["side_vs_null"] == 1.0
    shape_table = markdown_table(rows, SHAPE_COLUMNS)
    assert "| ours |" in shape_table and "pixels+PCA" not in shape_table  # rows without the columns are left out
