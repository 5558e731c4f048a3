"""Scene parameters: a typed container shared by the renderer, LOOCC and the public API.

Network outputs (in [-1, 1]) are decoded into physical quantities with Unsup3d's conventions
(:class:`~physdis_hub.config.SceneConfig` holds the ranges): canonical depth with a border, albedo,
light (ambient, diffuse, direction) and view (rotations, translation). Lambertian shading turns
them into the canonical image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any

import torch

from .config import SceneConfig
from .errors import InputError, lookup
from .vocab import to_network_range, to_unit_range

LIGHT_DIRECTIONS: dict[str, tuple[float, float]] = {
    "front": (0.0, 0.0),
    "left": (0.0, 45.0),
    "right": (0.0, -45.0),
    "top": (45.0, 0.0),
    "bottom": (-45.0, 0.0),
}
"""Named light directions, ``(pitch, yaw)`` in degrees (see :meth:`Light.from_angles`), named by the
side of the image they light: ``"left"`` brightens the left half of the canonical image,
``"top"`` its upper half (measured in ``tests/test_scene.py``)."""


@dataclass
class Light:
    """Directional light with an ambient term.

    Attributes:
        ambient: ``(B,)`` ambient intensity.
        diffuse: ``(B,)`` diffuse intensity.
        direction: ``(B, 3)`` unit vector (same orientation as the normals: +z faces away from the camera).
            Shading uses it as given: LOOCC's ``"code"`` style perturbs it without renormalising, so
            its length scales the diffuse term, as in the authors' code.
    """

    ambient: torch.Tensor
    diffuse: torch.Tensor
    direction: torch.Tensor

    @staticmethod
    def from_angles(ambient: torch.Tensor, diffuse: torch.Tensor, pitch: torch.Tensor, yaw: torch.Tensor) -> Light:
        """Build from angles (radians): ``direction = normalize(tan(yaw), tan(pitch), 1)``.

        Args:
            ambient, diffuse, pitch, yaw: ``(B,)``.
        """
        return Light.from_tilt(ambient, diffuse, torch.stack([yaw.tan(), pitch.tan()], dim=-1))

    @staticmethod
    def from_tilt(ambient: torch.Tensor, diffuse: torch.Tensor, tilt: torch.Tensor) -> Light:
        """Build from the tilt off the optical axis: ``direction = normalize(t_x, t_y, 1)``.

        Args:
            ambient, diffuse: ``(B,)``.
            tilt: ``(B, 2)``: ``(l_x / l_z, l_y / l_z)``.
        """
        d = torch.cat([tilt, torch.ones_like(tilt[:, :1])], dim=-1)
        return Light(ambient, diffuse, d / d.norm(dim=-1, keepdim=True))

    def turned(self, direction: str | tuple[float, float]) -> Light:
        """This light's intensities from another direction: a name of :data:`LIGHT_DIRECTIONS`
        (``"front"``, ``"left"``, ``"right"``, ``"top"``, ``"bottom"``) or ``(pitch, yaw)`` in degrees.

        Example:
            >>> light = Light.from_angles(torch.full((2,), 0.3), torch.full((2,), 0.7), torch.zeros(2), torch.zeros(2))
            >>> light.turned("left").angles()[1]  # yaw, radians
            tensor([0.7854, 0.7854])
            >>> light.turned((30.0, 0.0)).diffuse  # the intensities stay
            tensor([0.7000, 0.7000])

        Raises:
            UnknownNameError: an unknown name (with close matches).
            ValueError: angles that are not two finite numbers in (-90, 90).
        """
        if isinstance(direction, str):
            pitch, yaw = lookup(LIGHT_DIRECTIONS, direction, what="light direction")
        else:
            ok = isinstance(direction, (tuple, list)) and len(direction) == 2
            if not ok or not all(isinstance(a, (int, float)) and -90 < a < 90 for a in direction):
                raise InputError(
                    f"light: expected a Light, a name of {sorted(LIGHT_DIRECTIONS)} or (pitch, yaw) in degrees "
                    f"within (-90, 90), got {direction!r}"
                )
            pitch, yaw = direction
        pitch_rad, yaw_rad = (torch.full_like(self.ambient, math.radians(a)) for a in (pitch, yaw))
        return Light.from_angles(self.ambient, self.diffuse, pitch_rad, yaw_rad)

    def tilt(self) -> torch.Tensor:
        """``(B, 2)`` tilt ``(l_x / l_z, l_y / l_z)``; inverse of :meth:`from_tilt`."""
        return self.direction[:, :2] / self.direction[:, 2:]

    def angles(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(pitch, yaw)`` of the direction in radians, each ``(B,)``; inverse of :meth:`from_angles`."""
        x, y, z = self.direction.unbind(-1)
        return torch.atan2(y, z), torch.atan2(x, z)


