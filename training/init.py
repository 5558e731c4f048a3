"""Training that starts from a pretrained model: ``python -m training.train --init unsup3d-celeba``.

The run's model is the pretrained one: its :class:`~physdis_hub.config.ModelConfig` (architecture,
scene ranges, render convention, loss weights) becomes the run's, and :class:`training.Trainer`
loads its weights into every network (depth, albedo, light, view and confidence) before the first
step, so at step 0 the model computes exactly what the pretrained one does. This is how Unsup3d's
released networks become the PDR paper's LOOCC models (``--variant L`` or ``LV``) in a fraction of a
from-scratch run: Unsup3d's CelebA model is the paper's no-LOOCC starting point.

The schedule is the paper's (Adam lr 1e-4, weight decay 5e-4, batch 64, patience 10), with the
perceptual term at the pretrained model's weight (the bundled VGG16 unless
``--perceptual-weights`` names another file).
"""

from __future__ import annotations

import dataclasses

from physdis_hub.config import ModelConfig
from physdis_hub.errors import CheckpointError
from physdis_hub.model import PhysDisModel

from .config import OptimConfig, TrainConfig
from .data import DataConfig
from .loocc import LooccConfig
from .perceptual import BUNDLED_VGG16
from .presets import PresetError

INIT_PRESET = "init"
""":attr:`TrainConfig.preset` of a run started with ``--init``."""
INIT_OPTIM = OptimConfig(lr=1e-4)
"""Optimiser of a run from pretrained weights: Adam at the public configs' lr 1e-4, as the paper-scale presets."""
INIT_EPOCHS = 30
"""Epoch budget of a run from pretrained weights (Unsup3d's CelebA schedule: 30 epochs)."""


def load_init(name: str) -> PhysDisModel:
    """The pretrained model ``name`` (fetched, or converted, on first use).

    Raises:
        PresetError: the name cannot be loaded (unknown, offline without a cached copy, ...), saying why.
    """
    from physdis_hub.hub import load_pretrained

    try:
        return load_pretrained(name)
    except (CheckpointError, LookupError, ValueError) as err:
        raise PresetError(f"--init {name}: {err}") from err


def load_initial_weights(model: PhysDisModel, name: str) -> None:
    """Copy every parameter and buffer of the pretrained model ``name`` into ``model`` (strict).

    Raises:
        PresetError: ``name`` cannot be loaded, or ``model`` has another architecture (names the keys).
    """
    state = load_init(name).state_dict()
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise PresetError(f"--init {name}: the run's model is not its architecture ({err})") from err


def init_config(
    name: str,
    variant: str,
    *,
    data: str,
    data_dir: str | None,
    perceptual_weights: str | None = None,
    batch_size: int = 64,
) -> TrainConfig:
    """A run that continues training the pretrained model ``name`` on the data set ``data``.

    Args:
        name: a :func:`physdis_hub.load_pretrained` name (``"unsup3d-celeba"``, ``"hf-hub:..."``, ...).
        variant: LOOCC variant (``"none"``, ``"L"``, ``"LV"``).
        data: a registered data set (:func:`physdis_hub.data.get_dataset`; ``"celeba"``, ...) with
            train / val / test splits.
        data_dir: its folder.
        perceptual_weights: VGG16 ``.safetensors`` for the perceptual term (default: the bundled one).
        batch_size: global batch size (paper: 64).

    Raises:
        PresetError: the model cannot be loaded, or the perceptual term has no weights.
    """
    model: ModelConfig = load_init(name).config
    weights = perceptual_weights
    if model.loss.perceptual_on and weights is None:
        if not BUNDLED_VGG16.is_file():
            raise PresetError(
                f"--init {name}: the model trains with a perceptual loss (lam_perc {model.loss.lam_perc:g}) and the "
                f"bundled VGG16 {BUNDLED_VGG16} is missing; pass --perceptual-weights FILE.safetensors"
            )
        weights = str(BUNDLED_VGG16)
    try:
        return TrainConfig(
            preset=INIT_PRESET,
            init=name,
            model=dataclasses.replace(model, training_data=f"{model.training_data}, then {data} (--init {name})"),
            data=DataConfig(dataset=data, root=data_dir),
            loocc=LooccConfig(variant=variant),  # type: ignore[arg-type]
            optim=INIT_OPTIM,
            batch_size=batch_size,
            max_epochs=INIT_EPOCHS,
            patience=10,
            perceptual_weights=weights,
            notes=f"started from {name}: every network holds its weights at step 0; paper schedule (lr 1e-4).",
        )
    except ValueError as err:
        raise PresetError(str(err)) from err
