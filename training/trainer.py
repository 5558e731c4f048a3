"""The training loop: Adam, early stopping, atomic checkpoints every epoch, exact resume, DDP-aware.

One epoch: shuffled global batches (``DistributedSampler``, seeded by ``(seed, epoch)``), LOOCC
offsets drawn for the whole global batch from a dedicated generator, one Adam step per batch; then
the validation loss (the reconstruction objective on the validation split, no LOOCC: it is random),
early stopping bookkeeping, ``best.ckpt`` when validation improved, ``last.ckpt`` always, a
decomposition figure. Rank 0 writes every file.

Resuming (``fit(resume=True)``) loads ``last.ckpt`` and restores the model, Adam's moments, every
random generator (Python, NumPy, torch, the LOOCC generator; the data order is a function of
``(seed, epoch)``), the step counter and the early-stopping state, then continues with the next
epoch: the result is bit-identical to an uninterrupted run on the same machine (tested on CPU).
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, DistributedSampler, Subset
from tqdm.auto import tqdm

from physdis_hub.errors import PhysdisError
from physdis_hub.model import PhysDisModel
from physdis_hub.nets import set_precision
from physdis_hub.vocab import to_network_range

from .augment import augment
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .config import TrainConfig
from .data import Splits, build_splits, collate_images, size
from .distributed import DistContext, all_reduce_sum, barrier, local_rows, resolve_device
from .figures import decomposition_grid, save_png
from .init import load_initial_weights
from .logs import MetricsLogger
from .loocc import sample_perturbation
from .objective import TrainingObjective
from .rng import capture_rng_state, restore_rng_state, seed_everything

LAST_CHECKPOINT = "last.ckpt"
"""Written at the end of every epoch: everything needed to resume."""
BEST_CHECKPOINT = "best.ckpt"
"""Written when the validation loss improves: the model weights of the best epoch."""
CONFIG_FILE = "train_config.json"
"""The run's :class:`TrainConfig`, for people (the checkpoints carry their own copy)."""
LOOCC_SEED_OFFSET = 1_000_003
"""The LOOCC generator is seeded with ``seed + LOOCC_SEED_OFFSET``, apart from the global generators."""
AUGMENT_SEED_OFFSET = 2_000_003
"""The augmentation generator of rank ``r`` is seeded with ``seed + AUGMENT_SEED_OFFSET + r``."""


class ResumeError(PhysdisError, ValueError):
    """A run cannot be resumed with the configuration given (it differs from the checkpoint's)."""


@dataclass
class EarlyStopping:
    """Patience bookkeeping on the validation loss.

    Attributes:
        patience: epochs without improvement before stopping.
        min_delta: improvement threshold.
        best: best validation loss so far.
        best_epoch: the (1-based) epoch that reached it; 0 before any.
        bad_epochs: epochs since then.
    """

    patience: int
    min_delta: float = 0.0
    best: float = math.inf
    best_epoch: int = 0
    bad_epochs: int = 0

    def update(self, value: float, epoch: int) -> bool:
        """Record an epoch's validation loss; True if it is a new best."""
        if value < self.best - self.min_delta:
            self.best, self.best_epoch, self.bad_epochs = value, epoch, 0
            return True
        self.bad_epochs += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.bad_epochs >= self.patience

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch, self.bad_epochs = float(state["best"]), int(state["best_epoch"]), int(state["bad_epochs"])


@dataclass
class FitResult:
    """What :meth:`Trainer.fit` returns.

    Attributes:
        run_dir: the run directory (checkpoints, CSV logs, figures).
        epochs: epochs completed in total (including those before a resume).
        steps: optimisation steps in total.
        best_epoch: epoch of the lowest validation loss.
        best_val_loss: that loss.
        stopped_early: True if patience ran out before ``max_epochs``.
        resumed_from: completed epochs of the checkpoint resumed from, or None.
    """

    run_dir: Path
    epochs: int
    steps: int
    best_epoch: int
    best_val_loss: float
    stopped_early: bool
    resumed_from: int | None


