"""Training presets: each one complete :class:`~training.config.TrainConfig`, written out below.

Every preset is one literal configuration, read top to bottom like a method config of nerfstudio:
model (the category's paper profile from :mod:`physdis_hub.categories` at paper or CPU widths, and
the loss weights the preset changes), data, augmentation, LOOCC, optimiser and schedule. Fields not
written take their dataclass defaults. :func:`build_preset` changes only what the command line asks
for, by the same rules for every preset:

- the LOOCC variant (default :attr:`Preset.variant`; with ``none``, nothing is perturbed, so the
  cycle term is off too);
- the data folder (``--data-dir``: a real data set, or the cache folder of a synthetic one);
- the VGG16 weights of the perceptual term: paper-scale presets train with it (the weights that ship
  with the repository, :data:`training.perceptual.BUNDLED_VGG16`, unless given others); CPU-scale
  presets without it (it makes a CPU step :data:`PERCEPTUAL_CPU_COST` slower) unless given weights,
  and then at the category's paper weight.

``python -m training.train --preset P --print-config`` prints the result; the resolved configuration
of every preset is committed in ``tests/training/fixtures/presets/``. :attr:`Preset.timing` is the
measured time per step and per run. Learning rate: 1e-4 as in the public configs (the paper's text
says 1e-3; pass ``--lr 1e-3`` to follow it). Every preset follows the paper's text for LOOCC;
``loocc_style="code"`` (:func:`authors_code`, ``--loocc-style code``) trains it as the authors' public
code does (docs/loocc.md).
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from physdis_hub.categories import CATEGORIES
from physdis_hub.config import NetConfig
from physdis_hub.data.registry import DATA_ROOT_ENV
from physdis_hub.errors import PhysdisError, lookup
from physdis_hub.vocab import Variant

from .augment import PHOTO_LIKE
from .config import OptimConfig, TrainConfig
from .data import DataConfig
from .loocc import STYLES, VARIANTS, LooccConfig
from .perceptual import BUNDLED_VGG16
from .shape_init import ShapeInitConfig


class PresetError(PhysdisError, ValueError):
    """A preset cannot be built as asked (unknown name, missing data directory or weights)."""


@dataclass(frozen=True)
class Preset:
    """A named recipe: one complete configuration and how the command line may change it."""

    name: str
    """Preset name."""
    description: str
    """One line for ``--help`` and listings."""
    config: TrainConfig
    """The configuration, at :attr:`variant`, without a data folder and (CPU scale) without the
    perceptual term."""
    perceptual: Literal["paper", "optional"]
    """``"paper"``: trains with the VGG16 perceptual term (bundled weights unless others are given);
    ``"optional"``: without it unless ``perceptual_weights`` are given."""
    variant: Variant = "LV"
    """The LOOCC variant trained unless another is asked for: LV, the paper's full method and the
    variant of the shipped faces model (``faces-loocc-lv``); ``none`` for ``tiny`` (fast tests)."""

    @property
    def category(self) -> str:
        """``"faces"`` or ``"cars"``."""
        return self.config.model.category

    @property
    def needs_data_dir(self) -> bool:
        """True for real data sets, which must be downloaded first."""
        return not self.config.data.dataset.startswith("synthetic-")

    @property
    def timing(self) -> PresetTiming | None:
        """The measured time per step and per run (:data:`TIMINGS_FILE`), or None where not measured."""
        return PRESET_TIMINGS.get(self.name)


@dataclass(frozen=True)
class PresetTiming:
    """Time of one optimisation step of a preset, measured by ``benchmarks/bench_presets.py``, and the
    run's training time that follows from it (validation, figures and data rendering not included)."""

    seconds_per_step: float
    """Median seconds per step (forward, losses, backward, Adam) at the preset's batch size."""
    steps_per_epoch: int
    """Optimisation steps of one epoch (training images // batch size)."""
    max_epochs: int
    """The preset's epoch budget (early stopping may end a run sooner)."""
    threads: int
    """CPU threads the step was timed on."""
    machine: str
    """Where it was measured."""
    command: str
    """The command that measured it."""

    @property
    def hours_per_run(self) -> float:
        """``seconds_per_step * steps_per_epoch * max_epochs`` in hours."""
        return self.seconds_per_step * self.steps_per_epoch * self.max_epochs / 3600


