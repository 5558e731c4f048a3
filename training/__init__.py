"""Training for physdis-hub: LOOCC, the trainer, presets, and the paper's experiments end to end.

Builds on :mod:`physdis_hub` (never the other way round).

- :mod:`training.loocc`: the Leave-One-Out, Cycle Contrastive loss (physical augmentation, cyclic
  encoding, leave-one-out NT-Xent).
- :mod:`training.trainer`: Adam, early stopping, atomic verified checkpoints, exact resume, DDP.
- :mod:`training.presets`: the paper's settings and CPU-scale / synthetic / test presets.
- ``python -m training.train``: one run (also under ``torchrun``); ``--init unsup3d-celeba`` starts
  it from a pretrained model (:mod:`training.init`).
- ``python -m training.reproduce faces|cars``: every LOOCC variant, evaluated, carded, exported.
- :mod:`training.analysis`: one-off analysis of trained models; :mod:`training.release`: maintainer
  tools (embedding a default, converting VGG16). The core above imports neither.

Example:
    >>> from training import Trainer, build_preset
    >>> result = Trainer(build_preset("tiny", "LV"), "runs/tiny-lv").fit()  # doctest: +SKIP
"""

from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .config import OptimConfig, TrainConfig
from .data import DataConfig, Splits, build_splits
from .evaluate import evaluate
from .loocc import LooccConfig, Perturbation, apply_perturbation, loocc_loss, sample_perturbation
from .objective import TrainingObjective
from .presets import PresetError, build_preset, get_preset, list_presets
from .trainer import FitResult, ResumeError, Trainer, load_best_model

__all__ = [
    "CheckpointError",
    "DataConfig",
    "FitResult",
    "LooccConfig",
    "OptimConfig",
    "Perturbation",
    "PresetError",
    "ResumeError",
    "Splits",
    "TrainConfig",
    "Trainer",
    "TrainingObjective",
    "apply_perturbation",
    "build_preset",
    "build_splits",
    "evaluate",
    "get_preset",
    "list_presets",
    "load_best_model",
    "load_checkpoint",
    "loocc_loss",
    "sample_perturbation",
    "save_checkpoint",
]
