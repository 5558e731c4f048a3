"""Synthetic symmetric objects with full ground truth, generated deterministically from a seed.

Every sample is a canonical depth map and albedo (drawn from an identity and per-image factors of
an :class:`~physdis_hub.data.category.ObjectCategory`), a light and a view, rendered by the
project's own :class:`~physdis_hub.render.Renderer`; so re-rendering the ground truth reproduces the
image exactly where the renderer's mask is 1. Where the mask is 0 (the image borders a rotated
object uncovers) the image shows the backdrop: the sample's background colour lit like a
fronto-parallel plane, ``background * texture * (ambient + diffuse * l_z)`` (texture 1 unless
``background_texture`` > 0).

Identities are split into disjoint train / val / test blocks. The test identities are rendered four
times: under the training light and view ranges (``"test"``), and with light, view or both drawn
from ranges training never used (``"test-ood-light"``, ``"test-ood-view"``, ``"test-ood"``).
Each identity block and each split draws from its own random stream (``numpy`` ``SeedSequence``
of ``(seed, category, stream)``), so a sample depends only on the config, the split and its index.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from ..config import ModelConfig
from ..configbase import ConfigBase
from ..render import Renderer
from ..scene import Light, SceneParams, View
from ..vocab import to_network_range, to_unit_range
from .cars import SyntheticCars
from .category import ObjectCategory, Params
from .faces import SyntheticFaces
from .faces_ict import SyntheticFacesICT

CATEGORIES: dict[str, type[ObjectCategory]] = {
    "faces": SyntheticFaces,
    "faces-ict": SyntheticFacesICT,
    "cars": SyntheticCars,
}
"""Synthetic categories by name."""

SPLITS: dict[str, tuple[str, str, str]] = {
    "train": ("train", "in", "in"),
    "val": ("val", "in", "in"),
    "test": ("test", "in", "in"),
    "test-ood-light": ("test", "ood", "in"),
    "test-ood-view": ("test", "in", "ood"),
    "test-ood": ("test", "ood", "ood"),
}
"""Split name -> (identity block, light ranges, view ranges); ``"in"`` are the training ranges."""

_BLOCKS = ("train", "val", "test")


@dataclass(frozen=True)
class LightRange(ConfigBase):
    """Ranges lights are drawn from, each uniformly."""

    ambient: tuple[float, float]
    """Ambient intensity."""
    diffuse: tuple[float, float]
    """Diffuse intensity."""
    polar_deg: tuple[float, float]
    """Angle between the light direction and the optical axis, degrees (0: light from the camera).
    The azimuth about the axis is uniform in [0, 360). The model's light decoder
    (``direction = normalize(lx, ly, 1)`` with ``|lx|, |ly| <= 1``) reaches 45 degrees at every
    azimuth, so ranges up to 45 stay representable by the model."""

    def check(self, name: str) -> None:
        for key in ("ambient", "diffuse", "polar_deg"):
            lo, hi = getattr(self, key)
            if not lo <= hi:
                raise ValueError(f"{name}.{key}: expected (low, high) with low <= high, got {(lo, hi)}")
        if self.ambient[0] < 0 or self.diffuse[0] < 0:
            raise ValueError(f"{name}: intensities must be >= 0")
        if self.ambient[1] + self.diffuse[1] > 1:
            raise ValueError(
                f"{name}: ambient high + diffuse high must be <= 1 so images stay in [0, 1] without clipping "
                f"(which would break re-rendering the ground truth), got {self.ambient[1] + self.diffuse[1]}"
            )
        if not (0 <= self.polar_deg[0] and self.polar_deg[1] < 90):
            raise ValueError(f"{name}.polar_deg: expected angles in [0, 90), got {self.polar_deg}")


@dataclass(frozen=True)
class ViewRange(ConfigBase):
    """Ranges views are drawn from, each uniformly (angles in degrees)."""

    abs_yaw_deg: tuple[float, float]
    """Range of ``|yaw|`` (rotation about the vertical axis); the sign is drawn with probability 1/2."""
    pitch_deg: tuple[float, float]
    """Rotation about the horizontal axis."""
    roll_deg: tuple[float, float]
    """Rotation about the optical axis."""
    translation_xy: float
    """Maximum absolute translation along x and y (world units; the image is 0.175 wide at depth 1)."""

    def check(self, name: str, max_rotation_deg: float) -> None:
        for key in ("abs_yaw_deg", "pitch_deg", "roll_deg"):
            lo, hi = getattr(self, key)
            if not lo <= hi:
                raise ValueError(f"{name}.{key}: expected (low, high) with low <= high, got {(lo, hi)}")
            if max(abs(lo), abs(hi)) > max_rotation_deg:
                raise ValueError(
                    f"{name}.{key}: angles beyond the model's rotation range +-{max_rotation_deg} deg: {(lo, hi)}"
                )
        if self.abs_yaw_deg[0] < 0:
            raise ValueError(f"{name}.abs_yaw_deg: expected non-negative bounds, got {self.abs_yaw_deg}")
        if not 0 <= self.translation_xy <= 0.1:
            raise ValueError(f"{name}.translation_xy: expected a value in [0, 0.1], got {self.translation_xy}")


def _face_light(polar: tuple[float, float]) -> LightRange:
    # Strong, oblique light: under weak or frontal light the shading fixes only |grad z|, so the
    # sign of the slope (the shape) is barely observable.
    return LightRange(ambient=(0.2, 0.4), diffuse=(0.5, 0.6), polar_deg=polar)


def _car_light(polar: tuple[float, float]) -> LightRange:
    return LightRange(ambient=(0.3, 0.45), diffuse=(0.5, 0.55), polar_deg=polar)


@dataclass(frozen=True)
class SyntheticConfig(ConfigBase):
    """Everything that defines a synthetic data set. Equal configs give identical samples.

    The defaults are the faces data set; :meth:`cars` gives the cars one (same splits and view
    ranges, light intensities inside the cars configuration's diffuse range [0.5, 1]).
    """

    category: str = "faces"
    """Object category: a key of :data:`CATEGORIES` (``"faces"``, ``"faces-ict"`` or ``"cars"``)."""
    seed: int = 0
    """Seed of every random stream."""
    train_identities: int = 500
    """Identities in the training block."""
    val_identities: int = 50
    """Identities in the validation block (training ranges)."""
    test_identities: int = 100
    """Identities in the test block, shared by the ``test*`` splits."""
    images_per_identity: int = 20
    """Images rendered per identity and split (light, view and image factors differ)."""
    light_in: LightRange = field(default_factory=lambda: _face_light((10.0, 35.0)))
    """Light ranges of train, val and test: 10 to 35 degrees off the optical axis."""
    light_ood: LightRange = field(default_factory=lambda: _face_light((38.0, 45.0)))
    """Light ranges of the OOD-light splits: 38 to 45 degrees off the axis, never seen in training."""
    view_in: ViewRange = field(
        default_factory=lambda: ViewRange(
            abs_yaw_deg=(0.0, 25.0), pitch_deg=(-10.0, 10.0), roll_deg=(-5.0, 5.0), translation_xy=0.01
        )
    )
    """View ranges of train, val and test: ``|yaw| <= 25``."""
    view_ood: ViewRange = field(
        default_factory=lambda: ViewRange(
            abs_yaw_deg=(30.0, 45.0), pitch_deg=(-10.0, 10.0), roll_deg=(-5.0, 5.0), translation_xy=0.01
        )
    )
    """View ranges of the OOD-view splits: ``|yaw|`` in [30, 45], never seen in training."""
    background: tuple[float, float] = (0.15, 0.85)
    """Range of each channel of the per-image background colour (uniform)."""
    background_texture: float = 0.0
    """Largest contrast of a procedural texture on the backdrop (0: a flat colour). Each image's
    texture is a sum of :data:`TEXTURE_WAVES` random oriented sinusoids of 1-8 cycles per image,
    each in its own colour, so backdrops look like the clutter behind a photographed face."""

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"SyntheticConfig.category: expected one of {sorted(CATEGORIES)}, got {self.category!r}")
        for name in ("train_identities", "val_identities", "test_identities", "images_per_identity"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"SyntheticConfig.{name}: expected a positive int, got {value!r}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"SyntheticConfig.seed: expected a non-negative int, got {self.seed!r}")
        rot = CATEGORIES[self.category].scene.rot_range_deg
        self.light_in.check("SyntheticConfig.light_in")
        self.light_ood.check("SyntheticConfig.light_ood")
        self.view_in.check("SyntheticConfig.view_in", rot)
        self.view_ood.check("SyntheticConfig.view_ood", rot)
        if self.light_ood.polar_deg[0] <= self.light_in.polar_deg[1]:
            raise ValueError(
                "SyntheticConfig.light_ood.polar_deg must start above light_in.polar_deg's end "
                f"(out of distribution), got {self.light_ood.polar_deg} vs {self.light_in.polar_deg}"
            )
        if self.view_ood.abs_yaw_deg[0] <= self.view_in.abs_yaw_deg[1]:
            raise ValueError(
                "SyntheticConfig.view_ood.abs_yaw_deg must start above view_in.abs_yaw_deg's end "
                f"(out of distribution), got {self.view_ood.abs_yaw_deg} vs {self.view_in.abs_yaw_deg}"
            )
        if not 0 <= self.background_texture <= 1:
            raise ValueError(
                f"SyntheticConfig.background_texture: expected a value in [0, 1], got {self.background_texture}"
            )
        lo, hi = self.background
        if not 0 <= lo <= hi <= 1:
            raise ValueError(f"SyntheticConfig.background: expected 0 <= low <= high <= 1, got {self.background}")

    @classmethod
    def cars(cls, **changes: Any) -> SyntheticConfig:
        """The cars data set (any field can be changed by keyword)."""
        base = cls(category="cars", light_in=_car_light((0.0, 30.0)), light_ood=_car_light((35.0, 45.0)))
        return dataclasses.replace(base, **changes)

    @classmethod
    def for_category(cls, category: str, **changes: Any) -> SyntheticConfig:
        """The default config of ``category`` with ``changes`` applied."""
        if category == "cars":
            return cls.cars(**changes)
        return cls(category=category, **changes)

    def fingerprint(self) -> str:
        """A short hash of the config (names cache folders)."""
        text = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def identities_in(self, block: str) -> int:
        """Number of identities of block ``"train"``, ``"val"`` or ``"test"``."""
        return getattr(self, f"{block}_identities")

    def split_size(self, split: str) -> int:
        """Number of images of ``split``."""
        return self.identities_in(_split_spec(split)[0]) * self.images_per_identity


def _split_spec(split: str) -> tuple[str, str, str]:
    if split not in SPLITS:
        raise ValueError(f"split: expected one of {list(SPLITS)}, got {split!r}")
    return SPLITS[split]


def _rng(config: SyntheticConfig, stream: int) -> np.random.Generator:
    category = sorted(CATEGORIES).index(config.category)
    return np.random.default_rng(np.random.SeedSequence([config.seed, category, stream]))


@dataclass
class SplitPlan:
    """Every random number of a split, one row per image (``N`` images).

    Attributes:
        identity: ``(N,)`` global identity index (train block first, then val, then test).
        image: per-image factors of the category, arrays of first axis ``N``.
        ambient, diffuse: ``(N,)``.
        direction: ``(N, 3)`` unit light direction.
        rotation: ``(N, 3)`` view rotation about x, y, z in radians.
        translation: ``(N, 3)``.
        background: ``(N, 3)`` background colour in [0, 1].
        texture: ``(N, TEXTURE_WAVES, 7)`` per wave: cycles per image, orientation, phase, and the
            contrast of each of its three colour channels (all 0 without a texture).
    """

    identity: np.ndarray
    image: Params
    ambient: np.ndarray
    diffuse: np.ndarray
    direction: np.ndarray
    rotation: np.ndarray
    translation: np.ndarray
    background: np.ndarray
    texture: np.ndarray


TEXTURE_WAVES = 4
"""Sinusoids summed into one backdrop texture."""


def _draw_texture(rng: np.random.Generator, contrast: float, n: int) -> np.ndarray:
    freq = rng.uniform(1.0, 8.0, (n, TEXTURE_WAVES, 1))
    angle = rng.uniform(0, math.pi, (n, TEXTURE_WAVES, 1))
    phase = rng.uniform(0, 2 * math.pi, (n, TEXTURE_WAVES, 1))
    colour = rng.uniform(-1, 1, (n, TEXTURE_WAVES, 3)) * rng.uniform(0, contrast, (n, 1, 1)) / TEXTURE_WAVES
    return np.concatenate([freq, angle, phase, colour], -1)


def backdrop_texture(texture: torch.Tensor, size: int) -> torch.Tensor:
    """Multiplicative backdrop pattern ``1 + sum_k c_k sin(2 pi f_k (x cos a_k + y sin a_k) + p_k)``.

    Args:
        texture: ``(B, TEXTURE_WAVES, 7)`` rows of :attr:`SplitPlan.texture`.
        size: image side ``S``.

    Returns:
        ``(B, 3, S, S)``, non-negative.
    """
    t = torch.linspace(0, 1, size, dtype=texture.dtype)
    y, x = torch.meshgrid(t, t, indexing="ij")
    freq, angle, phase = (texture[..., i, None, None] for i in range(3))  # (B, K, 1, 1)
    wave = torch.sin(2 * math.pi * freq * (x * angle.cos() + y * angle.sin()) + phase)  # (B, K, S, S)
    return (1 + torch.einsum("bkc,bkhw->bchw", texture[..., 3:], wave)).clamp_min(0)


def _draw_light(rng: np.random.Generator, r: LightRange, n: int) -> tuple[np.ndarray, ...]:
    ambient = rng.uniform(*r.ambient, n)
    diffuse = rng.uniform(*r.diffuse, n)
    polar = np.radians(rng.uniform(*r.polar_deg, n))
    azimuth = rng.uniform(0, 2 * math.pi, n)
    direction = np.stack([np.sin(polar) * np.cos(azimuth), np.sin(polar) * np.sin(azimuth), np.cos(polar)], -1)
    return ambient, diffuse, direction


def _draw_view(rng: np.random.Generator, r: ViewRange, n: int) -> tuple[np.ndarray, np.ndarray]:
    yaw = rng.uniform(*r.abs_yaw_deg, n) * rng.choice([-1.0, 1.0], n)
    pitch = rng.uniform(*r.pitch_deg, n)
    roll = rng.uniform(*r.roll_deg, n)
    rotation = np.radians(np.stack([pitch, yaw, roll], -1))
    t = r.translation_xy
    translation = np.stack([rng.uniform(-t, t, n), rng.uniform(-t, t, n), np.zeros(n)], -1)
    return rotation, translation


@dataclass
class SyntheticBatch:
    """Rendered samples with their ground truth (``B`` samples of side ``S``).

    Attributes:
        image: ``(B, 3, S, S)`` in [0, 1] (the renderer's image where ``mask`` is 1, the lit backdrop
            elsewhere).
        depth: ``(B, S, S)`` canonical depth (border and backdrop at the category's border depth).
        albedo: ``(B, 3, S, S)`` canonical albedo in [-1, 1] (the model's convention), backdrop included.
        object_mask: ``(B, S, S)`` bool, canonical pixels on the object (not the backdrop).
        light: :class:`~physdis_hub.scene.Light`.
        view: :class:`~physdis_hub.scene.View`.
        mask: ``(B, 1, S, S)`` bool, the renderer's mask (pixels the canonical surface covers).
        view_depth: ``(B, S, S)`` depth seen from the view (the renderer's).
        view_object_mask: ``(B, 1, S, S)`` bool, pixels showing the object in the view (for depth
            metrics such as SIDE and MAD, which ignore the backdrop).
        labels: name -> ``(B,)`` int64: ``"identity"`` and every attribute of the category.
        factors: name -> ``(B, K)`` float32 continuous factors: ``"light"`` and ``"view"``
            (:data:`LIGHT_FACTORS`, :data:`VIEW_FACTORS`) and the category's own
            (:meth:`~physdis_hub.data.category.ObjectCategory.factors`).
    """

    image: torch.Tensor
    depth: torch.Tensor
    albedo: torch.Tensor
    object_mask: torch.Tensor
    light: Light
    view: View
    mask: torch.Tensor
    view_depth: torch.Tensor
    view_object_mask: torch.Tensor
    labels: dict[str, torch.Tensor]
    factors: dict[str, torch.Tensor]

    def scene(self) -> SceneParams:
        """The ground-truth scene parameters (what the model should recover)."""
        return SceneParams(self.depth, self.albedo, self.light, self.view)

    def ground_truth(self) -> dict[str, torch.Tensor]:
        """Flat dict of ground-truth tensors (first axis ``B``); see :func:`scene_from_ground_truth`."""
        return {
            "depth": self.depth,
            "albedo": self.albedo,
            "object_mask": self.object_mask,
            "light_ambient": self.light.ambient,
            "light_diffuse": self.light.diffuse,
            "light_direction": self.light.direction,
            "view_rotation": self.view.rotation,
            "view_translation": self.view.translation,
            "mask": self.mask,
            "view_depth": self.view_depth,
            "view_object_mask": self.view_object_mask,
        }


GROUND_TRUTH_KEYS: tuple[str, ...] = (
    "depth",
    "albedo",
    "object_mask",
    "light_ambient",
    "light_diffuse",
    "light_direction",
    "view_rotation",
    "view_translation",
    "mask",
    "view_depth",
    "view_object_mask",
)
"""Keys of :meth:`SyntheticBatch.ground_truth`, in order."""


def scene_from_ground_truth(gt: dict[str, torch.Tensor]) -> SceneParams:
    """Scene parameters from a (collated) ground-truth dict with batch axis ``B``."""
    light = Light(gt["light_ambient"], gt["light_diffuse"], gt["light_direction"])
    return SceneParams(gt["depth"], gt["albedo"], light, View(gt["view_rotation"], gt["view_translation"]))


LIGHT_FACTORS = ("ambient", "diffuse", "direction_x", "direction_y", "direction_z")
"""Columns of the ``light`` factor: the intensities and the unit direction of
:class:`~physdis_hub.scene.Light` (oriented like the normals: +z faces away from the camera)."""
VIEW_FACTORS = ("pitch", "yaw", "roll", "translation_x", "translation_y")
"""Columns of the ``view`` factor: rotations about x, y, z (radians) and the translation in x, y
(the z translation is always 0)."""


class SyntheticGenerator:
    """Renders the samples of a :class:`SyntheticConfig`.

    Args:
        config: the data set definition.

    Example:
        >>> gen = SyntheticGenerator(SyntheticConfig(train_identities=4, images_per_identity=2))
        >>> batch = gen.render("train", range(8))
        >>> batch.image.shape
        torch.Size([8, 3, 64, 64])
    """

    def __init__(self, config: SyntheticConfig) -> None:
        self.config = config
        self.category = CATEGORIES[config.category]()
        self.renderer = Renderer(ModelConfig(scene=self.category.scene, category=config.category))
        self._plans: dict[str, SplitPlan] = {}

    @cached_property
    def _identities(self) -> Params:
        """Parameters of every identity, train block first, then val, then test."""
        blocks = [
            self.category.sample_identities(_rng(self.config, 1 + i), self.config.identities_in(b))
            for i, b in enumerate(_BLOCKS)
        ]
        return {key: np.concatenate([blk[key] for blk in blocks]) for key in blocks[0]}

    def _identity_offset(self, block: str) -> int:
        return sum(self.config.identities_in(b) for b in _BLOCKS[: _BLOCKS.index(block)])

    def plan(self, split: str) -> SplitPlan:
        """All random numbers of ``split`` (cheap: no rendering)."""
        block, light_kind, view_kind = _split_spec(split)
        if split not in self._plans:
            cfg = self.config
            n = cfg.split_size(split)
            rng = _rng(cfg, 10 + list(SPLITS).index(split))
            offset = self._identity_offset(block)
            identity = np.repeat(np.arange(cfg.identities_in(block)), cfg.images_per_identity) + offset
            image = self.category.sample_image_factors(rng, n)
            ambient, diffuse, direction = _draw_light(rng, cfg.light_in if light_kind == "in" else cfg.light_ood, n)
            rotation, translation = _draw_view(rng, cfg.view_in if view_kind == "in" else cfg.view_ood, n)
            background = rng.uniform(*cfg.background, (n, 3))
            # textures draw from a stream of their own, so the other draws do not depend on them
            texture = _draw_texture(_rng(cfg, 100 + list(SPLITS).index(split)), cfg.background_texture, n)
            self._plans[split] = SplitPlan(
                identity, image, ambient, diffuse, direction, rotation, translation, background, texture
            )
        return self._plans[split]

    def identity_params(self, identities: np.ndarray) -> Params:
        """Parameters of global identity indices ``identities`` (``(B,)``)."""
        return {key: arr[identities] for key, arr in self._identities.items()}

    @torch.no_grad()
    def render(self, split: str, indices: Sequence[int] | np.ndarray) -> SyntheticBatch:
        """Render samples ``indices`` of ``split``.

        Raises:
            IndexError: naming the split when an index is out of range.
        """
        plan = self.plan(split)
        idx = np.asarray(indices, dtype=np.int64)
        n = len(plan.identity)
        if idx.ndim != 1 or len(idx) == 0:
            raise ValueError(f"indices: expected a non-empty 1-d sequence, got shape {idx.shape}")
        if idx.min() < 0 or idx.max() >= n:
            raise IndexError(f"indices: split {split!r} has {n} samples, got indices in [{idx.min()}, {idx.max()}]")

        identity = self.identity_params(plan.identity[idx])
        factors = {k: v[idx] for k, v in plan.image.items()}
        canon = self.category.canonical(_tensors(identity), _tensors(factors), self.renderer.camera)
        background = torch.from_numpy(plan.background[idx]).float()[:, :, None, None]
        backdrop = (
            background * backdrop_texture(torch.from_numpy(plan.texture[idx]).float(), canon.albedo.shape[-1])
        ).clamp(0, 1)
        albedo = to_network_range(torch.where(canon.object_mask[:, None], canon.albedo, backdrop))
        light = Light(*(torch.from_numpy(a[idx]).float() for a in (plan.ambient, plan.diffuse, plan.direction)))
        view = View(torch.from_numpy(plan.rotation[idx]).float(), torch.from_numpy(plan.translation[idx]).float())
        scene = SceneParams(canon.depth, albedo, light, view)
        out = self.renderer.render(scene)
        mask = out.mask > 0.5
        plane = (light.ambient + light.diffuse * light.direction[:, 2].clamp(min=0))[:, None, None, None]
        image = torch.where(mask, to_unit_range(out.image), backdrop * plane)
        grid = self.renderer.sampling_grid(out.depth, view)  # where each view pixel comes from
        warped = torch.nn.functional.grid_sample(canon.object_mask[:, None].float(), grid, align_corners=True)
        labels = {"identity": torch.from_numpy(plan.identity[idx])}
        for spec in self.category.attributes:
            source = identity if spec.level == "identity" else factors
            labels[spec.name] = torch.from_numpy(np.asarray(source[spec.name], dtype=np.int64))
        return SyntheticBatch(
            image=image,
            depth=canon.depth,
            albedo=albedo,
            object_mask=canon.object_mask,
            light=light,
            view=view,
            mask=mask,
            view_depth=out.depth,
            view_object_mask=(warped > 0.5) & mask,
            labels=labels,
            factors={k: torch.from_numpy(v) for k, v in self.factors(plan, idx, identity, factors).items()},
        )

    def factor_names(self) -> dict[str, tuple[str, ...]]:
        """Column names of every factor group :meth:`render` records (``"light"``, ``"view"`` and the
        category's own)."""
        return {"light": LIGHT_FACTORS, "view": VIEW_FACTORS, **self.category.factor_names}

    def factors(self, plan: SplitPlan, idx: np.ndarray, identity: Params, image: Params) -> dict[str, np.ndarray]:
        """Continuous factors of samples ``idx`` of a split (see :meth:`factor_names`), float32 ``(B, K)``."""
        light = np.concatenate([plan.ambient[idx, None], plan.diffuse[idx, None], plan.direction[idx]], 1)
        view = np.concatenate([plan.rotation[idx], plan.translation[idx, :2]], 1)
        out = {"light": light.astype(np.float32), "view": view.astype(np.float32)}
        out.update(self.category.factors(identity, image))
        return out

    def batches(self, split: str, batch_size: int = 256, progress: bool = False) -> Iterator[SyntheticBatch]:
        """Stream ``split`` in order, ``batch_size`` samples at a time (the last batch may be smaller)."""
        if batch_size < 1:
            raise ValueError(f"batch_size: expected a positive int, got {batch_size}")
        n = self.config.split_size(split)
        starts = range(0, n, batch_size)
        for start in tqdm(starts, desc=f"{self.config.category}/{split}", unit="batch", disable=not progress):
            yield self.render(split, np.arange(start, min(start + batch_size, n)))


def _tensors(params: Params) -> dict[str, torch.Tensor]:
    """numpy params -> tensors (floats as float32, integers as int64)."""
    return {
        k: torch.from_numpy(np.asarray(v, dtype=np.float32 if np.asarray(v).dtype.kind == "f" else np.int64))
        for k, v in params.items()
    }
