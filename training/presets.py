"""Training presets: the paper's settings, CPU-scale versions, synthetic-data versions, and ``tiny``.

Every preset is a function of the LOOCC variant (``none``, ``L``, ``LV``), the data directory and
the optional VGG16 weights file, returning a :class:`~training.config.TrainConfig`:

==========================  =========================  ============================================
preset                      data                       scale
==========================  =========================  ============================================
``faces``                   UTKFace, 80/10/10 split    paper: widths, batch 64, patience 10
``cars``                    ShapeNet syncar (unsup3d)  paper: widths, batch 256, patience 10
``faces-cpu``, ``cars-cpu`` the same, 1,600 train imgs narrow nets, batch 32, 6 epochs
``faces-synthetic``         synthetic faces            paper widths and batch
``cars-synthetic``          synthetic cars             paper widths and batch
``faces-synthetic-cpu``     synthetic faces            narrow nets, batch 32, 20 epochs (about 3 h)
``cars-synthetic-cpu``      synthetic cars             narrow nets, batch 32, 5 epochs (minutes)
``tiny``                    synthetic faces, 32 imgs   for tests: seconds
==========================  =========================  ============================================

Paper settings (sec. 4.3 and the public configs) are the category profiles of
:mod:`physdis_hub.categories`: faces use the confidence network, lam_flip 0.5 and a perceptual weight
of 1; cars use border depth 1.08, diffuse light in [0.5, 1], no confidence network, lam_flip 1, a
perceptual weight of 0.01 and depth smoothness 0.1. The perceptual loss needs
VGG16 ImageNet weights: the paper-scale presets (``faces``, ``cars``, ``*-synthetic``) use the
ImageNet VGG16 slice that ships with the repository (:data:`training.perceptual.BUNDLED_VGG16`) unless
given other weights; the CPU-scale presets train without the perceptual term (it makes a CPU step
about four times slower) unless given weights, and say so in their notes. The CPU-scale synthetic
faces presets add the normal-smoothness depth prior (:data:`NORMAL_PRIOR`; off for cars), and the synthetic faces presets
textured backdrops and photometric augmentation (:data:`PHOTO_TRANSFER`); ``faces-synthetic-cpu``
also the convex start (:data:`CONVEX_START`) and, in its LOOCC variants, the cycle term
(:data:`CYCLE_TERM`). Learning
rate: 1e-4 as in the public configs (the paper's text says 1e-3; pass ``--lr 1e-3`` to follow it).
Every preset follows the paper's text for LOOCC; ``loocc_style="code"`` (:func:`authors_code`,
``--loocc-style code``) trains it as the authors' public code does (docs/loocc.md).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from physdis_hub.categories import CATEGORIES, Widths
from physdis_hub.config import LossConfig, ModelConfig, NetConfig
from physdis_hub.data.registry import DATA_ROOT_ENV
from physdis_hub.errors import PhysdisError, lookup

from .augment import PHOTO_LIKE, AugmentConfig
from .config import OptimConfig, TrainConfig
from .data import DataConfig
from .loocc import STYLES, VARIANTS, LooccConfig
from .perceptual import BUNDLED_VGG16
from .shape_init import ShapeInitConfig


class PresetError(PhysdisError, ValueError):
    """A preset cannot be built as asked (unknown name, missing data directory or weights)."""


@dataclass(frozen=True)
class PresetOptions:
    """What a preset is built from besides its name."""

    variant: str = "none"
    """LOOCC variant: ``"none"``, ``"L"`` or ``"LV"``."""
    data_dir: str | None = None
    """Directory of a real data set (UTKFace, syncar); unused by synthetic presets."""
    perceptual_weights: str | None = None
    """Local VGG16 ``.safetensors`` file; enables the perceptual term at the category's paper weight."""


@dataclass(frozen=True)
class Preset:
    """A named recipe."""

    name: str
    """Preset name."""
    category: str
    """``"faces"`` or ``"cars"``."""
    needs_data_dir: bool
    """True for real data sets, which must be downloaded first."""
    description: str
    """One line for ``--help`` and listings."""
    build: Callable[[PresetOptions], TrainConfig]
    """Builds the configuration."""