@dataclass
class View:
    """Rigid view transform of the canonical object.

    Attributes:
        rotation: ``(B, 3)`` rotations about x (pitch), y (yaw) and z (roll), radians.
        translation: ``(B, 3)`` translation.
    """

    rotation: torch.Tensor
    translation: torch.Tensor

    @staticmethod
    def identity(batch: int, dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu") -> View:
        """The identity view for ``batch`` images."""
        zeros = torch.zeros(batch, 3, dtype=dtype, device=device)
        return View(zeros, zeros.clone())


@dataclass
class SceneParams:
    """Everything the renderer needs for a batch of ``B`` images of side ``S``.

    Attributes:
        depth: ``(B, S, S)`` canonical depth (camera z of the canonical, frontal object).
        albedo: ``(B, 3, S, S)`` canonical albedo in [-1, 1].
        light: :class:`Light`.
        view: :class:`View`.
    """

    depth: torch.Tensor
    albedo: torch.Tensor
    light: Light
    view: View

    @property
    def batch_size(self) -> int:
        return self.depth.shape[0]

    def map(self, fn) -> SceneParams:  # type: ignore[no-untyped-def]
        """Apply ``fn`` to every tensor (e.g. ``lambda t: t.detach()``, ``lambda t: t[idx]``)."""
        return SceneParams(
            fn(self.depth),
            fn(self.albedo),
            Light(*(fn(getattr(self.light, f.name)) for f in fields(Light))),
            View(*(fn(getattr(self.view, f.name)) for f in fields(View))),
        )

    def detach(self) -> SceneParams:
        return self.map(lambda t: t.detach())

    @staticmethod
    def cat(scenes: list[SceneParams]) -> SceneParams:
        """Concatenate the batches of ``scenes`` (in order) into one of ``sum(B_i)`` images."""
        if not scenes:
            raise InputError("scenes: expected at least one SceneParams, got an empty list")
        if len(scenes) == 1:
            return scenes[0]

        def joined(part: str, cls: type) -> Any:
            return cls(*(torch.cat([getattr(getattr(s, part), f.name) for s in scenes]) for f in fields(cls)))

        return SceneParams(
            torch.cat([s.depth for s in scenes]),
            torch.cat([s.albedo for s in scenes]),
            joined("light", Light),
            joined("view", View),
        )

    def to(self, *args, **kwargs) -> SceneParams:  # type: ignore[no-untyped-def]
        return self.map(lambda t: t.to(*args, **kwargs))

    def flipped(self) -> SceneParams:
        """Horizontally mirrored canonical depth and albedo (the symmetry assumption), same light/view."""
        return replace(self, depth=self.depth.flip(-1), albedo=self.albedo.flip(-1))

    def with_light(self, light: Light) -> SceneParams:
        return replace(self, light=light)

    def with_view(self, view: View) -> SceneParams:
        return replace(self, view=view)

    def validate(self, name: str = "scene") -> None:
        """Raise ``ValueError`` naming the field if a shape is inconsistent or a value is not finite."""
        b, s = self.depth.shape[0], self.depth.shape[-1]
        expected = {
            "depth": (b, s, s),
            "albedo": (b, 3, s, s),
            "light.ambient": (b,),
            "light.diffuse": (b,),
            "light.direction": (b, 3),
            "view.rotation": (b, 3),
            "view.translation": (b, 3),
        }
        for key, shape in expected.items():
            obj: Any = self
            for part in key.split("."):
                obj = getattr(obj, part)
            if tuple(obj.shape) != shape:
                raise InputError(f"{name}.{key}: expected shape {shape}, got {tuple(obj.shape)}")
            if not torch.isfinite(obj).all():
                raise InputError(f"{name}.{key}: contains NaN or inf")


def _rescale(x: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    """Map [-1, 1] linearly onto [lo, hi]."""
    return (1 + x) / 2 * hi + (1 - x) / 2 * lo


DEPTH_BORDER = 2
"""Pixels along an edge of a canonical depth map that :func:`decode_depth` fixes to ``border_depth``."""


def depth_interior(depth: torch.Tensor) -> torch.Tensor:
    """The canonical depth without its :data:`DEPTH_BORDER`-pixel border (a view of the last two dims)."""
    return depth[..., DEPTH_BORDER:-DEPTH_BORDER, DEPTH_BORDER:-DEPTH_BORDER]


def vertical_contrast(image: torch.Tensor, region: torch.Tensor | None = None) -> torch.Tensor:
    """``(N,)``: mean luminance (channel mean) of ``image (N, C, S, S)`` over the top half of
    ``region`` minus that over its bottom half (split at the middle row); differentiable.

    Args:
        image: e.g. a canonical albedo.
        region: ``(N, S, S)`` boolean mask, or None for the whole image.

    Raises:
        ValueError: a region with no pixel in its top or its bottom half.
    """
    if region is None:
        region = torch.ones_like(image[:, 0], dtype=torch.bool)
    top = region.clone()
    top[:, image.shape[-2] // 2 :] = False
    bottom = region & ~top
    if not bool((top.flatten(1).any(1) & bottom.flatten(1).any(1)).all()):
        raise InputError("region: every image needs pixels in both the top and the bottom half")
    return region_luminance(image, top) - region_luminance(image, bottom)


def region_luminance(image: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """``(N,)``: mean luminance (channel mean) of ``image (N, C, S, S)`` over ``region (N, S, S)``
    (boolean); differentiable, in ``image``'s dtype; NaN for an image whose region is empty."""
    weights = region.to(image.dtype)
    return (image.mean(1) * weights).flatten(1).sum(1) / weights.flatten(1).sum(1)


def decode_depth(raw: torch.Tensor, cfg: SceneConfig) -> torch.Tensor:
    """Depth network output -> canonical depth.

    Subtract the per-image mean, squash with tanh, map [-1, 1] onto
    [min_depth, max_depth], and set the :data:`DEPTH_BORDER`-pixel border of the edges
    ``cfg.border_edges`` names (all four, or the left and right ones as Unsup3d) to ``border_depth``.

    Args:
        raw: ``(B, 1, S, S)`` or ``(B, S, S)``.

    Returns:
        ``(B, S, S)``.
    """
    raw = raw.reshape(raw.shape[0], raw.shape[-2], raw.shape[-1])
    d = (raw - raw.mean(dim=(1, 2), keepdim=True)).tanh()
    d = _rescale(d, cfg.min_depth, cfg.max_depth)
    border = torch.zeros_like(d[:1], dtype=torch.bool)
    if cfg.border_edges == "all":
        border.fill_(True)
        depth_interior(border).fill_(False)
    else:
        border[..., :DEPTH_BORDER] = border[..., -DEPTH_BORDER:] = True
    return torch.where(border, torch.full_like(d, cfg.border_depth), d)


def decode_light(raw: torch.Tensor, cfg: SceneConfig) -> Light:
    """Light network output ``(B, 4)`` in [-1, 1] -> :class:`Light` (direction ``normalize(lx, ly, 1)``)."""
    ambient = _rescale(raw[:, 0], *cfg.amb_range)
    diffuse = _rescale(raw[:, 1], *cfg.diff_range)
    return Light.from_tilt(ambient, diffuse, raw[:, 2:4])


def decode_view(raw: torch.Tensor, cfg: SceneConfig) -> View:
    """View network output ``(B, 6)`` in [-1, 1] -> :class:`View` (rotations scaled to +-rot_range_deg)."""
    rotation = raw[:, :3] * math.radians(cfg.rot_range_deg)
    scale = raw.new_tensor([cfg.xy_translation_range, cfg.xy_translation_range, cfg.z_translation_range])
    return View(rotation, raw[:, 3:6] * scale)


def _unscale(x: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    """Inverse of :func:`_rescale`: map [lo, hi] onto [-1, 1] (a zero-width range maps to 0)."""
    return (2 * x - lo - hi) / (hi - lo) if hi > lo else torch.zeros_like(x)


def encode_light(light: Light, cfg: SceneConfig) -> torch.Tensor:
    """Inverse of :func:`decode_light`: :class:`Light` of batch ``B`` -> ``(B, 4)`` light network output.

    Values the decoder cannot express (intensities outside the ranges, a direction more than 45
    degrees off the axis in x or y) are clamped to [-1, 1], the nearest output it can give.
    Directions must face the camera side (``z > 0``).
    """
    intensities = torch.stack(
        [_unscale(light.ambient, *cfg.amb_range), _unscale(light.diffuse, *cfg.diff_range)], dim=1
    )
    return torch.cat([intensities, light.tilt()], dim=1).clamp(-1, 1)


def encode_view(view: View, cfg: SceneConfig) -> torch.Tensor:
    """Inverse of :func:`decode_view`: :class:`View` of batch ``B`` -> ``(B, 6)`` view network output,
    clamped to [-1, 1] (rotations beyond ``rot_range_deg``, translations beyond their ranges)."""
    rotation = view.rotation / math.radians(cfg.rot_range_deg)
    ranges = (cfg.xy_translation_range, cfg.xy_translation_range, cfg.z_translation_range)
    translation = torch.stack([_unscale(t, -r, r) for t, r in zip(view.translation.unbind(1), ranges)], dim=1)
    return torch.cat([rotation, translation], dim=1).clamp(-1, 1)


def shading(normal: torch.Tensor, light: Light) -> torch.Tensor:
    """Lambertian shading ``ambient + diffuse * max(0, n . l)``.

    Args:
        normal: ``(B, S, S, 3)`` unit normals.
        light: :class:`Light` of batch ``B``.

    Returns:
        ``(B, 1, S, S)``.
    """
    cos = (normal * light.direction[:, None, None, :]).sum(-1).clamp(min=0)
    return (light.ambient[:, None, None] + light.diffuse[:, None, None] * cos).unsqueeze(1)


def shade(albedo: torch.Tensor, shade_map: torch.Tensor) -> torch.Tensor:
    """Canonical image in [-1, 1] from albedo ``(B, 3, S, S)`` in [-1, 1] and shading ``(B, 1, S, S)``."""
    return to_network_range(to_unit_range(albedo) * shade_map)