class Trainer:
    """Trains one :class:`TrainConfig` in ``run_dir``.

    Args:
        config: the run's configuration.
        run_dir: output directory (created).
        splits: train/val/test data sets; built from ``config.data`` when None.
        ctx: distributed context (:func:`training.distributed.init_distributed`); a world of one when None.
        progress: show tqdm progress bars (rank 0 only).
    """

    def __init__(
        self,
        config: TrainConfig,
        run_dir: str | Path,
        *,
        splits: Splits | None = None,
        ctx: DistContext | None = None,
        progress: bool = True,
    ) -> None:
        self.config = config
        self.run_dir = Path(run_dir)
        self.ctx = ctx or DistContext(device=resolve_device(config.device))
        if config.batch_size % self.ctx.world_size:
            raise ValueError(
                f"config.batch_size: the global batch {config.batch_size} must be divisible by the "
                f"world size {self.ctx.world_size}"
            )
        self.splits = splits if splits is not None else build_splits(config.data)
        self.progress = progress
        seed_everything(config.seed)
        self.model = PhysDisModel(config.model)
        if config.init is not None:
            load_initial_weights(self.model, config.init)
        self.model.to(self.ctx.device)
        self.objective = TrainingObjective(self.model, config.loocc, config.perceptual_weights,
                                           config.shape_init).to(self.ctx.device)  # fmt: skip
        set_precision(self.model, config.precision)
        self.optimizer = config.optim.adam(self.model.parameters())
        self.loocc_generator = torch.Generator().manual_seed(config.seed + LOOCC_SEED_OFFSET)
        # each rank augments its own images, so each draws its own stream
        self.augment_generator = torch.Generator().manual_seed(config.seed + AUGMENT_SEED_OFFSET + self.ctx.rank)
        self.early_stopping = EarlyStopping(config.patience, config.min_delta)
        self.epoch = 0
        self.step = 0

    # -- public ----------------------------------------------------------------------------------
    def fit(self, resume: bool = False) -> FitResult:
        """Train until early stopping or ``max_epochs``.

        Args:
            resume: continue from ``run_dir/last.ckpt`` (an error if it is missing or damaged). Without
                it, a run directory that already holds a checkpoint is an error (nothing is overwritten).
        """
        cfg, ctx = self.config, self.ctx
        last = self.run_dir / LAST_CHECKPOINT
        resumed_from = None
        if resume:
            self._restore(load_checkpoint(last, map_location=ctx.device))
            resumed_from = self.epoch
        elif last.exists():
            raise FileExistsError(
                f"run_dir: {self.run_dir} already holds {LAST_CHECKPOINT}; resume it (--resume) or choose another --out"
            )
        if ctx.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            (self.run_dir / CONFIG_FILE).write_text(_json(cfg.to_dict()))
        logger = MetricsLogger(
            self.run_dir, enabled=ctx.is_main, resume_step=self.step if resume else None,
            resume_epoch=self.epoch if resume else None,
        )  # fmt: skip
        self._say(self._banner(resumed_from))
        train_loader = self._train_loader()
        wrapped = self._wrap()
        stopped = self.early_stopping.should_stop
        try:
            while self.epoch < cfg.max_epochs and not stopped:
                self.epoch += 1
                t0 = time.perf_counter()
                train_means = self._train_epoch(wrapped, train_loader, logger)
                val = self._validate()
                improved = self.early_stopping.update(val, self.epoch)
                if ctx.is_main:  # logs first: last.ckpt commits the epoch, so nothing after it is lost
                    self._figure(logger)
                    logger.log_epoch(self.epoch, self.step, {
                        **{f"train_{k}": v for k, v in train_means.items()}, "val_loss": val,
                        "best_val_loss": self.early_stopping.best, "lr": cfg.optim.lr,
                        "seconds": round(time.perf_counter() - t0, 3),
                    })  # fmt: skip
                    if improved:
                        save_checkpoint(self._best_state(val), self.run_dir / BEST_CHECKPOINT)
                    save_checkpoint(self._state(), last)
                self._say(
                    f"epoch {self.epoch}: train {train_means['total']:.5f}  val {val:.5f}"
                    f"{'  (best)' if improved else ''}"
                )
                barrier(ctx)
                stopped = self.early_stopping.should_stop
        finally:
            logger.close()
        if stopped:
            self._say(f"early stopping: no improvement for {cfg.patience} epochs")
        return FitResult(
            self.run_dir, self.epoch, self.step, self.early_stopping.best_epoch, self.early_stopping.best,
            stopped, resumed_from,
        )

    # -- one epoch -------------------------------------------------------------------------------
    def _train_epoch(self, wrapped: torch.nn.Module, loader: DataLoader, logger: MetricsLogger) -> dict[str, float]:
        cfg, ctx = self.config, self.ctx
        loader.sampler.set_epoch(self.epoch)  # type: ignore[attr-defined]
        rows = local_rows(cfg.batch_size, ctx)
        self.model.train()
        sums: dict[str, float] = {}
        bar = tqdm(loader, desc=f"epoch {self.epoch}/{cfg.max_epochs}", leave=False, dynamic_ncols=True,
                   disable=not (self.progress and ctx.is_main), file=sys.stderr)  # fmt: skip
        for images in bar:
            if cfg.augment.enabled:
                images = augment(images, cfg.augment, self.augment_generator)
            x = to_network_range(images.to(ctx.device, non_blocking=True))
            perturbation = sample_perturbation(cfg.loocc, cfg.batch_size, self.loocc_generator)
            terms = wrapped(x, None if perturbation is None else perturbation.rows(rows),
                            cfg.shape_init.weight_at(self.step + 1))  # fmt: skip
            if not torch.isfinite(terms["total"]):
                values = {k: float(v.detach()) for k, v in terms.items()}
                raise FloatingPointError(
                    f"epoch {self.epoch}, step {self.step + 1}: non-finite loss {values}; the last good "
                    f"checkpoint is {self.run_dir / LAST_CHECKPOINT}"
                )
            self.optimizer.zero_grad(set_to_none=True)
            terms["total"].backward()
            self.optimizer.step()
            self.step += 1
            means = self._mean_over_ranks(terms)
            for k, v in means.items():
                sums[k] = sums.get(k, 0.0) + v
            logger.log_step(self.step, self.epoch, {**means, "aug": perturbation.kind if perturbation else ""})
            bar.set_postfix(loss=f"{means['total']:.4f}")
        bar.close()
        return {k: v / len(loader) for k, v in sums.items()}

    def _mean_over_ranks(self, terms: dict[str, torch.Tensor]) -> dict[str, float]:
        names = sorted(terms)
        values = torch.stack([terms[k].detach().float() for k in names])
        values = all_reduce_sum(values, self.ctx) / self.ctx.world_size
        return {k: float(v) for k, v in zip(names, values.cpu())}

    @torch.no_grad()
    def _validate(self) -> float:
        """Mean reconstruction objective over the validation split (sharded over ranks, all-reduced)."""
        ctx = self.ctx
        self.model.eval()
        shard = Subset(self.splits.val, range(ctx.rank, size(self.splits.val), ctx.world_size))
        total = torch.zeros(2, dtype=torch.float64)
        for images in self._eval_batches(shard):
            x = to_network_range(images.to(ctx.device))
            loss = self.objective.reconstruction(self.model(x), x)["total"]
            total += torch.tensor([float(loss) * x.shape[0], x.shape[0]], dtype=torch.float64)
        total = all_reduce_sum(total.to(ctx.device), ctx).cpu()
        self.model.train()
        if total[1] == 0:
            raise ValueError("splits.val: the validation split is empty")
        return float(total[0] / total[1])

    def _eval_batches(self, dataset: Any) -> Iterator[torch.Tensor]:
        return iter(DataLoader(dataset, batch_size=self.config.eval_batch_size, shuffle=False,
                               collate_fn=collate_images, num_workers=self.config.data.num_workers))  # fmt: skip

    def _figure(self, logger: MetricsLogger) -> None:
        cfg = self.config
        if not cfg.figure_every or self.epoch % cfg.figure_every:
            return
        n = min(cfg.figure_images, size(self.splits.val))
        images = collate_images([self.splits.val[i] for i in range(n)])
        self.model.eval()
        grid = decomposition_grid(self.model, images)
        self.model.train()
        save_png(grid, self.run_dir / "figures" / f"epoch_{self.epoch:04d}.png")
        logger.log_image("decomposition", grid, self.step)

    # -- set-up ----------------------------------------------------------------------------------
    def _train_loader(self) -> DataLoader:
        cfg, ctx = self.config, self.ctx
        sampler: DistributedSampler = DistributedSampler(
            self.splits.train, num_replicas=ctx.world_size, rank=ctx.rank, shuffle=True, seed=cfg.seed, drop_last=True
        )
        loader: DataLoader = DataLoader(
            self.splits.train, batch_size=cfg.batch_size // ctx.world_size, sampler=sampler, drop_last=True,
            collate_fn=collate_images, num_workers=cfg.data.num_workers, pin_memory=ctx.device.type == "cuda",
        )  # fmt: skip
        if len(loader) == 0:
            raise ValueError(
                f"splits.train: {size(self.splits.train)} images make no full global batch of {cfg.batch_size}"
            )
        return loader

    def _wrap(self) -> torch.nn.Module:
        if not self.ctx.distributed:
            return self.objective
        from torch.nn.parallel import DistributedDataParallel

        dev = self.ctx.device
        return DistributedDataParallel(
            self.objective, device_ids=[dev.index] if dev.type == "cuda" else None, broadcast_buffers=False
        )

    # -- checkpoints -----------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {
            "kind": "physdis-training-state",
            "epoch": self.epoch,
            "step": self.step,
            "config": self.config.to_dict(),
            "world_size": self.ctx.world_size,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "early_stopping": self.early_stopping.state_dict(),
            "rng": capture_rng_state(),
            "loocc_generator": self.loocc_generator.get_state(),
            "augment_generator": self.augment_generator.get_state(),
            "data_order": {"seed": self.config.seed, "epoch": self.epoch},
        }

    def _best_state(self, val_loss: float) -> dict[str, Any]:
        return {
            "kind": "physdis-best-model",
            "epoch": self.epoch,
            "val_loss": val_loss,
            "config": self.config.to_dict(),
            "model": self.model.state_dict(),
        }

    def _restore(self, state: dict[str, Any]) -> None:
        path = self.run_dir / LAST_CHECKPOINT
        if state.get("kind") != "physdis-training-state":
            raise CheckpointError(f"checkpoint {path}: not a training state (kind={state.get('kind')!r})")
        # The saved config is read as this version reads any config (older model formats migrated,
        # fields added since at their defaults), so a format upgrade alone never blocks a resume.
        # max_epochs may grow: resuming with a larger --epochs extends a finished run. notes is free
        # text that a newer preset may word differently (it names the epoch budget); it trains nothing.
        try:
            saved = TrainConfig.from_dict(state["config"]).to_dict()
        except (ValueError, TypeError) as err:
            raise ResumeError(f"resume: {path} holds a configuration this version cannot read ({err})") from err
        saved = {**saved, "max_epochs": self.config.max_epochs, "notes": self.config.notes}
        diff = config_diff(saved, self.config.to_dict())
        if diff:
            raise ResumeError(
                f"resume: the configuration differs from the one {path} was trained with: {diff}. "
                "Resume with the same settings (only --epochs may change), or start a new run in another directory."
            )
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.early_stopping.load_state_dict(state["early_stopping"])
        restore_rng_state(state["rng"])
        self.loocc_generator.set_state(state["loocc_generator"])
        self.augment_generator.set_state(state["augment_generator"])
        self.epoch, self.step = int(state["epoch"]), int(state["step"])

    # -- messages --------------------------------------------------------------------------------
    def _banner(self, resumed_from: int | None) -> str:
        cfg, ctx = self.config, self.ctx
        n_params = sum(p.numel() for p in self.model.parameters())
        lines = [
            f"preset {cfg.preset!r}, LOOCC variant {cfg.variant!r}, {n_params:,} parameters, "
            f"device {ctx.device}, world size {ctx.world_size}",
            f"data {cfg.data.dataset!r}: {size(self.splits.train)} train / {size(self.splits.val)} val / "
            f"{size(self.splits.test)} test images; global batch {cfg.batch_size}, lr {cfg.optim.lr:g}",
        ]
        if resumed_from is not None:
            lines.append(f"resuming after epoch {resumed_from} (step {self.step})")
        if cfg.notes:
            lines.append(f"note: {cfg.notes}")
        return "\n".join(lines)

    def _say(self, message: str) -> None:
        if self.ctx.is_main:
            tqdm.write(message, file=sys.stderr)


def config_diff(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two nested config dicts, as ``"key: a != b"``."""
    out: list[str] = []
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key), b.get(key)
        if isinstance(va, dict) and isinstance(vb, dict):
            out += config_diff(va, vb, f"{prefix}{key}.")
        elif va != vb:
            out.append(f"{prefix}{key}: {va!r} != {vb!r}")
    return out


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def load_best_model(run_dir: str | Path, map_location: str | torch.device = "cpu") -> tuple[PhysDisModel, dict[str, Any]]:
    """The model of the best epoch of a run, in eval mode, with ``{"epoch", "val_loss", "config"}``.

    Raises:
        CheckpointError: ``best.ckpt`` is missing or damaged.
    """
    state = load_checkpoint(Path(run_dir) / BEST_CHECKPOINT, map_location=map_location)
    if state.get("kind") != "physdis-best-model":
        raise CheckpointError(f"checkpoint {Path(run_dir) / BEST_CHECKPOINT}: not a best-model file")
    config = TrainConfig.from_dict(state["config"])
    model = PhysDisModel(config.model)
    model.load_state_dict(state["model"])
    return model.to(map_location).eval(), {"epoch": state["epoch"], "val_loss": state["val_loss"], "config": config}