# -- building blocks ---------------------------------------------------------------------------

PAPER_LR = 1e-4
"""Learning rate of the public configs (the paper's text: 1e-3)."""
NORMAL_PRIOR: dict[str, float] = {"faces": 1.0, "cars": 0.0}
"""Category -> weight of the normal-smoothness prior in the CPU-scale synthetic presets (see
:func:`physdis_hub.losses.normal_smoothness`; the paper's presets keep Unsup3d's objective). Off for
cars: with it, no-LOOCC cars flattened (relief 0.12x the truth's, SIDE 1.15x the null depth, yaw
correlated -0.79 with the truth); without it, SIDE 0.69x null, relief 0.92x (README, Results)."""
FACES_BACKDROP_TEXTURE = 0.6
"""Backdrop texture contrast of the synthetic faces presets (photographs have cluttered backgrounds)."""
PERCEPTUAL_CPU_COST = "3.9-4.7x"
"""Measured cost of the perceptual term on a CPU step of the faces-synthetic-cpu model (README, Benchmarks)."""
CPU_LR = 5e-4
"""CPU presets train for a few epochs only, so they use a larger step than the paper."""
CPU_PRECISION = "bf16"
"""The CPU-scale presets' networks compute in bfloat16 (:attr:`TrainConfig.precision`): the
faces-synthetic-cpu step measured 1.25-1.35x faster (wall), 1.28-1.39x (CPU time) than in float32 on
an AVX512-BF16 CPU, one thread (``results/2026-12-06-train-step-speed.md``; fused Adam added nothing
measurable there, so they keep torch's Adam). ``--precision fp32`` restores float32."""
CPU_IMAGES = (1600, 200, 200)
"""Train / val / test images used by the CPU-scale real-data presets."""
CONVEX_START: dict[str, ShapeInitConfig] = {
    "faces": ShapeInitConfig(steps=200, weight=10.0),
    "cars": ShapeInitConfig(),
}
"""Category -> the convex start of the CPU-scale synthetic presets (:mod:`training.shape_init`): faces
pull their depth towards an ellipsoid over the first 200 steps (of 2,000), with a weight falling from
10 to 0; cars have no such template."""
CYCLE_TERM: dict[str, float] = {"faces": 1.0, "cars": 0.0}
"""Category -> weight of the LOOCC cycle term (:func:`training.loocc.cycle_loss`, not in the paper) in
the CPU-scale synthetic presets' LOOCC variants. On faces (LV, one seed, 1,250 steps) it raised the
light x slope from 0.63 to 0.86 and lowered SIDE / null from 0.99 to 0.86 (README, Results); it is
unmeasured on cars and at paper scale, so it is off there."""


def _loss(category: str, weights: str | None, *, prior: bool = False) -> LossConfig:
    """The category's paper loss weights; the perceptual term only with a weights file; with
    ``prior``, the category's normal-smoothness prior (:data:`NORMAL_PRIOR`)."""
    paper = CATEGORIES[category].loss
    return dataclasses.replace(paper, lam_perc=paper.lam_perc if weights else 0.0,
                               lam_normal_smooth=NORMAL_PRIOR[category] if prior else 0.0)  # fmt: skip


def _perceptual_note(category: str, weights: str | None) -> str:
    if weights:
        return ""
    return (
        f"perceptual loss disabled (lam_perc 0; the paper uses {CATEGORIES[category].loss.lam_perc:g}): "
        "on a CPU it makes a step "
        f"{PERCEPTUAL_CPU_COST} slower (benchmarks/bench_perceptual.py); pass --perceptual-weights "
        f"{BUNDLED_VGG16.relative_to(BUNDLED_VGG16.parents[2])} to enable it."
    )