TIMINGS_FILE = Path(__file__).with_name("preset_timings.json")
"""Measured step times by preset name (written by ``benchmarks/bench_presets.py --write``)."""
PRESET_TIMINGS: dict[str, PresetTiming] = {
    name: PresetTiming(**fields) for name, fields in json.loads(TIMINGS_FILE.read_text()).items()
}
"""The measured :class:`PresetTiming` of each preset that has one."""
PERCEPTUAL_CPU_COST = "3.9-4.7x"
"""Measured cost of the perceptual term on a CPU step of the faces-synthetic-cpu model (README, Benchmarks)."""

FACES, CARS = CATEGORIES["faces"], CATEGORIES["cars"]
NO_PERCEPTUAL = {
    "faces": dataclasses.replace(FACES.loss, lam_perc=0.0),
    "cars": dataclasses.replace(CARS.loss, lam_perc=0.0),
}
"""The categories' paper loss weights without the perceptual term: the CPU-scale presets' start."""

# -- the presets -------------------------------------------------------------------------------
# CPU scale: nf 16 networks (128-d features), batch 32, lr 5e-4 (a few epochs only, so a larger step
# than the paper's), patience 3. Synthetic sets keep 60 test identities x 20 images, so that the
# linear probe's 1000-label budget fits in the test split; their options name the generator settings
# (and so the cache folder, training.data.synthetic_cache_root).
# The literal keeps a config file's layout (one preset a block, short fields on one line): fmt: skip.

