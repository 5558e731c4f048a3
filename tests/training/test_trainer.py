"""The training loop: a short real run whose loss falls, early stopping, files, refusals."""

from __future__ import annotations

import math

import pytest
import torch
from PIL import Image
from torch.utils.data import Subset

from physdis_hub.vocab import to_network_range
from training.data import Splits, collate_images
from training.distributed import DistContext
from training.logs import read_csv
from training.loocc import sample_perturbation
from training.objective import TrainingObjective
from training.presets import build_preset
from training.trainer import BEST_CHECKPOINT, LAST_CHECKPOINT, EarlyStopping, ResumeError, Trainer, load_best_model


def test_short_run_loss_falls(short_run) -> None:  # type: ignore[no-untyped-def]
    _, run_dir, result = short_run
    assert (result.epochs, result.steps) == (4, 16) and not result.stopped_early
    steps = read_csv(run_dir / "steps.csv")
    assert [int(r["step"]) for r in steps] == list(range(1, 17))
    total = [float(r["total"]) for r in steps]
    recon = [float(r["recon"]) for r in steps]
    assert all(math.isfinite(v) for v in total)
    assert sum(total[-4:]) / 4 < 0.95 * sum(total[:4]) / 4  # last epoch vs first epoch
    assert sum(recon[-4:]) / 4 < 0.95 * sum(recon[:4]) / 4
    assert {r["aug"] for r in steps} == {"light", "view"}  # LV draws both
    assert all(float(r["loocc"]) > 0 for r in steps)
    epochs = read_csv(run_dir / "epochs.csv")
    assert [int(r["epoch"]) for r in epochs] == [1, 2, 3, 4]
    assert float(epochs[-1]["best_val_loss"]) == pytest.approx(result.best_val_loss)
    assert result.best_val_loss == min(float(r["val_loss"]) for r in epochs)


def test_short_run_writes_checkpoints_and_figures(short_run) -> None:  # type: ignore[no-untyped-def]
    config, run_dir, result = short_run
    assert (run_dir / LAST_CHECKPOINT).is_file() and (run_dir / BEST_CHECKPOINT).is_file()
    assert (run_dir / "train_config.json").is_file()
    figures = sorted((run_dir / "figures").glob("*.png"))
    assert [f.name for f in figures] == [f"epoch_000{i}.png" for i in (1, 2, 3, 4)]
    with Image.open(figures[0]) as im:
        assert im.size == (4 * 66 + 2, 5 * 66 + 2)  # 4 images x 5 rows (input ... reconstruction)
    model, info = load_best_model(run_dir)
    assert info["epoch"] == result.best_epoch and info["val_loss"] == pytest.approx(result.best_val_loss)
    assert not model.training and model.config == config.model


def test_existing_run_is_not_overwritten_and_resume_checks_the_config(short_run, tiny_splits) -> None:  # type: ignore[no-untyped-def]
    config, run_dir, _ = short_run
    with pytest.raises(FileExistsError, match="--resume"):
        Trainer(config, run_dir, splits=tiny_splits, progress=False).fit()
    with pytest.raises(ResumeError, match=r"optim\.lr: 0\.001 != 0\.002"):
        Trainer(config.replace(optim=config.optim.__class__(lr=2e-3)), run_dir, splits=tiny_splits).fit(resume=True)
    # resuming a finished run does no more work
    again = Trainer(config, run_dir, splits=tiny_splits, progress=False).fit(resume=True)
    assert (again.epochs, again.steps, again.resumed_from) == (4, 16, 4)


def test_early_stopping_bookkeeping() -> None:
    es = EarlyStopping(patience=2, min_delta=0.1)
    assert es.update(1.0, 1) and not es.should_stop
    assert not es.update(0.95, 2)  # not better by more than min_delta
    assert es.update(0.8, 3) and es.bad_epochs == 0
    assert not es.update(0.9, 4) and not es.update(0.9, 5) and es.should_stop
    assert (es.best, es.best_epoch) == (0.8, 3)
    restored = EarlyStopping(patience=2)
    restored.load_state_dict(es.state_dict())
    assert restored == EarlyStopping(2, 0.0, 0.8, 3, 2)


def small(splits: Splits, n_train: int) -> Splits:
    return Splits(Subset(splits.train, range(n_train)), splits.val, splits.test)


def test_early_stopping_ends_the_run(tiny_splits, tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = build_preset("tiny").replace(max_epochs=10, patience=1, min_delta=1e9, figure_every=0)
    result = Trainer(config, tmp_path / "run", splits=small(tiny_splits, 8), progress=False).fit()
    assert result.stopped_early and (result.epochs, result.best_epoch) == (2, 1)


def test_non_finite_loss_stops_with_a_clear_error(tiny_splits, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    forward = TrainingObjective.forward

    def diverging(self, x, perturbation=None, shape_init_weight=0.0):  # type: ignore[no-untyped-def]
        terms = forward(self, x, perturbation, shape_init_weight)
        terms["total"] = terms["total"] * float("inf")
        return terms

    monkeypatch.setattr(TrainingObjective, "forward", diverging)
    with pytest.raises(FloatingPointError, match=r"epoch 1, step 1: non-finite loss"):
        Trainer(build_preset("tiny"), tmp_path / "run", splits=small(tiny_splits, 8), progress=False).fit()
    assert not (tmp_path / "run" / LAST_CHECKPOINT).exists()


def test_batch_checks(tiny_splits, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="divisible by the world size 3"):
        Trainer(build_preset("tiny"), tmp_path / "a", splits=tiny_splits, ctx=DistContext(rank=0, world_size=3))
    with pytest.raises(ValueError, match="no full global batch of 8"):
        Trainer(build_preset("tiny"), tmp_path / "b", splits=small(tiny_splits, 7), progress=False).fit()


@pytest.mark.slow
def test_cpu_scale_preset_learns(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """faces-synthetic-cpu with LOOCC-LV for 2 epochs (minutes): the losses fall, validation improves."""
    config = build_preset("faces-synthetic-cpu", "LV").replace(max_epochs=2)
    result = Trainer(config, tmp_path / "run", progress=False).fit()
    epochs = read_csv(tmp_path / "run" / "epochs.csv")
    assert float(epochs[1]["train_recon"]) < float(epochs[0]["train_recon"])
    assert float(epochs[1]["val_loss"]) < float(epochs[0]["val_loss"])
    assert result.best_epoch == 2


def test_bf16_fused_adam_steps_lower_the_loss(tiny_splits, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Networks in bfloat16 (the CPU presets' precision) with fused Adam, as the trainer builds them, learn a batch."""
    config = build_preset("tiny", "LV").replace(precision="bf16")
    config = config.replace(optim=config.optim.replace(adam_impl="fused"))
    trainer = Trainer(config, tmp_path / "run", splits=tiny_splits, progress=False)
    assert trainer.model.depth_net.compute_dtype == torch.bfloat16
    assert trainer.optimizer.defaults["fused"] is True
    x = to_network_range(collate_images([tiny_splits.train[i] for i in range(8)]))
    perturbation = sample_perturbation(config.loocc, 8, torch.Generator().manual_seed(0))
    losses = []
    for _ in range(12):
        terms = trainer.objective(x, perturbation)
        assert terms["total"].dtype == torch.float32
        trainer.optimizer.zero_grad(set_to_none=True)
        terms["total"].backward()
        trainer.optimizer.step()
        losses.append(float(terms["total"].detach()))
    assert all(math.isfinite(v) for v in losses)
    assert sum(losses[-3:]) / 3 < 0.9 * sum(losses[:3]) / 3