def _paper_weights(category: str, opts: PresetOptions) -> str:
    """The perceptual weights of a paper-scale preset: the given file, else the bundled VGG16."""
    if opts.perceptual_weights:
        return opts.perceptual_weights
    if BUNDLED_VGG16.is_file():
        return str(BUNDLED_VGG16)
    raise PresetError(
        f"preset {category!r}: the paper trains with a VGG16 perceptual loss "
        f"(weight {CATEGORIES[category].loss.lam_perc:g}), and the bundled "
        f"weights {BUNDLED_VGG16} are missing (they ship with the repository, not with every install). Pass "
        f"--perceptual-weights FILE.safetensors (or hf-hub:timm/vgg16.tv_in1k), or use --preset "
        f"{category}-cpu / {category}-synthetic-cpu, which train without it (lam_perc 0)."
    )


def _model(
    category: str, widths: Widths, opts: PresetOptions, training_data: str, license: str, *, prior: bool = False,
    **changes: Any,
) -> ModelConfig:
    return CATEGORIES[category].model_config(
        widths, loss=_loss(category, opts.perceptual_weights, prior=prior), variant=opts.variant,
        training_data=training_data, license=license, **changes,
    )  # fmt: skip


def _real_data(category: str, opts: PresetOptions, cpu: bool) -> DataConfig:
    """The category's real data set with its paper split (UTKFace: the data package's seeded
    80/10/10 split, split_seed 0; syncar: its released splits)."""
    profile = CATEGORIES[category]
    return DataConfig(dataset=profile.dataset, root=opts.data_dir, options=dict(profile.dataset_options),
                      max_images=CPU_IMAGES if cpu else None)  # fmt: skip


_FACES_TRANSFER: dict[str, Any] = {"data": {"background_texture": FACES_BACKDROP_TEXTURE}, "augment": PHOTO_LIKE}
PHOTO_TRANSFER: dict[str, dict[str, Any]] = {
    "faces": _FACES_TRANSFER,
    "faces-ict": _FACES_TRANSFER,
    "cars": {"data": {}, "augment": AugmentConfig()},
}
"""Category -> what the synthetic presets add so that models meet photographs: data options of the
synthetic set (textured backdrops) and the photometric augmentation of training batches."""


