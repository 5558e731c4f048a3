"""Optional depth rasterization through neural_renderer (NMR), CUDA only.

NMR is what Unsup3d and the paper used. It no longer compiles with current torch, so nothing in
physdis-hub needs it; it is used only when ``RenderConfig.backend == "nmr"`` and it imports. NMR
samples pixels at ``c + 0.5``, which is the ``"center"`` pixel convention; for the ``"integer"``
convention the principal point handed to it is shifted by half a pixel.
"""

from __future__ import annotations

import torch

from .camera import Camera


class NMRDepth:
    """Depth rendering of camera-space meshes with ``neural_renderer.Renderer.render_depth``.

    Args:
        camera: the intrinsics.
        pixel_convention: ``"integer"`` or ``"center"`` (see :class:`~physdis_hub.config.RenderConfig`).
    """

    def __init__(self, camera: Camera, pixel_convention: str = "integer") -> None:
        try:
            import neural_renderer as nr  # type: ignore[import-not-found]
        except ImportError as err:
            raise ImportError(
                "RenderConfig.backend='nmr' needs neural_renderer_pytorch (CUDA only), which is not "
                "installed; use backend='torch' (the default, CPU and CUDA)."
            ) from err
        if not torch.cuda.is_available():
            raise RuntimeError("RenderConfig.backend='nmr' needs CUDA; use backend='torch' on CPU")
        f, c = camera.focal, camera.center + (0.5 if pixel_convention == "integer" else 0.0)
        K = torch.tensor([[[f, 0.0, c], [0.0, f, c], [0.0, 0.0, 1.0]]], device="cuda")
        eye = torch.eye(3, device="cuda")[None]
        zero = torch.zeros(1, 1, 3, device="cuda")
        self._renderer = nr.Renderer(
            camera_mode="projection", light_intensity_ambient=1.0, light_intensity_directional=0.0,
            K=K, R=eye, t=zero, near=1e-3, far=100.0, image_size=camera.size, orig_size=camera.size,
            fill_back=True, anti_aliasing=False,
        )  # fmt: skip

    def render_depth(self, points: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
        """``points (B, V, 3)`` camera space, ``faces (F, 3)`` -> depth ``(B, S, S)``."""
        batch_faces = faces[None].expand(points.shape[0], -1, -1).int()
        return self._renderer.render_depth(points, batch_faces)