PRESETS: dict[str, Preset] = {p.name: p for p in [
    Preset("faces", "paper: UTKFace 80/10/10, batch 64, VGG16 perceptual loss", perceptual="paper", config=TrainConfig(
        preset="faces",
        model=FACES.model_config("paper", training_data=FACES.training_data, license=FACES.data_license),
        data=DataConfig(dataset="utkface", options={"split_seed": 0}),  # the data package's seeded split
        loocc=LooccConfig(variant="LV"),
        optim=OptimConfig(lr=1e-4),
        batch_size=64, max_epochs=200, patience=10,
        perceptual_weights=str(BUNDLED_VGG16),
        notes="paper settings (lr 1e-4 of the public configs; the text says 1e-3).",
    )),
    Preset("cars", "paper: ShapeNet syncar, batch 256, VGG16 perceptual loss", perceptual="paper", config=TrainConfig(
        preset="cars",
        model=CARS.model_config("paper", training_data=CARS.training_data, license=CARS.data_license),
        data=DataConfig(dataset="syncar"),  # its released 28k / 7k / 7k folders
        loocc=LooccConfig(variant="LV"),
        optim=OptimConfig(lr=1e-4),
        batch_size=256, max_epochs=200, patience=10,
        perceptual_weights=str(BUNDLED_VGG16),
        notes="paper settings (lr 1e-4 of the public configs; the text says 1e-3).",
    )),
    Preset("faces-cpu", "UTKFace subset, narrow nets, CPU scale", perceptual="optional", config=TrainConfig(
        preset="faces-cpu",
        model=FACES.model_config("cpu", loss=NO_PERCEPTUAL["faces"], training_data=f"{FACES.training_data}, 2000 images",
                                 license=FACES.data_license),
        data=DataConfig(dataset="utkface", options={"split_seed": 0}, max_images=(1600, 200, 200)),
        loocc=LooccConfig(variant="LV"),
        optim=OptimConfig(lr=5e-4),
        precision="bf16",  # networks in bfloat16: 1.25-1.39x per CPU step (results/2026-12-06-train-step-speed.md)
        batch_size=32, max_epochs=6, patience=3,
        notes="CPU scale: nf 16 networks (128-d features), 1600 training images, 6 epochs, lr 0.0005.",
    )),
    Preset("cars-cpu", "syncar subset, narrow nets, CPU scale", perceptual="optional", config=TrainConfig(
        preset="cars-cpu",
        model=CARS.model_config("cpu", loss=NO_PERCEPTUAL["cars"], training_data=f"{CARS.training_data}, 2000 images",
                                license=CARS.data_license),
        data=DataConfig(dataset="syncar", max_images=(1600, 200, 200)),
        loocc=LooccConfig(variant="LV"),
        optim=OptimConfig(lr=5e-4),
        precision="bf16",  # networks in bfloat16: 1.25-1.39x per CPU step (results/2026-12-06-train-step-speed.md)
        batch_size=32, max_epochs=6, patience=3,
        notes="CPU scale: nf 16 networks (128-d features), 1600 training images, 6 epochs, lr 0.0005.",
    )),
    Preset("faces-synthetic", "synthetic faces, paper widths and schedule", perceptual="paper", config=TrainConfig(
        preset="faces-synthetic",
        model=FACES.model_config("paper", training_data="physdis-hub synthetic faces", license="mit"),
        # textured backdrops (photographs have cluttered backgrounds) and photometric augmentation:
        # what makes a synthetic-trained model meet photographs
        data=DataConfig(dataset="synthetic-faces", options={
            "train_identities": 500, "val_identities": 50, "test_identities": 100, "images_per_identity": 20,
            "background_texture": 0.6}),
        augment=PHOTO_LIKE,
        loocc=LooccConfig(variant="LV"),
        optim=OptimConfig(lr=1e-4),
        batch_size=64, max_epochs=200, patience=10,
        perceptual_weights=str(BUNDLED_VGG16),
        notes="paper widths and schedule on synthetic data.",
    )),
    Preset("cars-synthetic", "synthetic cars, paper widths and schedule", perceptual="paper", config=TrainConfig(
        preset="cars-synthetic",
        model=CARS.model_config("paper", training_data="physdis-hub synthetic cars", license="mit"),
        data=DataConfig(dataset="synthetic-cars", options={
            "train_identities": 500, "val_identities": 50, "test_identities": 100, "images_per_identity": 20}),
        loocc=LooccConfig(variant="LV"),
        optim=OptimConfig(lr=1e-4),
        batch_size=256, max_epochs=200, patience=10,
        perceptual_weights=str(BUNDLED_VGG16),
        notes="paper widths and schedule on synthetic data.",
    )),
    # The budget of the shipped faces checkpoint (faces-loocc-lv): 20 epochs = 5,000 steps; at 2,000
    # steps its SIDE was 0.80x the null depth, at 5,000 0.68x.
    Preset("faces-synthetic-cpu", "synthetic faces, narrow nets, CPU scale", perceptual="optional", config=TrainConfig(
        preset="faces-synthetic-cpu",
        # the normal-smoothness depth prior (physdis_hub.losses.normal_smoothness; not in the paper)
        model=FACES.model_config("cpu", loss=dataclasses.replace(NO_PERCEPTUAL["faces"], lam_normal_smooth=1.0),
                                 training_data="physdis-hub synthetic faces", license="mit"),
        data=DataConfig(dataset="synthetic-faces", options={
            "train_identities": 400, "val_identities": 15, "test_identities": 60, "images_per_identity": 20,
            "background_texture": 0.6}),
        augment=PHOTO_LIKE,
        # the convex start (training.shape_init): the depth pulled towards an ellipsoid over the first
        # 200 steps, with a weight falling from 10 to 0
        shape_init=ShapeInitConfig(steps=200, weight=10.0),
        # the LOOCC cycle term (training.loocc.cycle_loss, not in the paper): on faces (LV, one seed,
        # 1,250 steps) it raised the light x slope from 0.63 to 0.86 and lowered SIDE / null from 0.99
        # to 0.86 (results/); unmeasured on cars and at paper scale, so off there
        loocc=LooccConfig(variant="LV", cycle_weight=1.0),
        optim=OptimConfig(lr=5e-4),
        precision="bf16",  # networks in bfloat16: 1.25-1.39x per CPU step (results/2026-12-06-train-step-speed.md)
        batch_size=32, max_epochs=20, patience=3,
        notes="CPU scale: nf 16 networks (128-d features), 400 training identities x 20 images, 20 epochs, lr 0.0005.",
    )),
    # No normal-smoothness prior on cars: with it, no-LOOCC cars flattened (relief 0.12x the truth's,
    # SIDE 1.15x the null depth, yaw correlated -0.79 with the truth); without it SIDE 0.69x null,
    # relief 0.92x (results/). Budget of the shipped cars runs: 5 epochs = 625 steps.
    Preset("cars-synthetic-cpu", "synthetic cars, narrow nets, CPU scale", perceptual="optional", config=TrainConfig(
        preset="cars-synthetic-cpu",
        model=CARS.model_config("cpu", loss=NO_PERCEPTUAL["cars"], training_data="physdis-hub synthetic cars",
                                license="mit"),
        data=DataConfig(dataset="synthetic-cars", options={
            "train_identities": 200, "val_identities": 10, "test_identities": 60, "images_per_identity": 20}),
        loocc=LooccConfig(variant="LV"),
        optim=OptimConfig(lr=5e-4),
        precision="bf16",  # networks in bfloat16: 1.25-1.39x per CPU step (results/2026-12-06-train-step-speed.md)
        batch_size=32, max_epochs=5, patience=3,
        notes="CPU scale: nf 16 networks (128-d features), 200 training identities x 20 images, 5 epochs, lr 0.0005.",
    )),
    Preset("tiny", "for tests: tiny nets, 32 synthetic training images", perceptual="optional", variant="none",
           config=TrainConfig(
        preset="tiny",
        model=FACES.model_config("cpu", loss=NO_PERCEPTUAL["faces"], training_data="physdis-hub synthetic faces (tiny)",
                                 license="mit", nets=NetConfig(depth_nf=16, albedo_nf=16, light_nf=4, view_nf=4,
                                                               conf_nf=16, zdim=32, conf_zdim=16, use_conf=False)),
        data=DataConfig(dataset="synthetic-faces", options={
            "train_identities": 4, "val_identities": 1, "test_identities": 2, "images_per_identity": 8,
            "background_texture": 0.6}),
        optim=OptimConfig(lr=1e-3),
        batch_size=8, eval_batch_size=32, max_epochs=3, patience=10, figure_images=4,
        notes="test preset: tiny nets, 32 training images.",
    )),
]}  # fmt: skip
"""Every preset by name."""


