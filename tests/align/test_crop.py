"""Unsup3d's demo crop, checked against hand computations."""

from __future__ import annotations

import pytest
import torch

from physdis_hub.align import crop_square, demo_crop


def coordinate_image(height: int, width: int) -> torch.Tensor:
    """(3, H, W): channel 0 = row / 1000, channel 1 = column / 1000, channel 2 = 0.5."""
    rows = torch.arange(height, dtype=torch.float32)[:, None].expand(height, width) / 1000
    cols = torch.arange(width, dtype=torch.float32)[None, :].expand(height, width) / 1000
    return torch.stack([rows, cols, torch.full_like(rows, 0.5)])


def test_crop_square_hand_computed() -> None:
    # box 40 x 50: mean side 45, half = int(45 / 2 * 1.1) = int(24.75) = 24, side 48;
    # centre (30, 45): left = 30 - 24 = 6; top = floor(45 + 0.15 * 24) - 24 = floor(48.6) - 24 = 24
    assert crop_square((10, 20, 50, 70)) == (6, 24, 48)
    # box 30 x 30 at the corner: half = int(16.5) = 16; left = 15 - 16 = -1; top = floor(15 + 2.4) - 16 = 1
    assert crop_square((0, 0, 30, 30)) == (-1, 1, 32)
    # fractional box: mean side 21.5, half = int(11.825) = 11; centre (12.25, 7.75):
    # left = 12 - 11 = 1; top = floor(7.75 + 1.65) - 11 = 9 - 11 = -2
    assert crop_square((1.5, -3.0, 23.0, 18.5)) == (1, -2, 22)


def test_demo_crop_takes_exactly_the_square() -> None:
    image = coordinate_image(100, 80)
    crop = demo_crop(image, (10, 20, 50, 70), size=48)  # side 48 = size: no resampling
    assert crop.shape == (3, 48, 48)
    assert torch.equal(crop[0, :, 0], torch.arange(24, 72, dtype=torch.float32) / 1000)  # rows 24..71
    assert torch.equal(crop[1, 0, :], torch.arange(6, 54, dtype=torch.float32) / 1000)  # columns 6..53


def test_demo_crop_replicates_edges() -> None:
    image = coordinate_image(40, 40)
    # box (20, 25, 40, 45): mean side 20, half 11, left = 30 - 11 = 19, top = floor(35 + 1.65) - 11 = 25:
    # rows 25..46 and columns 19..40 -> rows past 39 and column 40 repeat the last row/column
    assert crop_square((20, 25, 40, 45)) == (19, 25, 22)
    crop = demo_crop(image, (20, 25, 40, 45), size=22)
    expected_rows = torch.tensor([min(r, 39) for r in range(25, 47)], dtype=torch.float32) / 1000
    expected_cols = torch.tensor([min(c, 39) for c in range(19, 41)], dtype=torch.float32) / 1000
    assert torch.equal(crop[0, :, 5], expected_rows)
    assert torch.equal(crop[1, 7, :], expected_cols)
    left = demo_crop(image, (0, 0, 30, 30), size=32)  # left = -1: the first column repeats column 0
    assert torch.equal(left[1, 3, :2], torch.zeros(2))


def test_demo_crop_resizes_large_crops_to_size() -> None:
    image = coordinate_image(600, 500)
    # mean side 300: half = int(165.00000000000003) = 165, side 330 > 4 * 64 (resized via 128);
    # left = 250 - 165 = 85, top = floor(250 + 24.75) - 165 = 109: rows 109..438, columns 85..414
    assert crop_square((100, 100, 400, 400)) == (85, 109, 330)
    crop = demo_crop(image, (100, 100, 400, 400), size=64)
    assert crop.shape == (3, 64, 64)
    # bilinear resampling of a linear ramp keeps its mean: the centres of the rows and columns taken
    assert crop[0].mean().item() == pytest.approx(273.5 / 1000, abs=2e-4)
    assert crop[1].mean().item() == pytest.approx(249.5 / 1000, abs=2e-4)


@pytest.mark.parametrize(
    ("box", "message"),
    [((10, 10, 10, 20), "x2 > x1"), ((0, 5, 10, 2), "x2 > x1"), ((0, 0, float("nan"), 3), "finite")],
)
def test_crop_square_rejects_bad_boxes(box: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        crop_square(box)


def test_demo_crop_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match=r"image: expected a \(3, H, W\)"):
        demo_crop(torch.rand(64, 64), (0, 0, 10, 10))
    with pytest.raises(ValueError, match="size: expected a positive int"):
        demo_crop(torch.rand(3, 64, 64), (0, 0, 10, 10), size=0)
