"""The photos on which our MTCNN's boxes are compared with facenet-pytorch's (the detector of
Unsup3d's demo): ones any checkout can rebuild, so the reference boxes recorded from facenet-pytorch
(``facenet_boxes.json``) can be checked without it.

- ``astronaut``: the shipped photo (512 x 512, one face);
- ``composite-*``: the astronaut's head pasted onto a textured canvas at several scales and places
  (:func:`tests.align.conftest.compose`), one face partly outside the picture;
- ``lfw-*``: scikit-image's LFW face crops (25 x 25 grayscale) enlarged 4x bilinearly, every 4th.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .conftest import ASTRONAUT, compose

COMPOSITES: dict[str, tuple[int, int, list[tuple[float, int, int]]]] = {
    "composite-two": (400, 560, [(0.45, 420, 260), (1.0, 40, 30)]),
    "composite-three": (480, 640, [(0.3, 20, 380), (0.7, 230, 40), (1.4, 520, 150)]),
    "composite-edge": (360, 480, [(0.9, -60, 120), (0.5, 300, -20)]),
}
"""Name -> (height, width, placements ``(scale, x, y)`` of :func:`compose`)."""

LFW_EVERY = 4
"""Every how many of the 100 LFW face crops is used."""


def lfw_photos() -> dict[str, np.ndarray]:
    """``lfw-<i>`` -> ``(100, 100, 3)`` uint8: LFW face ``i`` enlarged 4x (bilinear, as float, then rounded)."""
    from skimage.data import lfw_subset

    faces = lfw_subset()[:100]
    out = {}
    for i in range(0, 100, LFW_EVERY):
        big = torch.nn.functional.interpolate(
            torch.from_numpy(faces[i]).float()[None, None], scale_factor=4, mode="bilinear"
        )[0, 0].clamp(0, 1)
        out[f"lfw-{i}"] = np.repeat((big.numpy() * 255).round().astype(np.uint8)[..., None], 3, axis=2)
    return out


def parity_photos(with_lfw: bool = True) -> dict[str, np.ndarray]:
    """Name -> ``(H, W, 3)`` uint8 RGB photo (the LFW crops need scikit-image)."""
    photos = {"astronaut": np.asarray(Image.open(ASTRONAUT).convert("RGB"))}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (height, width, placements) in COMPOSITES.items():
            path = Path(tmp) / f"{name}.png"
            compose(path, height, width, placements)
            photos[name] = np.asarray(Image.open(path).convert("RGB"))
    return {**photos, **(lfw_photos() if with_lfw else {})}
