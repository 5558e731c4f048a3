"""Training configuration: one documented dataclass per concern, composed into :class:`TrainConfig`.

A :class:`TrainConfig` fully defines a run (model, data, LOOCC, optimiser, schedule); it is stored
in every checkpoint, so a run resumes with exactly the settings it started with.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import torch

from physdis_hub.config import ModelConfig
from physdis_hub.configbase import ConfigBase
from physdis_hub.nets import PRECISIONS
from physdis_hub.vocab import DEVICES, Device, Variant

from .augment import AugmentConfig
from .data import DataConfig
from .loocc import LooccConfig
from .shape_init import ShapeInitConfig

ADAM_IMPLS: dict[str, dict[str, bool]] = {
    "auto": {},
    "for-loop": {"foreach": False},
    "foreach": {"foreach": True},
    "fused": {"fused": True},
}
"""Adam implementation name -> the ``torch.optim.Adam`` keywords that select it. ``"auto"`` is
torch's own choice (the per-tensor for-loop on CPU, ``foreach`` on CUDA); ``"fused"`` updates all
parameters in one kernel. All compute the same update up to float32 rounding, though rounding alone
can steer a run elsewhere; on the faces-synthetic-cpu CPU step none was measurably faster
(``results/2026-12-06-train-step-speed.md``)."""


@dataclass(frozen=True)
class OptimConfig(ConfigBase):
    """Adam settings. The paper's text says lr 1e-3; its public configs (and Unsup3d's) use 1e-4."""

    lr: float = 1e-4
    """Learning rate (constant; neither the paper nor Unsup3d uses a schedule)."""
    betas: tuple[float, float] = (0.9, 0.999)
    """Adam's moment decay rates."""
    weight_decay: float = 5e-4
    """L2 penalty added to the gradients (Unsup3d's and the paper code's Adam: 5e-4)."""
    adam_impl: str = "auto"
    """Which implementation of Adam runs the update: a key of :data:`ADAM_IMPLS` (``"auto"``,
    ``"for-loop"``, ``"foreach"``, ``"fused"``). Speed only: the update is the same up to rounding."""

    def adam(self, params: Iterable[Any]) -> torch.optim.Adam:
        """The configured Adam over ``params`` (an iterable of tensors or parameter groups)."""
        return torch.optim.Adam(
            params, lr=self.lr, betas=self.betas, weight_decay=self.weight_decay, **ADAM_IMPLS[self.adam_impl]
        )

    def __post_init__(self) -> None:
        if not self.lr > 0:
            raise ValueError(f"OptimConfig.lr: expected > 0, got {self.lr}")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ValueError(f"OptimConfig.betas: expected two values in [0, 1), got {self.betas}")
        if self.weight_decay < 0:
            raise ValueError(f"OptimConfig.weight_decay: expected >= 0, got {self.weight_decay}")
        if self.adam_impl not in ADAM_IMPLS:
            raise ValueError(f"OptimConfig.adam_impl: expected one of {list(ADAM_IMPLS)}, got {self.adam_impl!r}")


