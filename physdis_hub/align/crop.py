"""The face crop of Unsup3d's demo for real photographs (Wu et al. 2020, ``demo/demo.py``), which is
the input the face models expect: a square around the detected face box, slightly enlarged and moved
down so that the chin is in, brought to the model's size.

Geometry, for a box ``(x1, y1, x2, y2)``: ``half = int(1.1 * mean side / 2)`` with mean side
``((x2 - x1) + (y2 - y1)) / 2``; the square has side ``2 * half``, its left edge at
``floor((x1 + x2) / 2) - half`` and its top edge at ``floor((y1 + y2) / 2 + 0.15 * half) - half``.
Where the square leaves the image, the image's edge pixels are repeated. The crop is then resized
bilinearly (no antialiasing, ``align_corners=False``) to ``size``, first to ``2 * size`` when its side
exceeds ``4 * size``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..errors import InputError
from .mtcnn import check_image

ENLARGE = 1.1
"""Crop side / mean side of the detection box."""
SHIFT_DOWN = 0.15
"""Downward shift of the crop centre, as a fraction of half the crop side."""


def crop_square(box: tuple[float, float, float, float]) -> tuple[int, int, int]:
    """``(left, top, side)`` of the crop for a face ``box (x1, y1, x2, y2)``, in image pixels (may
    reach outside the image).

    Raises:
        ValueError: for a box with non-positive width or height, or non-finite corners.
    """
    x1, y1, x2, y2 = (float(v) for v in box)
    if not all(math.isfinite(v) for v in (x1, y1, x2, y2)) or x2 <= x1 or y2 <= y1:
        raise InputError(f"box: expected finite (x1, y1, x2, y2) with x2 > x1 and y2 > y1, got {tuple(box)}")
    half = max(1, int(((x2 - x1) + (y2 - y1)) / 2 / 2 * ENLARGE))
    left = math.floor((x1 + x2) / 2) - half
    top = math.floor((y1 + y2) / 2 + SHIFT_DOWN * half) - half
    return left, top, 2 * half


def demo_crop(image: torch.Tensor, box: tuple[float, float, float, float], size: int = 64) -> torch.Tensor:
    """Unsup3d's demo crop of ``image (3, H, W)`` (float in [0, 1]) around the face ``box``.

    Returns:
        ``(3, size, size)`` float in [0, 1].
    """
    check_image(image)
    if not isinstance(size, int) or size <= 0:
        raise InputError(f"size: expected a positive int, got {size!r}")
    left, top, side = crop_square(box)
    _, h, w = image.shape
    rows = torch.arange(top, top + side).clamp(0, h - 1)
    cols = torch.arange(left, left + side).clamp(0, w - 1)
    crop = image[:, rows][:, :, cols][None].float()
    if side > 4 * size:
        crop = F.interpolate(crop, size=(2 * size, 2 * size), mode="bilinear", align_corners=False)
    return F.interpolate(crop, size=(size, size), mode="bilinear", align_corners=False)[0].clamp(0, 1)
