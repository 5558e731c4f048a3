"""``python -m training.export``: the best epoch of a run, exported after the fact."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from physdis_hub.hub import load_pretrained
from training import export
from training.trainer import BEST_CHECKPOINT, load_best_model


def test_export_writes_the_best_epoch_with_its_card_and_numbers(short_run, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    run_dir = tmp_path / "run"
    shutil.copytree(short_run[1], run_dir)
    shutil.rmtree(run_dir / export.EXPORT_DIR, ignore_errors=True)
    (run_dir / export.EVAL_FILE).unlink(missing_ok=True)
    assert export.main([str(run_dir)]) == 0
    assert "exported to" in capsys.readouterr().err
    best, info = load_best_model(run_dir)
    exported = load_pretrained(f"local-dir:{run_dir / export.EXPORT_DIR}")
    for name, tensor in best.state_dict().items():
        assert torch.equal(tensor, exported.state_dict()[name]), name
    # calibrated on the validation split: each part's features spread 1 there, once scaled
    assert best.config.part_scales is None and exported.config.part_scales is not None
    val = export.calibration_images(export.build_splits(info["config"].data).val)
    spread = exported.extract(val, parts=["geom", "alb", "light", "view"], as_dict=True, align=False)
    for part, feats in spread.items():
        assert float(feats.std(0).mean()) == pytest.approx(1.0, rel=1e-4), part
    record = json.loads((run_dir / export.EVAL_FILE).read_text())
    assert record["command"] == f"python -m training.export {run_dir}"
    assert record["metrics"]["best_epoch"] == info["epoch"] and "recon_l1" in record["metrics"]
    assert "python -m training.export" in (run_dir / export.EXPORT_DIR / "README.md").read_text()


def test_a_run_without_a_best_checkpoint_is_refused_and_nothing_is_written(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert export.main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and BEST_CHECKPOINT in err
    assert list(tmp_path.iterdir()) == []
