"""Offline data: synthetic symmetric objects with full ground truth, and loaders for the real data
sets of the paper in their released layouts.

- :func:`list_datasets` / :func:`get_dataset` (registry entries) and :func:`load_dataset` (the
  data set): every data set by name.
- :class:`SyntheticConfig`, :class:`SyntheticGenerator`, :class:`SyntheticDataset`: synthetic faces
  (MediaPipe mesh, or ICT Face Model shapes: category ``"faces-ict"``) and cars (image, canonical
  depth, albedo, light, view; identity and attribute labels; continuous factors; OOD splits).
- :class:`UTKFace`, :class:`CelebA`, :class:`CelebAMaskHQ`, :class:`RAFDB`, :class:`SynCar`,
  :class:`FaceTracks`: real layouts; a missing or malformed folder raises :class:`DataLayoutError`.
"""

from .celeba import MASK_CLASSES, CelebA, CelebAMaskHQ
from .folders import FaceTracks, SynCar
from .images import DataLayoutError, load_image
from .rafdb import EMOTIONS, RAFDB
from .registry import DatasetInfo, get_dataset, list_datasets, load_dataset
from .synthetic import (
    SPLITS,
    LightRange,
    SyntheticBatch,
    SyntheticConfig,
    SyntheticGenerator,
    ViewRange,
    scene_from_ground_truth,
)
from .synthetic_dataset import SyntheticDataset, write_cache
from .utkface import UTKFace

__all__ = [
    "EMOTIONS",
    "MASK_CLASSES",
    "RAFDB",
    "SPLITS",
    "CelebA",
    "CelebAMaskHQ",
    "DataLayoutError",
    "DatasetInfo",
    "FaceTracks",
    "LightRange",
    "SynCar",
    "SyntheticBatch",
    "SyntheticConfig",
    "SyntheticDataset",
    "SyntheticGenerator",
    "UTKFace",
    "ViewRange",
    "get_dataset",
    "load_dataset",
    "list_datasets",
    "load_image",
    "scene_from_ground_truth",
    "write_cache",
]
