"""Data for training: which data set, which of its splits, and how items become image batches.

Data sets come from :func:`physdis_hub.data.load_dataset`, each with its own ``train`` / ``val`` /
``test`` splits: UTKFace's seeded 80/10/10 partition (the paper's protocol; the seed is the
``split_seed`` option, fixed by the presets so that every training seed sees the same test set),
ShapeNet syncar's released folders (28k / 7k / 7k), the synthetic sets' disjoint identity blocks.
``max_images`` caps each split (a seeded subset) for CPU-scale runs.

Synthetic sets are rendered once into a cache folder and read back memory-mapped by every later run
with the same generator settings (the folder is named by their fingerprint): ``DataConfig.root`` when
given, else :func:`synthetic_cache_root` (``$PHYSDIS_CACHE``, else the user's cache folder).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset, Subset

from physdis_hub.configbase import ConfigBase

SPLITS: tuple[str, ...] = ("train", "val", "test")
CACHE_ENV = "PHYSDIS_CACHE"
"""Environment variable naming the folder that caches rendered synthetic data between runs."""
SYNTHETIC_PREFIX = "synthetic-"
"""Data set names of the rendered (synthetic) sets start with this."""


def synthetic_cache_root() -> Path:
    """Where synthetic sets are cached when ``DataConfig.root`` is None: ``$PHYSDIS_CACHE``, else
    ``$XDG_CACHE_HOME/physdis-hub``, else ``~/.cache/physdis-hub`` (faces-synthetic-cpu: about 1.4 GB)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "physdis-hub"


@dataclass(frozen=True)
class DataConfig(ConfigBase):
    """Which data set a run trains on."""

    dataset: str = "synthetic-faces"
    """Name for :func:`physdis_hub.data.load_dataset` (``"utkface"``, ``"syncar"``, ``"synthetic-faces"``, ...)."""
    root: str | None = None
    """Data set directory (real sets), or the cache folder of a synthetic set (None: for a real set,
    under ``$PHYSDIS_DATA``; for a synthetic one, :func:`synthetic_cache_root`)."""
    options: dict[str, Any] = field(default_factory=dict)
    """Extra keyword arguments for ``load_dataset`` (e.g. UTKFace's ``split_seed``, a synthetic set's size)."""
    max_images: tuple[int, int, int] | None = None
    """Use at most this many train / val / test images (seeded subsets); None: all."""
    subset_seed: int = 0
    """Seed of the ``max_images`` subsets (apart from the training seed: every run sees the same images)."""
    num_workers: int = 0
    """DataLoader worker processes (0: load in the training process)."""

    def __post_init__(self) -> None:
        if self.max_images is not None and (len(self.max_images) != 3 or any(n <= 0 for n in self.max_images)):
            raise ValueError(f"DataConfig.max_images: expected three positive ints or None, got {self.max_images}")
        if self.num_workers < 0:
            raise ValueError(f"DataConfig.num_workers: expected >= 0, got {self.num_workers}")


@dataclass
class Splits:
    """Train, validation and test data sets; items as :func:`image_of` / :func:`labels_of` read them."""

    train: Dataset
    """Training split (shuffled every epoch)."""
    val: Dataset
    """Validation split (early stopping, figures)."""
    test: Dataset
    """Held-out split (evaluation of the exported model)."""

    def __post_init__(self) -> None:
        for name in SPLITS:
            if size(getattr(self, name)) == 0:
                raise ValueError(f"splits.{name}: empty split")


def size(dataset: Dataset) -> int:
    """``len(dataset)`` (torch's ``Dataset`` type does not declare ``__len__``; map-style sets have it)."""
    return len(dataset)  # type: ignore[arg-type]


def _subset(dataset: Dataset, limit: int | None, seed: int) -> Dataset:
    n = size(dataset)
    if limit is None or limit >= n:
        return dataset
    keep = torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:limit].sort().values
    return Subset(dataset, keep.tolist())


def build_splits(config: DataConfig, progress: bool = False) -> Splits:
    """Load the three splits of the data set ``config`` names.

    Args:
        config: the data set, its options and subsets.
        progress: while a synthetic split is rendered into its cache (the first run with these
            settings), print where to and show a progress bar.
    """
    from physdis_hub.data import load_dataset

    root, options = config.root, dict(config.options)
    if config.dataset.startswith(SYNTHETIC_PREFIX):
        root = root or str(synthetic_cache_root())
        options["progress"] = progress
    limits = config.max_images or (None, None, None)
    parts = [
        _subset(load_dataset(config.dataset, root=root, split=name, **options), limit, config.subset_seed + i)
        for i, (name, limit) in enumerate(zip(SPLITS, limits))
    ]
    return Splits(*parts)


def image_of(item: Any) -> torch.Tensor:
    """The ``(3, S, S)`` float image in [0, 1] of a data set item (a tensor, a tuple/list whose first
    element is the image, or a mapping with an ``"image"`` key)."""
    if isinstance(item, Mapping):
        image = item.get("image")
    elif isinstance(item, (tuple, list)):
        image = item[0] if item else None
    else:
        image = item
    if not isinstance(image, torch.Tensor) or image.ndim != 3 or image.shape[0] != 3:
        got = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise ValueError(f"item: expected a (3, S, S) float image tensor, got {got}")
    return image


def labels_of(item: Any) -> dict[str, Any]:
    """The labels of a data set item: a mapping's other keys, or a tuple's second element (a mapping
    or a single label, returned as ``{"label": ...}``); empty if there are none."""
    if isinstance(item, Mapping):
        labels = item.get("labels", {k: v for k, v in item.items() if k != "image"})
    elif isinstance(item, (tuple, list)) and len(item) > 1:
        labels = item[1]
    else:
        return {}
    return dict(labels) if isinstance(labels, Mapping) else {"label": labels}


def collate_images(items: Sequence[Any]) -> torch.Tensor:
    """Stack the images of a list of items: ``(B, 3, S, S)`` float32 in [0, 1]."""
    return torch.stack([image_of(item) for item in items]).float()
