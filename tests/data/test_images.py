"""Image preprocessing and seeded splits shared by the real-data loaders."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from physdis_hub.data.images import DataLayoutError, load_image, seeded_split


def test_load_image_centre_crops_then_resizes(tmp_path) -> None:
    arr = np.zeros((218, 178, 3), dtype=np.uint8)
    arr[45:173, 25:153] = 255  # the centred 128 square is white, the rest black
    Image.fromarray(arr).save(tmp_path / "a.png")
    img = load_image(tmp_path / "a.png", 64, crop_size=128)
    assert img.shape == (3, 64, 64) and img.dtype == torch.float32
    assert torch.allclose(img, torch.ones_like(img), atol=1e-3)
    full = load_image(tmp_path / "a.png", 64)  # largest centred square (178 wide): black margins
    assert full.min() < 0.1 and full.max() > 0.9


def test_seeded_split_is_a_deterministic_partition() -> None:
    parts = [seeded_split(101, s, seed=3) for s in ("train", "val", "test")]
    assert [len(p) for p in parts] == [81, 10, 10]
    assert sorted(np.concatenate(parts).tolist()) == list(range(101))
    assert np.array_equal(parts[0], seeded_split(101, "train", seed=3))
    assert not np.array_equal(parts[0], seeded_split(101, "train", seed=4))
    assert np.array_equal(seeded_split(5, "all"), np.arange(5))
    with pytest.raises(ValueError, match="split"):
        seeded_split(10, "dev")


def test_layout_errors_show_the_layout() -> None:
    err = DataLayoutError("x", "missing folder /a", "<root>/\n    a/\n")
    assert "x: missing folder /a" in str(err) and "Expected layout:\n<root>/" in str(err)
    assert isinstance(err, ValueError)
