"""The training loop: Adam, early stopping, atomic checkpoints, exact resume, Ctrl-C safe, DDP-aware.

One epoch: shuffled global batches (``DistributedSampler``, seeded by ``(seed, epoch)``), LOOCC
offsets drawn for the whole global batch from a dedicated generator, one Adam step per batch; then
the validation loss (the reconstruction objective on the validation split, no LOOCC: it is random),
early stopping bookkeeping, ``best.ckpt`` when validation improved, ``last.ckpt`` always, a
decomposition figure. Rank 0 writes every file. Within an epoch, ``last.ckpt`` is also written every
``config.checkpoint_every`` steps, and when the process receives SIGINT (Ctrl-C) or SIGTERM: the
step under way finishes, the state is saved, and :meth:`Trainer.fit` raises
:class:`TrainingInterrupted` (``python -m training.train`` prints one line and exits with 130).

Resuming (``fit(resume=True)``) loads ``last.ckpt`` and restores the model, Adam's moments, every
random generator (Python, NumPy, torch, the LOOCC and augmentation generators; the data order is a
function of ``(seed, epoch)``), the step counter, the early-stopping state and, for a checkpoint
written mid-epoch, the batches of that epoch already trained and their loss sums; it then continues
with the next batch: the result is bit-identical to an uninterrupted run on the same machine
(tested on CPU, after SIGKILL at an epoch end and after SIGINT mid-epoch).
"""

from __future__ import annotations

import itertools
import json
import math
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, DistributedSampler, Sampler, Subset
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
"""Written at the end of every epoch, every ``checkpoint_every`` steps and on SIGINT / SIGTERM:
everything needed to resume."""
BEST_CHECKPOINT = "best.ckpt"
"""Written when the validation loss improves: the model weights of the best epoch."""
CONFIG_FILE = "train_config.json"
"""The run's :class:`TrainConfig`, for people (the checkpoints carry their own copy)."""
LOOCC_SEED_OFFSET = 1_000_003
"""The LOOCC generator is seeded with ``seed + LOOCC_SEED_OFFSET``, apart from the global generators."""
AUGMENT_SEED_OFFSET = 2_000_003
"""The augmentation generator of rank ``r`` is seeded with ``seed + AUGMENT_SEED_OFFSET + r``."""


INTERRUPT_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""Signals that stop a run after the current step, with its state saved."""


def ignore_interrupts(worker_id: int) -> None:
    """``worker_init_fn`` of the trainer's data loaders: Ctrl-C reaches every process of the terminal's
    group, and a worker that died of it would fail the batch the main process still needs; the main
    process alone decides when to stop (after the current step, with the state saved)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class ResumeError(PhysdisError, ValueError):
    """A run cannot be resumed with the configuration given (it differs from the checkpoint's)."""


class TrainingInterrupted(Exception):
    """:meth:`Trainer.fit` stopped on SIGINT or SIGTERM after saving its state to ``checkpoint``.

    Attributes:
        signal_name: ``"SIGINT"`` or ``"SIGTERM"``.
        checkpoint: the ``last.ckpt`` written; ``fit(resume=True)`` continues from it.
        step: optimisation steps completed.
    """

    def __init__(self, signal_name: str, checkpoint: Path, epoch: int, step: int) -> None:
        super().__init__(
            f"{signal_name}: stopped at epoch {epoch}, step {step}; saved {checkpoint} (continue with --resume)"
        )
        self.signal_name, self.checkpoint, self.step = signal_name, checkpoint, step


class SkippingSampler(Sampler[int]):
    """A :class:`DistributedSampler` whose first ``skip`` indices of the next epoch are left out: how a
    resumed run starts mid-epoch without loading the batches it has already trained on.

    Args:
        inner: the sampler of the full epoch (its order is a function of ``(seed, epoch)``).
    """

    def __init__(self, inner: DistributedSampler) -> None:
        self.inner = inner
        self.skip = 0

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        """Order of ``epoch``, without its first ``skip`` indices (of this rank)."""
        self.inner.set_epoch(epoch)
        self.skip = skip

    def __iter__(self) -> Iterator[int]:
        return itertools.islice(iter(self.inner), self.skip, None)

    def __len__(self) -> int:
        return max(len(self.inner) - self.skip, 0)


