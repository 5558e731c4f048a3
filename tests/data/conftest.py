"""Fixtures of the data tests: tiny synthetic configs and helpers that write real-layout trees."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from physdis_hub.data import SyntheticConfig, SyntheticGenerator


def tiny_config(category: str, **changes) -> SyntheticConfig:  # type: ignore[no-untyped-def]
    """A few identities per block, so a whole split renders in well under a second."""
    sizes = {"train_identities": 6, "val_identities": 2, "test_identities": 4, "images_per_identity": 3}
    sizes.update(changes)
    return SyntheticConfig.for_category(category, **sizes)


@pytest.fixture(scope="session")
def generators() -> dict[str, SyntheticGenerator]:
    return {c: SyntheticGenerator(tiny_config(c)) for c in ("faces", "faces-ict", "cars")}


def write_image(path: Path, size: tuple[int, int] = (24, 30), seed: int = 0) -> Path:
    """A small random RGB image (width, height) at ``path`` (format from the suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path


def write_mask(path: Path, box: tuple[int, int, int, int], size: int = 32) -> Path:
    """A binary part mask (255 inside ``box = (top, left, bottom, right)``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.zeros((size, size), dtype=np.uint8)
    t, l, b, r = box
    arr[t:b, l:r] = 255
    Image.fromarray(arr).save(path)
    return path
