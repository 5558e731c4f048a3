"""Real photographs for the alignment tests: the shipped astronaut photo with hand-marked landmarks,
and pictures composed from it (scaled, shifted onto a textured canvas, several faces)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from physdis_hub.align import SAMPLE_PHOTO as ASTRONAUT

HAND_LANDMARKS = np.array([[205.0, 101.0], [246.0, 102.5], [225.5, 126.0], [204.0, 141.0], [244.0, 140.0]])
"""Landmarks of the astronaut photo marked by hand on a 4x enlarged view with a 10-pixel grid (not
by any detector): image-left eye, image-right eye, nose tip, left and right mouth corner, (x, y)."""
HAND_FACE = (184.0, 91.0, 270.0, 175.0)
"""Hand-marked extent of the face: cheek to cheek, brows to chin (x1, y1, x2, y2)."""

HEAD = (130, 20, 320, 230)
"""Region of the astronaut photo (x1, y1, x2, y2) pasted into composed pictures: head, hair, some background."""


def textured_canvas(height: int, width: int, seed: int = 0) -> Image.Image:
    """A smooth random colour texture (blurred noise), no faces."""
    rng = np.random.default_rng(seed)
    small = rng.uniform(0, 255, size=(height // 16 + 1, width // 16 + 1, 3)).astype(np.uint8)
    return Image.fromarray(small).resize((width, height), Image.Resampling.BICUBIC)


def compose(path: Path, height: int, width: int, placements: list[tuple[float, int, int]]) -> list[np.ndarray]:
    """Write to ``path`` a textured canvas with the astronaut's :data:`HEAD` pasted once per
    ``(scale, x, y)`` (top-left corner at ``x, y``); returns the expected landmarks (5, 2) of each."""
    canvas = textured_canvas(height, width)
    photo = Image.open(ASTRONAUT).convert("RGB").crop(HEAD)
    expected = []
    for scale, x, y in placements:
        w, h = round(photo.width * scale), round(photo.height * scale)
        canvas.paste(photo.resize((w, h), Image.Resampling.LANCZOS), (x, y))
        factor = np.array([w / photo.width, h / photo.height])
        expected.append((HAND_LANDMARKS - np.array(HEAD[:2])) * factor + np.array([x, y]))
    canvas.save(path)
    return expected


@pytest.fixture(scope="session")
def astronaut() -> Path:
    return ASTRONAUT