@dataclass
class EpochProgress:
    """The part of an epoch already trained: what a mid-epoch checkpoint adds to an epoch-end one.

    Attributes:
        batches: global batches of the epoch trained (0: the epoch has not started).
        sums: per-term loss sums over those batches (the epoch's means divide them by all batches).
    """

    batches: int = 0
    sums: dict[str, float] = field(default_factory=dict)

    def state_dict(self) -> dict[str, Any]:
        return {"batches": self.batches, "sums": dict(self.sums)}

    @classmethod
    def from_state(cls, state: dict[str, Any] | None) -> EpochProgress:
        """From :meth:`state_dict`; None (a checkpoint written before mid-epoch saves) is an epoch end."""
        state = state or {}
        return cls(int(state.get("batches", 0)), {k: float(v) for k, v in state.get("sums", {}).items()})


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
        self.best, self.best_epoch, self.bad_epochs = (
            float(state["best"]),
            int(state["best_epoch"]),
            int(state["bad_epochs"]),
        )


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
        self.progress = progress
        if splits is None:  # rank 0 renders an uncached synthetic set first; the others then read its cache
            if not self.ctx.is_main:
                barrier(self.ctx)
            splits = build_splits(config.data, progress=progress and self.ctx.is_main)
            if self.ctx.is_main:
                barrier(self.ctx)
        self.splits = splits
        seed_everything(config.seed)
        self.model = PhysDisModel(config.model)
        if config.init is not None:
            load_initial_weights(self.model, config.init)
        self.model.to(self.ctx.device)
        self.objective = TrainingObjective(self.model, config.loocc, config.perceptual_weights, config.shape_init).to(
            self.ctx.device
        )
        set_precision(self.model, config.precision)
        self.optimizer = config.optim.adam(self.model.parameters())
        self.loocc_generator = torch.Generator().manual_seed(config.seed + LOOCC_SEED_OFFSET)
        # each rank augments its own images, so each draws its own stream
        self.augment_generator = torch.Generator().manual_seed(config.seed + AUGMENT_SEED_OFFSET + self.ctx.rank)
        self.early_stopping = EarlyStopping(config.patience, config.min_delta)
        self.epoch = 0
        self.step = 0
        self._resume_progress = EpochProgress()  # of the epoch after self.epoch, from a mid-epoch checkpoint
        self._resume_rng: dict[str, Any] | None = None  # re-applied once that epoch's data iterator exists
        self._signal: str | None = None  # name of the interrupting signal, set by the handler

    # -- public ----------------------------------------------------------------------------------
    def fit(self, resume: bool = False) -> FitResult:
        """Train until early stopping or ``max_epochs``.

        Args:
            resume: continue from ``run_dir/last.ckpt`` (an error if it is missing or damaged). Without
                it, a run directory that already holds a checkpoint is an error (nothing is overwritten).

        Raises:
            TrainingInterrupted: SIGINT or SIGTERM arrived (handled while ``fit`` runs in the main
                thread); the state after the last finished step is in ``last.ckpt``.
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
            self.run_dir,
            enabled=ctx.is_main,
            resume_step=self.step if resume else None,
            resume_epoch=self.epoch if resume else None,
        )
        self._say(self._banner(resumed_from))
        train_loader = self._train_loader()
        wrapped = self._wrap()
        stopped = self.early_stopping.should_stop
        previous_handlers = self._catch_signals()
        try:
            while self.epoch < cfg.max_epochs and not stopped:
                self.epoch += 1
                t0 = time.perf_counter()
                train_means = self._train_epoch(wrapped, train_loader, logger)
                val = self._validate()
                improved = self.early_stopping.update(val, self.epoch)
                augment_states = self._augment_states()
                if ctx.is_main:  # logs first: last.ckpt commits the epoch, so nothing after it is lost
                    self._figure(logger)
                    logger.log_epoch(
                        self.epoch,
                        self.step,
                        {
                            **{f"train_{k}": v for k, v in train_means.items()},
                            "val_loss": val,
                            "best_val_loss": self.early_stopping.best,
                            "lr": cfg.optim.lr,
                            "seconds": round(time.perf_counter() - t0, 3),
                        },
                    )
                    if improved:
                        save_checkpoint(self._best_state(val), self.run_dir / BEST_CHECKPOINT)
                    save_checkpoint(self._state(augment_states), last)
                self._say(
                    f"epoch {self.epoch}: train {train_means['total']:.5f}  val {val:.5f}"
                    f"{'  (best)' if improved else ''}"
                )
                barrier(ctx)
                stopped = self.early_stopping.should_stop
                interrupted = self._interrupted()
                if interrupted:  # arrived during validation or saving: the epoch is saved, stop here
                    raise TrainingInterrupted(interrupted, last, self.epoch, self.step)
        finally:
            for sig, handler in previous_handlers.items():
                signal.signal(sig, handler)
            logger.close()
        if stopped:
            self._say(f"early stopping: no improvement for {cfg.patience} epochs")
        return FitResult(
            self.run_dir,
            self.epoch,
            self.step,
            self.early_stopping.best_epoch,
            self.early_stopping.best,
            stopped,
            resumed_from,
        )

    # -- one epoch -------------------------------------------------------------------------------
    def _train_epoch(self, wrapped: torch.nn.Module, loader: DataLoader, logger: MetricsLogger) -> dict[str, float]:
        cfg, ctx = self.config, self.ctx
        progress, self._resume_progress = self._resume_progress, EpochProgress()
        sampler: SkippingSampler = loader.sampler  # type: ignore[assignment]
        sampler.set_epoch(self.epoch, skip=progress.batches * (cfg.batch_size // ctx.world_size))
        total = progress.batches + len(loader)
        rows = local_rows(cfg.batch_size, ctx)
        self.model.train()
        batches = iter(loader)  # draws the loader's base seed from the global generator
        if self._resume_rng is not None:  # a mid-epoch checkpoint holds the generators after that draw
            restore_rng_state(self._resume_rng)
            self._resume_rng = None
        bar = tqdm(
            batches,
            desc=f"epoch {self.epoch}/{cfg.max_epochs}",
            leave=False,
            dynamic_ncols=True,
            total=total,
            initial=progress.batches,
            disable=not (self.progress and ctx.is_main),
            file=sys.stderr,
        )
        for images in bar:
            if cfg.augment.enabled:
                images = augment(images, cfg.augment, self.augment_generator)
            x = to_network_range(images.to(ctx.device, non_blocking=True))
            perturbation = sample_perturbation(cfg.loocc, cfg.batch_size, self.loocc_generator)
            terms = wrapped(
                x, None if perturbation is None else perturbation.rows(rows), cfg.shape_init.weight_at(self.step + 1)
            )
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
            progress.batches += 1
            for k, v in means.items():
                progress.sums[k] = progress.sums.get(k, 0.0) + v
            logger.log_step(self.step, self.epoch, {**means, "aug": perturbation.kind if perturbation else ""})
            bar.set_postfix(loss=f"{means['total']:.4f}")
            interrupted = self._interrupted()
            if interrupted or (
                cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0 and progress.batches < total
            ):
                self._save_mid_epoch(progress)
            if interrupted:
                bar.close()
                raise TrainingInterrupted(interrupted, self.run_dir / LAST_CHECKPOINT, self.epoch, self.step)
        bar.close()
        return {k: v / total for k, v in progress.sums.items()}

    def _save_mid_epoch(self, progress: EpochProgress) -> None:
        """``last.ckpt`` with the epoch under way; every rank waits until rank 0 has written it."""
        augment_states = self._augment_states()
        if self.ctx.is_main:
            save_checkpoint(self._state(augment_states, progress), self.run_dir / LAST_CHECKPOINT)
        barrier(self.ctx)

    # -- signals ---------------------------------------------------------------------------------
    def _catch_signals(self) -> dict[int, Any]:
        """Route SIGINT / SIGTERM to a flag checked after every step; the previous handlers, to restore.
        Only the main thread may set handlers: elsewhere (e.g. a notebook's worker thread) nothing changes."""
        self._signal = None
        if threading.current_thread() is not threading.main_thread():
            return {}

        def note(signum: int, frame: Any) -> None:
            self._signal = signal.Signals(signum).name

        previous = {sig: signal.getsignal(sig) for sig in INTERRUPT_SIGNALS}
        for sig in INTERRUPT_SIGNALS:
            signal.signal(sig, note)
        return previous

    def _interrupted(self) -> str | None:
        """The signal's name if any rank has received one (all ranks stop at the same step), else None."""
        if not self.ctx.distributed:
            return self._signal
        flag = torch.tensor([1.0 if self._signal else 0.0], device=self.ctx.device)
        if float(all_reduce_sum(flag, self.ctx)) == 0:
            return None
        return self._signal or "SIGTERM"  # a rank that received nothing itself stops with the others

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
        return iter(
            DataLoader(
                dataset,
                batch_size=self.config.eval_batch_size,
                shuffle=False,
                collate_fn=collate_images,
                num_workers=self.config.data.num_workers,
                worker_init_fn=ignore_interrupts,
            )
        )

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
        sampler = SkippingSampler(
            DistributedSampler(
                self.splits.train,
                num_replicas=ctx.world_size,
                rank=ctx.rank,
                shuffle=True,
                seed=cfg.seed,
                drop_last=True,
            )
        )
        loader: DataLoader = DataLoader(
            self.splits.train,
            batch_size=cfg.batch_size // ctx.world_size,
            sampler=sampler,
            drop_last=True,
            collate_fn=collate_images,
            num_workers=cfg.data.num_workers,
            pin_memory=ctx.device.type == "cuda",
            worker_init_fn=ignore_interrupts,
        )
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
    def _augment_states(self) -> torch.Tensor:
        """``(world_size, n)`` uint8: every rank's augmentation generator state, row ``r`` of rank ``r``
        (each rank draws its own stream); a collective, so every rank calls it."""
        own = self.augment_generator.get_state()
        rows = torch.zeros(self.ctx.world_size, own.numel(), dtype=torch.int64)
        rows[self.ctx.rank] = own.long()
        return all_reduce_sum(rows.to(self.ctx.device), self.ctx).cpu().to(torch.uint8)

    def _state(self, augment_states: torch.Tensor, progress: EpochProgress | None = None) -> dict[str, Any]:
        """Everything a resume needs; ``augment_states``: :meth:`_augment_states`; ``progress``: the
        epoch under way (None: ``self.epoch`` is complete)."""
        progress = progress or EpochProgress()
        return {
            "kind": "physdis-training-state",
            "epoch": self.epoch - 1 if progress.batches else self.epoch,
            "epoch_progress": progress.state_dict(),
            "step": self.step,
            "config": self.config.to_dict(),
            "world_size": self.ctx.world_size,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "early_stopping": self.early_stopping.state_dict(),
            "rng": capture_rng_state(),
            "loocc_generator": self.loocc_generator.get_state(),
            "augment_generators": augment_states,
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
        # The saved config is read as this version reads any config (training fields added since at
        # their defaults; a model config of an unpublished older format is refused with how to re-export).
        # max_epochs may grow: resuming with a larger --epochs extends a finished run. notes is free
        # text that a newer preset may word differently (it names the epoch budget); it trains nothing.
        try:
            saved = TrainConfig.from_dict(state["config"]).to_dict()
        except (ValueError, TypeError) as err:
            raise ResumeError(f"resume: {path} holds a configuration this version cannot read ({err})") from err
        # checkpoint_every only says how often the state is saved.
        saved = {
            **saved,
            "max_epochs": self.config.max_epochs,
            "notes": self.config.notes,
            "checkpoint_every": self.config.checkpoint_every,
        }
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
        # each rank its own augmentation stream; a checkpoint written before they were all kept holds
        # rank 0's; with another world size the data is dealt otherwise anyway, and each rank keeps
        # its freshly seeded stream
        states = state.get("augment_generators")
        if states is None:
            self.augment_generator.set_state(state["augment_generator"])
        elif len(states) == self.ctx.world_size:
            self.augment_generator.set_state(states[self.ctx.rank].clone())
        self.epoch, self.step = int(state["epoch"]), int(state["step"])
        self._resume_progress = EpochProgress.from_state(state.get("epoch_progress"))
        if self._resume_progress.batches:
            self._resume_rng = state["rng"]

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
        if resumed_from is not None and self._resume_progress.batches:
            lines.append(
                f"resuming epoch {resumed_from + 1} after its batch {self._resume_progress.batches} (step {self.step})"
            )
        elif resumed_from is not None:
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


def load_best_model(
    run_dir: str | Path, map_location: str | torch.device = "cpu"
) -> tuple[PhysDisModel, dict[str, Any]]:
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
