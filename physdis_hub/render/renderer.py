"""The renderer: scene parameters -> image as seen from a view.

Reconstruction follows Unsup3d: shade the canonical albedo with the canonical normals and the light
(the canonical image), lift the canonical depth to a grid mesh, move it by the view, rasterize its
depth from the camera, lift that depth back to 3D, undo the view to find where each pixel came from
in the canonical frame, and ``grid_sample`` the canonical image there. Pixels whose depth fell to the
background are masked. The same path relights and re-poses objects (:meth:`Renderer.render` with a
new light or view), so figures and LOOCC re-renders use exactly the training renderer.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F

from ..config import ModelConfig
from ..scene import Light, SceneParams, View, shade, shading
from .camera import Camera, normals_from_depth, transform_points
from .rasterize import grid_faces, rasterize_depth


@dataclass
class Rendering:
    """What the renderer produces for a batch of ``B`` images of side ``S``.

    Attributes:
        canonical: ``(B, 3, S, S)`` shaded canonical (frontal) image in [-1, 1].
        shading: ``(B, 1, S, S)`` canonical shading.
        normal: ``(B, S, S, 3)`` canonical normals.
        depth: ``(B, S, S)`` depth of the object seen from the view (background clamped to the far limit).
        image: ``(B, 3, S, S)`` the object seen from the view, in [-1, 1], zero where ``mask`` is 0.
        mask: ``(B, 1, S, S)`` 1 where the object covers the pixel, else 0 (no gradient).
        grid: ``(B, S, S, 2)`` where each pixel of the view samples the canonical image
            (``grid_sample`` coordinates, align_corners=True).
    """

    canonical: torch.Tensor
    shading: torch.Tensor
    normal: torch.Tensor
    depth: torch.Tensor
    image: torch.Tensor
    mask: torch.Tensor
    grid: torch.Tensor

    def rows(self, index: slice | torch.Tensor) -> Rendering:
        """The rendering of a subset of the images (every field indexed along the batch)."""
        return Rendering(*(getattr(self, f.name)[index] for f in fields(self)))


class Renderer(torch.nn.Module):
    """Differentiable renderer of depth-map grid meshes (pure PyTorch; CPU and CUDA).

    Args:
        config: the model configuration (image size, scene ranges, pixel convention).
    """

    faces: torch.Tensor

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.scene_cfg = config.scene
        self.size = config.image_size
        self.camera = Camera(self.size, config.scene.fov_deg)
        self.register_buffer("faces", grid_faces(self.size, self.size), persistent=False)
        self._pixel_offset = 0.5 if config.render.pixel_convention == "center" else 0.0

    @property
    def far_depth(self) -> float:
        """Depth given to background pixels: ``max_depth + margin``."""
        return self.scene_cfg.max_depth + self.scene_cfg.depth_margin

    def view_depth(self, depth: torch.Tensor, view: View) -> torch.Tensor:
        """Depth of the canonical surface seen from ``view``, rasterized at the pixel positions of
        ``config.render.pixel_convention``.

        Args:
            depth: ``(B, S, S)`` canonical depth.
            view: :class:`View` of batch ``B``.

        Returns:
            ``(B, S, S)`` clamped to ``[min_depth - margin, max_depth + margin]``.
        """
        pts = transform_points(
            self.camera.unproject(depth), view.rotation, view.translation, self.scene_cfg.rot_center_depth
        ).flatten(1, 2)
        # Sampling pixel (r, c) at (c + o, r + o) is sampling the image shifted by -o at (c, r).
        xy = self.camera.project(pts) - self._pixel_offset
        out = rasterize_depth(xy, pts[..., 2], self.faces, self.size, self.size, self.far_depth)
        margin = self.scene_cfg.depth_margin
        return out.clamp(self.scene_cfg.min_depth - margin, self.far_depth)

    def sampling_grid(self, view_depth: torch.Tensor, view: View) -> torch.Tensor:
        """Where each pixel of the view comes from in the canonical image.

        Args:
            view_depth: ``(B, S, S)`` from :meth:`view_depth`.
            view: the same view.

        Returns:
            ``(B, S, S, 2)`` ``grid_sample`` coordinates (align_corners=True).
        """
        pts = transform_points(
            self.camera.unproject(view_depth),
            view.rotation,
            view.translation,
            self.scene_cfg.rot_center_depth,
            inverse=True,
        )
        return self.camera.to_grid(self.camera.project(pts))

    def object_mask(self, view_depth: torch.Tensor) -> torch.Tensor:
        """``(B, S, S)`` depth -> ``(B, 1, S, S)`` float mask of pixels the object covers (no gradient)."""
        return (view_depth < self.far_depth - 1e-6).to(view_depth.dtype).unsqueeze(1).detach()

    def canonical(self, scene: SceneParams) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Canonical image, shading and normals of ``scene`` (see :class:`Rendering`)."""
        normal = normals_from_depth(self.camera, scene.depth, self.config.render.normals)
        shade_map = shading(normal, scene.light)
        return shade(scene.albedo, shade_map), shade_map, normal

    def warp(self, canonical: torch.Tensor, depth: torch.Tensor, view: View) -> tuple[torch.Tensor, ...]:
        """See a canonical image ``(B, C, S, S)`` with canonical depth ``(B, S, S)`` from ``view``.

        Returns:
            ``(image (B, C, S, S), mask (B, 1, S, S), view_depth (B, S, S), grid (B, S, S, 2))``;
            image is not masked.
        """
        vdepth = self.view_depth(depth, view)
        grid = self.sampling_grid(vdepth, view)
        return self._sample(canonical, grid), self.object_mask(vdepth), vdepth, grid

    @staticmethod
    def _sample(canonical: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
        return F.grid_sample(canonical, grid, mode="bilinear", padding_mode="zeros", align_corners=True)

    def render(self, scene: SceneParams, light: Light | None = None, view: View | None = None) -> Rendering:
        """Render ``scene``, optionally with another light and/or view (relighting, novel views).

        Args:
            scene: :class:`SceneParams` of batch ``B`` and side ``S`` (the configured image size).
            light: replaces ``scene.light`` if given.
            view: replaces ``scene.view`` if given.

        Returns:
            :class:`Rendering`.
        """
        if light is not None:
            scene = scene.with_light(light)
        if view is not None:
            scene = scene.with_view(view)
        if scene.depth.shape[-1] != self.size or scene.depth.shape[-2] != self.size:
            raise ValueError(f"scene.depth: expected (B, {self.size}, {self.size}), got {tuple(scene.depth.shape)}")
        scene.validate()
        canonical, shade_map, normal = self.canonical(scene)
        image, mask, vdepth, grid = self.warp(canonical, scene.depth, scene.view)
        return Rendering(canonical, shade_map, normal, vdepth, image * mask, mask, grid)

    def relight(self, rendering: Rendering, albedo: torch.Tensor, light: Light) -> Rendering:
        """What :meth:`render` gives for the scene of ``rendering`` with another ``albedo`` and ``light``,
        at the cost of a shading and a ``grid_sample``.

        The geometry (normals, view depth, sampling grid, mask) depends only on the depth and the
        view, so it is taken from ``rendering`` instead of being rasterized again; LOOCC's light
        re-render uses this. ``rendering`` must come from :meth:`render` (or this method) for a
        scene with the same depth and view; gradients flow into them through its tensors.

        Args:
            rendering: :class:`Rendering` of batch ``B``.
            albedo: ``(B, 3, S, S)`` in [-1, 1].
            light: :class:`Light` of batch ``B``.

        Returns:
            :class:`Rendering`.
        """
        if albedo.shape != rendering.canonical.shape:
            raise ValueError(f"albedo: expected {tuple(rendering.canonical.shape)}, got {tuple(albedo.shape)}")
        if light.ambient.shape[0] != albedo.shape[0]:
            raise ValueError(f"light: has {light.ambient.shape[0]} rows, albedo has {albedo.shape[0]} images")
        shade_map = shading(rendering.normal, light)
        canonical = shade(albedo, shade_map)
        image = self._sample(canonical, rendering.grid) * rendering.mask
        return Rendering(canonical, shade_map, rendering.normal, rendering.depth, image, rendering.mask, rendering.grid)