def _synthetic_data(
    category: str, opts: PresetOptions, identities: tuple[int, int, int], images_per_identity: int
) -> DataConfig:
    """A synthetic set with disjoint train / val / test identities; ``opts.data_dir`` caches it on disk."""
    train, val, test = identities
    chunks = -(-max(identities) * images_per_identity // 256)  # keep every rendered chunk in memory
    options = {"train_identities": train, "val_identities": val, "test_identities": test,
               "images_per_identity": images_per_identity, "max_chunks": max(chunks, 4), "progress": False,
               **PHOTO_TRANSFER[category]["data"]}  # fmt: skip
    return DataConfig(dataset=f"synthetic-{category}", root=opts.data_dir, options=options)


def _notes(*parts: str) -> str:
    return " ".join(p for p in parts if p)


# -- the presets -------------------------------------------------------------------------------


def _paper(category: str) -> Callable[[PresetOptions], TrainConfig]:
    def build(opts: PresetOptions) -> TrainConfig:
        opts = dataclasses.replace(opts, perceptual_weights=_paper_weights(category, opts))
        profile = CATEGORIES[category]
        return TrainConfig(
            preset=category,
            perceptual_weights=opts.perceptual_weights,
            model=_model(category, "paper", opts, profile.training_data, profile.data_license),
            data=_real_data(category, opts, cpu=False),
            loocc=LooccConfig(variant=opts.variant),
            optim=OptimConfig(lr=PAPER_LR),
            batch_size=profile.batch_size,
            max_epochs=200,
            patience=10,
            notes="paper settings (lr 1e-4 of the public configs; the text says 1e-3).",
        )

    return build


def _real_cpu(category: str) -> Callable[[PresetOptions], TrainConfig]:
    def build(opts: PresetOptions) -> TrainConfig:
        profile = CATEGORIES[category]
        return TrainConfig(
            preset=f"{category}-cpu",
            perceptual_weights=opts.perceptual_weights,
            model=_model(category, "cpu", opts, f"{profile.training_data}, {sum(CPU_IMAGES)} images",
                         profile.data_license),
            data=_real_data(category, opts, cpu=True),
            loocc=LooccConfig(variant=opts.variant),
            optim=OptimConfig(lr=CPU_LR),
            precision=CPU_PRECISION,
            batch_size=32,
            max_epochs=6,
            patience=3,
            notes=_notes(
                f"CPU scale: nf 16 networks (128-d features), {CPU_IMAGES[0]} training images, 6 epochs, "
                f"lr {CPU_LR:g}.",
                _perceptual_note(category, opts.perceptual_weights),
            ),
        )

    return build


SYNTHETIC_CPU_SCALE: dict[str, tuple[tuple[int, int, int], int]] = {
    "faces": ((400, 15, 60), 20),
    "cars": ((200, 10, 60), 5),
}
"""Category -> ((train, val, test) identities, epochs) of the CPU-scale synthetic presets: the budget
of the shipped checkpoints on a 2-core CPU (the embedded faces default: 20 epochs = 5,000 steps,
about 3 hours on 2 shared cores; at 2,000 steps its SIDE was 0.80x the null depth, at 5,000 0.68x;
cars: 5 epochs = 625 steps).
Both keep 60 test identities x 20 images, so that the linear probe's 1000-label budget fits in the test split."""


def _synthetic(category: str, cpu: bool) -> Callable[[PresetOptions], TrainConfig]:
    def build(opts: PresetOptions) -> TrainConfig:
        if cpu:
            identities, epochs = SYNTHETIC_CPU_SCALE[category]
            widths: Widths = "cpu"
            data = _synthetic_data(category, opts, identities, 20)
            schedule: dict[str, Any] = {"optim": OptimConfig(lr=CPU_LR), "precision": CPU_PRECISION, "batch_size": 32,
                                        "max_epochs": epochs, "patience": 3}  # fmt: skip
            scale = (f"CPU scale: nf 16 networks (128-d features), {identities[0]} training identities x 20 images, "
                     f"{epochs} epochs, lr {CPU_LR:g}.")  # fmt: skip
        else:
            opts = dataclasses.replace(opts, perceptual_weights=_paper_weights(category, opts))
            widths, data = "paper", _synthetic_data(category, opts, (500, 50, 100), 20)
            schedule = {"optim": OptimConfig(lr=PAPER_LR), "batch_size": CATEGORIES[category].batch_size,
                        "max_epochs": 200, "patience": 10}  # fmt: skip
            scale = "paper widths and schedule on synthetic data."
        return TrainConfig(
            preset=f"{category}-synthetic" + ("-cpu" if cpu else ""),
            perceptual_weights=opts.perceptual_weights,
            augment=PHOTO_TRANSFER[category]["augment"],
            shape_init=CONVEX_START[category] if cpu else ShapeInitConfig(),
            model=_model(category, widths, opts, f"physdis-hub synthetic {category}", "mit", prior=cpu),
            data=data,
            loocc=LooccConfig(variant=opts.variant,
                              cycle_weight=CYCLE_TERM[category] if cpu and opts.variant != "none" else 0.0),
            notes=_notes(scale, _perceptual_note(category, opts.perceptual_weights)),
            **schedule,
        )

    return build


def _tiny(opts: PresetOptions) -> TrainConfig:
    nets = NetConfig(depth_nf=16, albedo_nf=16, light_nf=4, view_nf=4, conf_nf=16, zdim=32, conf_zdim=16,
                     use_conf=False)  # fmt: skip
    return TrainConfig(
        preset="tiny",
        perceptual_weights=opts.perceptual_weights,
        model=_model("faces", "cpu", opts, "physdis-hub synthetic faces (tiny)", "mit", nets=nets),
        data=_synthetic_data("faces", opts, (4, 1, 2), 8),
        loocc=LooccConfig(variant=opts.variant),
        optim=OptimConfig(lr=1e-3),
        batch_size=8,
        eval_batch_size=32,
        max_epochs=3,
        patience=10,
        figure_images=4,
        notes=_notes("test preset: seconds on a CPU.", _perceptual_note("faces", opts.perceptual_weights)),
    )


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in [
        Preset("faces", "faces", True, "paper: UTKFace 80/10/10, batch 64 (needs --perceptual-weights)", _paper("faces")),
        Preset("cars", "cars", True, "paper: ShapeNet syncar, batch 256 (needs --perceptual-weights)", _paper("cars")),
        Preset("faces-cpu", "faces", True, "UTKFace subset, narrow nets, minutes on a CPU", _real_cpu("faces")),
        Preset("cars-cpu", "cars", True, "syncar subset, narrow nets, minutes on a CPU", _real_cpu("cars")),
        Preset("faces-synthetic", "faces", False, "synthetic faces, paper widths and schedule", _synthetic("faces", False)),
        Preset("cars-synthetic", "cars", False, "synthetic cars, paper widths and schedule", _synthetic("cars", False)),
        Preset("faces-synthetic-cpu", "faces", False, "synthetic faces, narrow nets, minutes on a CPU",
               _synthetic("faces", True)),
        Preset("cars-synthetic-cpu", "cars", False, "synthetic cars, narrow nets, minutes on a CPU",
               _synthetic("cars", True)),
        Preset("tiny", "faces", False, "for tests: tiny nets, 32 synthetic training images, seconds", _tiny),
    ]
}  # fmt: skip
"""Every preset by name."""


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