def list_presets() -> list[Preset]:
    """Every preset's entry (name, description, configuration), in the order of :data:`PRESETS`."""
    return list(PRESETS.values())


def get_preset(name: str) -> Preset:
    """The entry of preset ``name`` (description, configuration, whether it needs a data folder).

    Raises:
        PresetError: unknown name (with close matches).
    """
    return lookup(PRESETS, name, what="preset", error=PresetError, lead=f"name: unknown preset {name!r}")


def build_preset(
    name: str,
    variant: str | None = None,
    *,
    data_dir: str | None = None,
    perceptual_weights: str | None = None,
    loocc_style: str = "text",
) -> TrainConfig:
    """The :class:`TrainConfig` of preset ``name``.

    Args:
        name: the name of one of :func:`list_presets`.
        variant: LOOCC variant, ``"none"``, ``"L"`` or ``"LV"``; None: the preset's (:attr:`Preset.variant`).
        data_dir: real data set directory (``faces``, ``cars``, ``*-cpu``; default: under ``$PHYSDIS_DATA``),
            or a cache folder for synthetic sets.
        perceptual_weights: local VGG16 ``.safetensors``: the perceptual term at the category's paper
            weight (paper-scale presets: instead of the bundled weights).
        loocc_style: ``"text"`` (the preset as it is) or ``"code"`` (:func:`authors_code` of it).

    Raises:
        PresetError: unknown name or variant, or a missing data directory / weights file.

    Example:
        >>> cfg = build_preset("faces-synthetic-cpu")
        >>> cfg.batch_size, cfg.loocc.variant
        (32, 'LV')
    """
    preset = get_preset(name)
    variant = preset.variant if variant is None else variant
    if variant not in VARIANTS:
        raise PresetError(f"variant: expected one of {list(VARIANTS)}, got {variant!r}")
    if loocc_style not in STYLES:
        raise PresetError(f"loocc_style: expected one of {list(STYLES)}, got {loocc_style!r}")
    if preset.needs_data_dir and not has_data(data_dir):
        raise PresetError(f"preset {name!r} trains on a real data set: {data_hint(preset.category)}")
    config = preset.config
    # no LOOCC: nothing is perturbed, so the cycle term goes too (the config of runs before the term)
    loocc = LooccConfig() if variant == "none" else dataclasses.replace(config.loocc, variant=variant)
    changes = {"loocc": loocc, "data": dataclasses.replace(config.data, root=data_dir)}
    weights = perceptual_weights or (_bundled_weights(preset) if preset.perceptual == "paper" else None)
    paper_weight = CATEGORIES[preset.category].loss.lam_perc
    if weights:
        loss = dataclasses.replace(config.model.loss, lam_perc=paper_weight)
        changes.update(perceptual_weights=weights, model=config.model.replace(loss=loss))
    else:
        changes["notes"] = (
            f"{config.notes} perceptual loss disabled (lam_perc 0; the paper uses {paper_weight:g}): on a CPU it "
            f"makes a step {PERCEPTUAL_CPU_COST} slower (benchmarks/bench_perceptual.py); pass --perceptual-weights "
            f"{BUNDLED_VGG16.relative_to(BUNDLED_VGG16.parents[2])} to enable it."
        )
    config = config.replace(**changes)
    return authors_code(config) if loocc_style == "code" else config