@dataclass(frozen=True)
class TrainConfig(ConfigBase):
    """Everything that defines one training run."""

    preset: str
    """Name of the preset this configuration came from (for logs and model cards)."""
    model: ModelConfig = field(default_factory=ModelConfig)
    """Architecture, scene ranges and reconstruction loss weights. Its ``variant`` is derived: it is
    set from ``loocc.variant``, the one place a run states its LOOCC variant."""
    data: DataConfig = field(default_factory=DataConfig)
    """Data set and split."""
    loocc: LooccConfig = field(default_factory=LooccConfig)
    """LOOCC variant and augmentation ranges (``model.variant`` follows ``loocc.variant``)."""
    optim: OptimConfig = field(default_factory=OptimConfig)
    """Optimiser."""
    batch_size: int = 64
    """Global batch size (split evenly across DDP ranks). Paper: 64 faces, 256 cars."""
    eval_batch_size: int = 64
    """Batch size of validation, figures and evaluation (per rank)."""
    max_epochs: int = 100
    """Upper bound on epochs; early stopping usually ends the run first."""
    patience: int = 10
    """Stop after this many epochs without a better validation loss (paper: 10)."""
    min_delta: float = 0.0
    """A validation loss counts as better only if it is lower than the best by more than this."""
    seed: int = 0
    """Seeds model init, the split, data order and LOOCC sampling."""
    checkpoint_every: int = 100
    """Also write ``last.ckpt`` every this many optimisation steps within an epoch (0: at epoch ends
    only; it is always written at epoch ends and on SIGINT / SIGTERM). A resume may change it."""
    figure_every: int = 1
    """Write a decomposition figure every this many epochs (0: never)."""
    figure_images: int = 8
    """Number of validation images in each figure."""
    device: Device = "auto"
    """``"auto"`` (CUDA if available), ``"cpu"`` or ``"cuda"``."""
    precision: str = "fp32"
    """What the networks compute in during training steps: ``"fp32"``, or ``"bf16"`` (their layers
    under ``torch.autocast`` in bfloat16; weights, gradients, Adam, the renderer and the losses stay
    float32; :func:`physdis_hub.nets.set_precision`). ``"bf16"`` changes the numbers a little (the
    first loss of the faces-synthetic-cpu step moves by 3e-4 relative) and pays off only where the
    hardware has bfloat16 arithmetic (AVX512-BF16 or AMX CPUs, recent GPUs; measured on an
    AVX512-BF16 CPU only). It holds for everything the :class:`~training.trainer.Trainer` runs
    (steps, validation, figures); the exported model, evaluation and every later use of the weights
    run in float32."""
    notes: str = ""
    """Free text shown at start and in model cards (e.g. where the preset departs from the paper)."""
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    """Photometric augmentation of training images (off unless the preset turns it on)."""
    shape_init: ShapeInitConfig = field(default_factory=ShapeInitConfig)
    """A convex start for the canonical depth (off unless the preset turns it on; see :mod:`training.shape_init`)."""
    init: str | None = None
    """Pretrained model whose weights every network starts from (a :func:`physdis_hub.load_pretrained`
    name such as ``"unsup3d-celeba"``; ``--init``, :mod:`training.init`); None: random initialisation.
    ``model`` must be that model's architecture."""
    perceptual_weights: str | None = None
    """VGG16 weights of the perceptual term (a local ``.safetensors`` file, ``"hf-hub:REPO"`` or
    ``"timm"``), needed when ``model.loss.lam_perc > 0``. A training-machine setting: it is kept
    with the run, never in the published model config."""

    def __post_init__(self) -> None:
        if self.model.variant != self.loocc.variant:  # frozen: set the derived field once, here
            object.__setattr__(self, "model", self.model.replace(variant=self.loocc.variant))
        for name in ("batch_size", "eval_batch_size", "max_epochs", "patience", "figure_images"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"TrainConfig.{name}: expected a positive int, got {value!r}")
        if self.loocc.enabled and self.batch_size < 2:
            raise ValueError(f"TrainConfig.batch_size: LOOCC needs >= 2 images per batch, got {self.batch_size}")
        if not isinstance(self.checkpoint_every, int) or self.checkpoint_every < 0:
            raise ValueError(f"TrainConfig.checkpoint_every: expected an int >= 0, got {self.checkpoint_every!r}")
        if self.figure_every < 0:
            raise ValueError(f"TrainConfig.figure_every: expected >= 0, got {self.figure_every}")
        if self.min_delta < 0:
            raise ValueError(f"TrainConfig.min_delta: expected >= 0, got {self.min_delta}")
        if self.model.loss.perceptual_on and not self.perceptual_weights:
            raise ValueError(
                f"TrainConfig.perceptual_weights: model.loss.lam_perc is {self.model.loss.lam_perc}, so VGG16 "
                "weights are needed (a local .safetensors file, 'hf-hub:REPO' or 'timm'); got none"
            )
        if self.precision not in PRECISIONS:
            raise ValueError(f"TrainConfig.precision: expected one of {list(PRECISIONS)}, got {self.precision!r}")
        if self.device not in DEVICES:
            raise ValueError(f"TrainConfig.device: expected one of {list(DEVICES)}, got {self.device!r}")

    @property
    def variant(self) -> Variant:
        """The LOOCC variant: ``"none"``, ``"L"`` or ``"LV"``."""
        return self.loocc.variant

    def with_variant(self, variant: Variant) -> TrainConfig:
        """A copy trained with another LOOCC variant (``model.variant`` follows)."""
        return dataclasses.replace(self, loocc=dataclasses.replace(self.loocc, variant=variant))
