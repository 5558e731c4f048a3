"""Shared pieces of the real-data loaders: the layout error, image preprocessing, a dataset over a
list of image files, and deterministic splits for data sets that ship none."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from ..errors import InputError, PhysdisError
from ..inputs import as_batch

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
"""File suffixes read as images by the folder layouts."""


class DataLayoutError(PhysdisError, ValueError):
    """A data set folder is missing, incomplete or malformed. The message says what is wrong and
    shows the expected layout."""

    def __init__(self, dataset: str, problem: str, layout: str) -> None:
        super().__init__(f"{dataset}: {problem}\nExpected layout:\n{layout.rstrip()}")
        self.dataset, self.problem = dataset, problem


def listing(items: Sequence[Any], limit: int = 5) -> str:
    """``"a, b, c (and 7 more)"``: a short list for error messages."""
    shown = ", ".join(str(i) for i in items[:limit])
    return shown + (f" (and {len(items) - limit} more)" if len(items) > limit else "")


def load_image(path: str | Path, size: int = 64, crop_size: int | None = None) -> torch.Tensor:
    """Read an image as the model's input.

    Args:
        path: image file.
        size: output side.
        crop_size: if given, first crop the centred square of this side (clipped to the image),
            e.g. the face region of an aligned CelebA image; then the largest centred square is
            resized to ``size`` (bilinear, antialiased; :func:`physdis_hub.inputs.as_batch`).

    Returns:
        ``(3, size, size)`` float in [0, 1].
    """
    with Image.open(path) as im:
        img = im.convert("RGB")
    if crop_size is not None:
        w, h = img.size
        side = min(crop_size, w, h)
        left, top = (w - side) // 2, (h - side) // 2
        img = img.crop((left, top, left + side, top + side))
    return as_batch(np.array(img), size, "center-crop", name=str(path))[0]


def seeded_split(
    n: int, split: str, seed: int = 0, fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
) -> np.ndarray:
    """Indices of ``split`` (``"train"``, ``"val"``, ``"test"`` or ``"all"``) in a seeded random
    80/10/10 partition of ``range(n)`` (the paper's UTKFace protocol). Sorted."""
    if split == "all":
        return np.arange(n)
    names = ("train", "val", "test")
    if split not in names:
        raise InputError(f"split: expected one of {list(names) + ['all']}, got {split!r}")
    order = np.random.default_rng(seed).permutation(n)
    bounds = np.round(np.cumsum((0.0,) + fractions) / sum(fractions) * n).astype(int)
    k = names.index(split)
    return np.sort(order[bounds[k] : bounds[k + 1]])


def report_malformed(dataset: str, malformed: list[tuple[str, str]], on_malformed: str, layout: str) -> None:
    """Raise (``on_malformed="raise"``) or warn (``"skip"``) about ``(name, reason)`` entries."""
    if not malformed:
        return
    lines = [f"{name}: {reason}" for name, reason in malformed]
    if on_malformed == "raise":
        raise DataLayoutError(dataset, f"{len(malformed)} malformed entries: {listing(lines)}", layout)
    warnings.warn(f"{dataset}: skipped {len(malformed)} malformed entries: {listing(lines)}", stacklevel=3)


def check_on_malformed(on_malformed: str) -> None:
    if on_malformed not in ("skip", "raise"):
        raise InputError(f"on_malformed: expected 'skip' or 'raise', got {on_malformed!r}")


class ImageListDataset(torch.utils.data.Dataset):
    """Images from a list of files with per-image integer labels.

    Items are ``{"image": (3, size, size) float in [0, 1], "labels": {name: tensor}, "path": str}``.

    Args:
        paths: image files, one per item.
        labels: label name -> array with first axis ``len(paths)``.
        size: output side.
        crop_size: see :func:`load_image`.
    """

    def __init__(
        self, paths: Sequence[Path], labels: dict[str, np.ndarray], size: int = 64, crop_size: int | None = None
    ) -> None:
        for name, arr in labels.items():
            if len(arr) != len(paths):
                raise InputError(f"labels[{name!r}]: expected {len(paths)} rows, got {len(arr)}")
        self.paths = list(paths)
        self.labels = labels
        self.size, self.crop_size = size, crop_size

    def __len__(self) -> int:
        return len(self.paths)

    def item_labels(self, index: int) -> dict[str, torch.Tensor]:
        """Labels of item ``index`` (subclasses add labels read from files)."""
        return {name: torch.as_tensor(arr[index]) for name, arr in self.labels.items()}

    def __getitem__(self, index: int) -> dict[str, Any]:
        path = self.paths[index]
        return {
            "image": load_image(path, self.size, self.crop_size),
            "labels": self.item_labels(index),
            "path": str(path),
        }