def list_presets() -> list[str]:
    """Names of the presets."""
    return list(PRESETS)


def get_preset(
    name: str,
    variant: str = "none",
    *,
    data_dir: str | None = None,
    perceptual_weights: str | None = None,
    loocc_style: str = "text",
) -> TrainConfig:
    """The :class:`TrainConfig` of preset ``name``.

    Args:
        name: one of :func:`list_presets`.
        variant: LOOCC variant, ``"none"``, ``"L"`` or ``"LV"``.
        data_dir: real data set directory (``faces``, ``cars``, ``*-cpu``; default: under ``$PHYSDIS_DATA``),
            or a cache folder for synthetic sets.
        perceptual_weights: local VGG16 ``.safetensors`` (required by ``faces`` and ``cars``).
        loocc_style: ``"text"`` (the preset as it is) or ``"code"`` (:func:`authors_code` of it).

    Raises:
        PresetError: unknown name or variant, or a missing data directory / weights file.

    Example:
        >>> cfg = get_preset("faces-synthetic-cpu", "LV")
        >>> cfg.batch_size, cfg.loocc.variant
        (32, 'LV')
    """
    preset = lookup(PRESETS, name, what="preset", error=PresetError, lead=f"name: unknown preset {name!r}")
    if variant not in VARIANTS:
        raise PresetError(f"variant: expected one of {list(VARIANTS)}, got {variant!r}")
    if loocc_style not in STYLES:
        raise PresetError(f"loocc_style: expected one of {list(STYLES)}, got {loocc_style!r}")
    if preset.needs_data_dir and not has_data(data_dir):
        raise PresetError(f"preset {name!r} trains on a real data set: {data_hint(preset.category)}")
    config = preset.build(PresetOptions(variant, data_dir, perceptual_weights))
    return authors_code(config) if loocc_style == "code" else config


def has_data(data_dir: str | None) -> bool:
    """Whether a real data set can be located: a directory was given, or ``$PHYSDIS_DATA`` is set."""
    return bool(data_dir or os.environ.get(DATA_ROOT_ENV))


def data_hint(category: str) -> str:
    """Where to get the category's real data set, and how to train offline instead."""
    return f"{CATEGORIES[category].data_source} and pass --data-dir DIR (or set ${DATA_ROOT_ENV}). To train offline on generated data instead, use --preset {category}-synthetic-cpu."
