import math

import pytest
import torch

from physdis_hub.model import PhysDisModel
from training.analysis.real_photos import jittered_draws
from training.analysis.suite import SHAPE_COLUMNS, evaluate_models, main, markdown_table, replace_block
from training.presets import get_preset


def test_table_and_readme_block(tmp_path) -> None:
    rows = {"ours": {"cluster_ood_acc": 0.5, "side": 0.01}, "pixels": {"cluster_ood_acc": 0.25, "side": math.nan}}
    table = markdown_table(rows)
    assert "| ours | 0.5 | 0.01 |" in table and "| pixels | 0.25 | - |" in table
    readme = tmp_path / "README.md"
    readme.write_text("a\n<!-- results:faces:start -->\nold\n<!-- results:faces:end -->\nb\n")
    replace_block(readme, "faces", table)
    assert "old" not in readme.read_text() and table in readme.read_text()
    with pytest.raises(ValueError, match="results:cars"):
        replace_block(readme, "cars", table)


def test_a_missing_readme_block_stops_the_suite_before_it_evaluates(tmp_path, capsys) -> None:
    readme, runs = tmp_path / "README.md", tmp_path / "runs"
    readme.write_text("<!-- results:faces:start -->\n<!-- results:faces:end -->\n")
    runs.mkdir()
    with pytest.raises(SystemExit) as stop:
        main(["faces", "--runs", str(runs), "--readme", str(readme), "--block", "faces-long"])
    assert stop.value.code == 2 and "results:faces-long:start" in capsys.readouterr().err
    assert list(runs.iterdir()) == []  # nothing written
    with pytest.raises(SystemExit) as stop:  # the named block exists: the next check (no runs) speaks
        main(["faces", "--runs", str(runs), "--readme", str(readme)])
    assert "no <variant>/model folders" in capsys.readouterr().err


def test_evaluate_models_scores_every_row_and_the_real_photo_check() -> None:
    config = get_preset("tiny", "LV")
    photos = torch.rand(4, 1, 25, 25, generator=torch.Generator().manual_seed(0))
    real = jittered_draws(photos, 2, (0, 1))
    rows = evaluate_models({"ours": PhysDisModel(config.model).eval()}, config, n_labels=(8, 10_000), epochs=2,
                           pca_dims=8, real_photos=real)  # fmt: skip
    assert list(rows) == ["ours", "random-init", "pixels+PCA", "ResNet-18 (random init)", "null depth"]
    for name in ("ours", "random-init", "pixels+PCA", "ResNet-18 (random init)"):
        row = rows[name]
        assert {"cluster_id_acc", "cluster_ood_nmi", "lin_ood@8", "real_photo_acc", "real_photo_acc_sd", "real_photo_nmi"} <= set(row)
        assert "lin_ood@10000" not in row  # a budget larger than the test split is left out, not faked
        assert all(0 <= row[k] <= 1 for k in ("cluster_ood_acc", "lin_ood@8", "real_photo_acc"))
    assert {"side", "mad_deg", "side_vs_null", "recon_l1", "part_pcc"} <= set(rows["ours"])
    assert {k for k, _ in SHAPE_COLUMNS} <= set(rows["ours"])
    assert set(rows["null depth"]) == {"side", "mad_deg", "side_vs_null", "mad_vs_null"}
    assert rows["null depth"]["side_vs_null"] == 1.0
    shape_table = markdown_table(rows, SHAPE_COLUMNS)
    assert "| ours |" in shape_table and "pixels+PCA" not in shape_table  # rows without the columns are left out
