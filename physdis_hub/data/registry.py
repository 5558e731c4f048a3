"""One registry of the data sets by name: :func:`list_datasets` (entries), :func:`get_dataset` (an
entry, :class:`DatasetInfo`) and :func:`load_dataset` (the data set itself)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..errors import InputError, UnknownNameError, lookup
from . import celeba, folders, rafdb, utkface
from .images import DataLayoutError
from .synthetic import SPLITS as SYNTHETIC_SPLITS
from .synthetic import SyntheticConfig
from .synthetic_dataset import SyntheticDataset

DATA_ROOT_ENV = "PHYSDIS_DATA"
"""Environment variable naming a folder that holds the real data sets under their ``folder``
names; used when ``load_dataset`` gets no ``root``."""


class UnknownDatasetError(UnknownNameError, KeyError):
    """No data set is registered under this name (a ``KeyError``, as it always was)."""


@dataclass(frozen=True)
class DatasetInfo:
    """A registered data set.

    Attributes:
        name: registry name.
        description: one line.
        splits: accepted ``split`` values.
        layout: the expected folder layout (empty for synthetic sets, which need no files).
        folder: default folder name under ``$PHYSDIS_DATA`` (empty for synthetic sets).
        build: ``(root, split, **kw) -> Dataset``.
    """

    name: str
    description: str
    splits: tuple[str, ...]
    layout: str
    folder: str
    build: Callable[..., torch.utils.data.Dataset]


def _synthetic(category: str) -> Callable[..., SyntheticDataset]:
    fields = {f.name for f in dataclasses.fields(SyntheticConfig)}

    def build(root: Path | None, split: str, config: SyntheticConfig | None = None, **kw: Any) -> SyntheticDataset:
        changes = {k: kw.pop(k) for k in list(kw) if k in fields}
        if config is not None and changes:
            raise InputError(f"give either config or config fields {sorted(changes)}, not both")
        if config is None:
            config = SyntheticConfig.for_category(category, **changes)
        elif config.category != category:
            raise InputError(
                f"config.category: expected {category!r} for synthetic-{category}, got {config.category!r}"
            )
        return SyntheticDataset(config, split, root, **kw)

    return build


# A table, one entry per line: `# fmt: skip` keeps the formatter from splitting its rows.
_REGISTRY: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo("synthetic-faces", "Synthetic faces with full ground truth (rendered on the fly, or cached under root)",
                    tuple(SYNTHETIC_SPLITS), "", "", _synthetic("faces")),
        DatasetInfo("synthetic-faces-ict", "Synthetic faces with ICT Face Model shapes and expressions, continuous factors recorded",
                    tuple(SYNTHETIC_SPLITS), "", "", _synthetic("faces-ict")),
        DatasetInfo("synthetic-cars", "Synthetic cars with full ground truth (rendered on the fly, or cached under root)",
                    tuple(SYNTHETIC_SPLITS), "", "", _synthetic("cars")),
        DatasetInfo("utkface", "UTKFace: age, gender, race from file names", ("train", "val", "test", "all"),
                    utkface.LAYOUT, "UTKFace", utkface.UTKFace),
        DatasetInfo("celeba", "CelebA aligned: 40 binary attributes", ("train", "val", "test", "all"),
                    celeba.CELEBA_LAYOUT, "celeba", celeba.CelebA),
        DatasetInfo("celebamask-hq", "CelebAMask-HQ: 19-class face parsing masks", ("train", "val", "test", "all"),
                    celeba.MASK_LAYOUT, "CelebAMask-HQ", celeba.CelebAMaskHQ),
        DatasetInfo("rafdb", "RAF-DB basic: 7 emotions", ("train", "test", "all"), rafdb.LAYOUT, "RAF-DB", rafdb.RAFDB),
        DatasetInfo("syncar", "Unsup3d synthetic cars (images only)", ("train", "val", "test"),
                    folders.SYNCAR_LAYOUT, "syncar", folders.SynCar),
        DatasetInfo("tracks", "Video face tracks: identity per track", ("all",), folders.TRACKS_LAYOUT, "tracks",
                    folders.FaceTracks),
    )
}  # fmt: skip


def list_datasets() -> list[DatasetInfo]:
    """The registered data sets' entries, in registration order (``[d.name for d in list_datasets()]``
    are the names :func:`load_dataset` takes)."""
    return list(_REGISTRY.values())


def get_dataset(name: str) -> DatasetInfo:
    """The registry entry of ``name`` (its splits, folder layout, description).

    Raises:
        UnknownDatasetError: unknown name (a KeyError), with close matches.
    """
    return lookup(_REGISTRY, name, what="data set", error=UnknownDatasetError)


def load_dataset(
    name: str, root: str | Path | None = None, split: str = "train", **kw: Any
) -> torch.utils.data.Dataset:
    """Build a data set by name.

    Args:
        name: the name of one of :func:`list_datasets`.
        root: the data set's folder (real sets; default ``$PHYSDIS_DATA/<folder>``), or the cache
            folder of a synthetic set (default: render on the fly).
        split: one of the set's splits (:attr:`DatasetInfo.splits`).
        **kw: passed to the set's class (e.g. ``size``, ``on_malformed``); for synthetic sets, fields
            of :class:`~physdis_hub.data.synthetic.SyntheticConfig` (or ``config=``) and
            :class:`~physdis_hub.data.synthetic_dataset.SyntheticDataset` arguments.

    Raises:
        UnknownDatasetError: unknown name (a KeyError), with close matches.
        ValueError: unknown split.
        DataLayoutError: a real set without a root, or with a missing or malformed folder.
    """
    info = get_dataset(name)
    if split not in info.splits:
        raise InputError(f"split: {name} has splits {list(info.splits)}, got {split!r}")
    if root is None and info.layout:
        base = os.environ.get(DATA_ROOT_ENV)
        if not base:
            raise DataLayoutError(name, f"no root given and ${DATA_ROOT_ENV} is not set", info.layout)
        root = Path(base) / info.folder
    return info.build(root, split, **kw)
