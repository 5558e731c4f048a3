"""Decomposition figures: one PNG grid per epoch showing what the model has learned.

Rows: input, albedo, canonical depth, shading, reconstruction; one column per image.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from physdis_hub.figures import FIGURE_LABELS, decomposition_panels
from physdis_hub.model import PhysDisModel

ROWS: tuple[str, ...] = FIGURE_LABELS[:5]
"""Row order of :func:`decomposition_grid`: input, albedo, depth (near = bright, per image), shading,
reconstruction."""


def decomposition_grid(model: PhysDisModel, images: torch.Tensor, pad: int = 2) -> np.ndarray:
    """Render the decomposition of ``images`` as one image.

    Args:
        model: the model (put in eval mode by the caller if it matters; it has no dropout/BN).
        images: ``(N, 3, S, S)`` in [0, 1].
        pad: white pixels between tiles.

    Returns:
        ``(5 * (S + pad) + pad, N * (S + pad) + pad, 3)`` uint8, rows as in :data:`ROWS`.
    """
    rows = decomposition_panels(model, images)[: len(ROWS)]  # the first panels are ROWS
    n, s = images.shape[0], images.shape[-1]
    grid = np.ones((len(rows) * (s + pad) + pad, n * (s + pad) + pad, 3), dtype=np.float32)
    for i, row in enumerate(rows):
        for j in range(n):
            top, left = pad + i * (s + pad), pad + j * (s + pad)
            grid[top : top + s, left : left + s] = row[j].permute(1, 2, 0).clamp(0, 1).numpy()
    return (grid * 255 + 0.5).astype(np.uint8)


def save_png(image: np.ndarray, path: str | Path) -> Path:
    """Write an ``(H, W, 3)`` uint8 array as PNG (via PIL)."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)
    return path
