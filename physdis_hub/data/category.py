"""What a synthetic object category provides: labelled attributes, random identities and the
canonical (frontal) depth and albedo of each sample."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
import torch

from ..config import SceneConfig
from ..render import Camera
from ..scene import depth_interior
from .mesh import MeshMaps, mirror_left_half

Params = dict[str, np.ndarray]
"""Per-identity or per-image parameters: name -> array whose first axis is the identity/image."""


@dataclass(frozen=True)
class AttributeSpec:
    """A discrete label the generator controls, for clustering and linear probes.

    Attributes:
        name: label key (e.g. ``"expression"``).
        classes: class names; label ``k`` means ``classes[k]``.
        level: ``"identity"`` (fixed for all images of an identity) or ``"image"`` (drawn per image).
    """

    name: str
    classes: tuple[str, ...]
    level: str

    def __post_init__(self) -> None:
        if self.level not in ("identity", "image"):
            raise ValueError(f"AttributeSpec.level: expected 'identity' or 'image', got {self.level!r}")


@dataclass
class CanonicalObject:
    """Canonical maps of a batch of ``B`` samples of side ``S``.

    Attributes:
        depth: ``(B, S, S)`` canonical depth in ``[min_depth, border_depth]``; the 2-pixel border and
            every pixel the object does not cover hold ``border_depth`` (a backdrop plane).
        albedo: ``(B, 3, S, S)`` object albedo in [0, 1]; backdrop pixels are filled by the generator.
        object_mask: ``(B, S, S)`` bool, True on the object.
    """

    depth: torch.Tensor
    albedo: torch.Tensor
    object_mask: torch.Tensor


class ObjectCategory(ABC):
    """A family of left-right symmetric, deformable objects.

    Subclasses define the label attributes, how identities (shape + albedo instances) and per-image
    factors are drawn, and how they become canonical maps. Everything they draw comes from the
    ``numpy`` generator they are given, so the generator alone decides determinism.
    """

    name: str
    """Category name (``"faces"``, ``"cars"``)."""
    scene: SceneConfig
    """Scene ranges the category's images respect (its border depth is the backdrop depth)."""
    attributes: tuple[AttributeSpec, ...]
    """Labelled discrete attributes; identity-level ones are keys of :meth:`sample_identities`'s
    result, image-level ones keys of :meth:`sample_image_factors`'s."""

    factor_names: dict[str, tuple[str, ...]] = {}
    """Continuous factors the category records per image (beyond light and view, which the
    generator records for every category): group name -> its column names; see :meth:`factors`."""

    @abstractmethod
    def sample_identities(self, rng: np.random.Generator, n: int) -> Params:
        """Draw ``n`` identities (shape and albedo parameters, identity-level labels)."""

    @abstractmethod
    def sample_image_factors(self, rng: np.random.Generator, n: int) -> Params:
        """Draw per-image factors for ``n`` images (image-level labels and their strengths)."""

    def factors(self, identity: Params, image: Params) -> dict[str, np.ndarray]:
        """Continuous factors of ``B`` images from their identity and image parameters (first axis
        ``B``): group name -> ``(B, len(factor_names[group]))`` float32. None by default."""
        return {}

    @abstractmethod
    def canonical(
        self, identity: dict[str, torch.Tensor], image: dict[str, torch.Tensor], camera: Camera
    ) -> CanonicalObject:
        """Canonical maps of ``B`` samples, given each sample's identity and image parameters as
        tensors (first axis ``B``), seen by the canonical ``camera``."""


def finish_canonical(maps: MeshMaps, albedo: torch.Tensor, border_depth: float) -> CanonicalObject:
    """Canonical maps from a rasterized object: everything not on the object (and the 2-pixel
    border, as the model's depth decoder sets it) becomes the backdrop plane at ``border_depth``;
    then the left half is mirrored onto the right so the maps are exactly symmetric.

    Args:
        maps: the rasterized object (depth ``(B, S, S)``, coverage).
        albedo: ``(B, 3, S, S)`` object albedo in [0, 1].
        border_depth: depth of the backdrop.
    """
    on_object = maps.covered & (maps.depth < border_depth)
    border = torch.ones_like(on_object[:1])
    depth_interior(border).fill_(False)
    on_object = on_object & ~border
    depth = torch.where(on_object, maps.depth, torch.full_like(maps.depth, border_depth))
    return CanonicalObject(mirror_left_half(depth), mirror_left_half(albedo), mirror_left_half(on_object))
