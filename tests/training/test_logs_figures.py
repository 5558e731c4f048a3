"""CSV logs (truncated on resume) and decomposition figures."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from physdis_hub.model import PhysDisModel
from training.figures import ROWS, decomposition_grid, save_png
from training.logs import EPOCHS_CSV, STEPS_CSV, MetricsLogger, read_csv
from training.presets import build_preset


def test_logs_append_and_resume_drops_rows_after_the_checkpoint(tmp_path) -> None:  # type: ignore[no-untyped-def]
    log = MetricsLogger(tmp_path)
    for step in range(1, 7):
        log.log_step(step, (step + 1) // 2, {"total": 1.0 / step, "aug": "light"})
    log.log_epoch(1, 2, {"val_loss": 0.5})
    log.log_epoch(2, 4, {"val_loss": 0.4})
    log.log_epoch(3, 6, {"val_loss": 0.3})
    log.close()
    resumed = MetricsLogger(tmp_path, resume_step=4, resume_epoch=2)  # the checkpoint was after epoch 2
    assert [r["step"] for r in read_csv(tmp_path / STEPS_CSV)] == ["1", "2", "3", "4"]
    assert [r["epoch"] for r in read_csv(tmp_path / EPOCHS_CSV)] == ["1", "2"]
    resumed.log_step(5, 3, {"total": 0.2, "aug": "view"})
    assert read_csv(tmp_path / STEPS_CSV)[-1] == {"step": "5", "epoch": "3", "total": "0.2", "aug": "view"}
    with pytest.raises(ValueError, match="new metric columns"):
        resumed.log_step(6, 3, {"total": 0.2, "aug": "view", "extra": 1})
    quiet = MetricsLogger(tmp_path / "rank1", enabled=False)
    quiet.log_step(1, 1, {"total": 1.0})
    assert not (tmp_path / "rank1").exists()


def test_decomposition_grid(tmp_path) -> None:  # type: ignore[no-untyped-def]
    torch.manual_seed(0)
    model = PhysDisModel(build_preset("tiny").model)
    images = torch.rand(3, 3, 64, 64)
    grid = decomposition_grid(model, images)
    assert grid.dtype == np.uint8 and grid.shape == (len(ROWS) * 66 + 2, 3 * 66 + 2, 3)
    assert np.array_equal(grid[2:66, 2:66], (images[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8))
    path = save_png(grid, tmp_path / "figures" / "f.png")
    assert path.read_bytes().startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="images"):
        decomposition_grid(model, torch.rand(3, 64, 64))