AUTHORS_CODE_HFLIP = 0.5
"""Probability of a horizontal flip of each training image in the authors' code (``pdr/dataloaders.py``)."""


def authors_code(config: TrainConfig) -> TrainConfig:
    """``config`` trained as the authors' public code trains LOOCC (docs/loocc.md): LOOCC style
    ``"code"``, light and view features ``tanh(ReLU(.))`` (``encoder_head="tanh-conv"``), horizontal
    flips of the training images with probability 0.5, and no cycle term (ours, not theirs)."""
    model = config.model
    return config.replace(
        loocc=dataclasses.replace(config.loocc, style="code", light_mode="vector", cycle_weight=0.0),
        model=model.replace(nets=dataclasses.replace(model.nets, encoder_head="tanh-conv")),
        augment=dataclasses.replace(config.augment, p_hflip=AUTHORS_CODE_HFLIP),
    )


def _bundled_weights(preset: Preset) -> str:
    """The VGG16 weights that ship with the repository, for a preset that trains as the paper does."""
    if BUNDLED_VGG16.is_file():
        return str(BUNDLED_VGG16)
    category = preset.category
    raise PresetError(
        f"preset {preset.name!r}: the paper trains with a VGG16 perceptual loss "
        f"(weight {CATEGORIES[category].loss.lam_perc:g}), and the bundled "
        f"weights {BUNDLED_VGG16} are missing (they ship with the repository, not with every install). "
        f"Pass --perceptual-weights FILE.safetensors (or hf-hub:timm/vgg16.tv_in1k), or use --preset "
        f"{category}-cpu / {category}-synthetic-cpu, which train without it (lam_perc 0)."
    )


def has_data(data_dir: str | None) -> bool:
    """Whether a real data set can be located: a directory was given, or ``$PHYSDIS_DATA`` is set."""
    return bool(data_dir or os.environ.get(DATA_ROOT_ENV))


def data_hint(category: str) -> str:
    """Where to get the category's real data set, and how to train offline instead."""
    return f"{CATEGORIES[category].data_source} and pass --data-dir DIR (or set ${DATA_ROOT_ENV}). To train offline on generated data instead, use --preset {category}-synthetic-cpu."
