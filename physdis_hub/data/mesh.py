"""Triangle meshes -> canonical maps: depth, per-pixel surface attributes and coverage.

The synthetic categories build their objects as triangle meshes in camera space (the canonical,
frontal pose; camera at the origin looking down +z, x right, y down) and turn them into the
canonical depth and albedo maps the image model uses. Depth comes from the project's rasterizer
(:func:`~physdis_hub.render.face_index_map`, then perspective-correct barycentrics, as
:func:`~physdis_hub.render.interpolate_depth` does); any per-vertex attribute (reference
coordinates, material weights) is interpolated with the same weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..render import Camera, face_index_map
from ..render.rasterize import (
    _barycentric,  # the renderer's own barycentrics, shared on purpose
)


@dataclass
class MeshMaps:
    """Rasterized maps of a batch of ``B`` meshes on an ``S x S`` image.

    Attributes:
        depth: ``(B, S, S)`` camera z of the nearest surface, ``background`` where nothing is hit.
        attributes: ``(B, C, S, S)`` interpolated per-vertex attributes, 0 where nothing is hit.
        covered: ``(B, S, S)`` bool, True where a triangle covers the pixel.
    """

    depth: torch.Tensor
    attributes: torch.Tensor
    covered: torch.Tensor


def rasterize_mesh(
    vertices: torch.Tensor, faces: torch.Tensor, attributes: torch.Tensor, camera: Camera, background: float
) -> MeshMaps:
    """Rasterize meshes that share a topology.

    Args:
        vertices: ``(B, V, 3)`` camera-space points (all with z > 0).
        faces: ``(F, 3)`` int64 vertex indices (either winding).
        attributes: ``(B, V, C)`` per-vertex values to interpolate.
        camera: the canonical camera (its ``size`` is the output side ``S``).
        background: depth given to pixels no triangle covers.

    Returns:
        :class:`MeshMaps`.
    """
    if vertices.ndim != 3 or vertices.shape[-1] != 3:
        raise ValueError(f"vertices: expected (B, V, 3), got {tuple(vertices.shape)}")
    if attributes.shape[:2] != vertices.shape[:2]:
        raise ValueError(
            f"attributes: expected (B, V, C) with (B, V) = {tuple(vertices.shape[:2])}, got {tuple(attributes.shape)}"
        )
    size = camera.size
    xy = camera.project(vertices)
    z = vertices[..., 2]
    face_map = face_index_map(xy, z, faces, size, size)
    covered = face_map >= 0

    batch, nverts = vertices.shape[:2]
    vidx = faces[face_map.clamp(min=0)] + torch.arange(batch).view(-1, 1, 1, 1) * nverts  # (B, S, S, 3)
    tri = xy.reshape(-1, 2)[vidx]  # (B, S, S, 3, 2)
    pix = camera.pixel_grid(xy).expand(batch, size, size, 2)
    weights, _ = _barycentric(tri, pix)
    weights = weights / z.reshape(-1)[vidx]  # perspective-correct: interpolate 1/z and attr/z
    inv_depth = weights.sum(-1)
    depth = torch.where(covered, 1 / inv_depth, torch.full_like(inv_depth, background))
    weights = weights / inv_depth.unsqueeze(-1)
    values = (weights.unsqueeze(-1) * attributes.reshape(-1, attributes.shape[-1])[vidx]).sum(-2)
    values = torch.where(covered.unsqueeze(-1), values, torch.zeros_like(values))
    return MeshMaps(depth, values.permute(0, 3, 1, 2), covered)


def mirror_left_half(maps: torch.Tensor) -> torch.Tensor:
    """Make maps exactly left-right symmetric by copying the left half, mirrored, onto the right.

    The canonical objects are symmetric meshes, so rasterization already gives symmetric maps up to
    float rounding at triangle edges; this removes that rounding so ``maps.flip(-1) == maps`` holds
    exactly, as the model's symmetry assumption states.

    Args:
        maps: ``(..., H, W)`` with an even ``W``.

    Returns:
        A new tensor of the same shape.
    """
    width = maps.shape[-1]
    if width % 2:
        raise ValueError(f"maps: expected an even width, got {width}")
    left = maps[..., : width // 2]
    return torch.cat([left, left.flip(-1)], dim=-1)
