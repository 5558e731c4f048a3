"""A torch ``Dataset`` over the synthetic data, rendered on the fly or cached to disk.

Each item is a dict::

    {"image": (3, 64, 64) float in [0, 1],
     "gt": {"depth": (64, 64), "albedo": (3, 64, 64) in [-1, 1], "object_mask": (64, 64) bool,
            "light_ambient": (), "light_diffuse": (), "light_direction": (3,),
            "view_rotation": (3,), "view_translation": (3,), "mask": (1, 64, 64) bool,
            "view_depth": (64, 64), "view_object_mask": (1, 64, 64) bool},
     "labels": {"identity": int64, <attribute>: int64, ...},
     "factors": {"light": (5,), "view": (5,), <category factor>: (K,), ...} float32}

and a collated batch turns back into scene parameters with
:func:`~physdis_hub.data.synthetic.scene_from_ground_truth`.

The disk cache is one ``.npy`` file per field (memory-mapped on read, so random access is cheap)
under ``<root>/synthetic-<category>-<config fingerprint>/<split>/``, with ``meta.json`` written last
to mark it complete (it also lists the column names of each ``factors.<group>.npy``). A 64x64
sample takes about 150 KB (float32 maps), 10,000 samples about 1.5 GB.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from .synthetic import SyntheticBatch, SyntheticConfig, SyntheticGenerator

CACHE_FORMAT = 2
"""Version of the cache layout; a cache of another version is regenerated (2: items carry ``factors``)."""


def _flatten(batch: SyntheticBatch) -> dict[str, np.ndarray]:
    """``{"image", "gt/<key>", "labels/<name>", "factors/<name>"}`` -> arrays with first axis ``B``."""
    flat = {"image": batch.image.numpy()}
    flat.update({f"gt/{k}": v.numpy() for k, v in batch.ground_truth().items()})
    flat.update({f"labels/{k}": v.numpy() for k, v in batch.labels.items()})
    flat.update({f"factors/{k}": v.numpy() for k, v in batch.factors.items()})
    return flat


def _item(flat: dict[str, Any], j: int) -> dict[str, Any]:
    """Row ``j`` of a flat dict as a dataset item (copies out of memory maps)."""
    out: dict[str, Any] = {"image": None, "gt": {}, "labels": {}, "factors": {}}
    for key, arr in flat.items():
        value = torch.from_numpy(np.array(arr[j]))
        if key == "image":
            out["image"] = value
        else:
            group, name = key.split("/", 1)
            out[group][name] = value
    return out


def cache_dir(root: str | Path, config: SyntheticConfig, split: str) -> Path:
    """Where ``split`` of ``config`` is cached under ``root``."""
    return Path(root) / f"synthetic-{config.category}-{config.fingerprint()}" / split


def write_cache(
    config: SyntheticConfig, split: str, root: str | Path, batch_size: int = 256, progress: bool = True
) -> Path:
    """Render ``split`` into the disk cache (replacing an incomplete or stale one), with a progress line
    and bar when ``progress``.

    The split is rendered into a private temporary folder beside the cache and renamed into place when
    complete, so that two processes rendering the same split at once (two runs started together, DDP
    ranks) never write into each other's files: the first rename wins and the other copy is dropped.

    Returns:
        The cache folder (see :func:`cache_dir`).
    """
    generator = SyntheticGenerator(config)
    folder = cache_dir(root, config, split)
    folder.parent.mkdir(parents=True, exist_ok=True)
    n = config.split_size(split)
    if progress:
        tqdm.write(
            f"rendering synthetic {config.category} '{split}' ({n:,} images) into {folder}; "
            "later runs with the same data settings reuse it",
            file=sys.stderr,
        )
    tmp = Path(tempfile.mkdtemp(prefix=f".{split}.", suffix=".tmp", dir=folder.parent))
    try:
        arrays: dict[str, np.memmap] = {}
        start = 0
        for batch in generator.batches(split, batch_size, progress=progress):
            flat = _flatten(batch)
            if not arrays:
                arrays = {
                    key: np.lib.format.open_memmap(
                        tmp / f"{key.replace('/', '.')}.npy", mode="w+", dtype=a.dtype, shape=(n, *a.shape[1:])
                    )
                    for key, a in flat.items()
                }
            for key, a in flat.items():
                arrays[key][start : start + len(a)] = a
            start += len(batch.image)
        for a in arrays.values():
            a.flush()
        names = generator.factor_names()  # read_cache compares them
        meta = {
            "format": CACHE_FORMAT,
            "split": split,
            "size": n,
            "fields": sorted(arrays),
            "config": config.to_dict(),
            "factor_names": {k: list(v) for k, v in names.items()},
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
        if folder.exists() and read_cache(config, split, root, names) is None:
            shutil.rmtree(folder, ignore_errors=True)  # incomplete or stale: replaced
        try:
            tmp.rename(folder)
        except OSError:  # another process completed the same split first: keep its copy
            if read_cache(config, split, root, names) is None:
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def read_cache(
    config: SyntheticConfig, split: str, root: str | Path, factor_names: dict[str, tuple[str, ...]] | None = None
) -> dict[str, np.ndarray] | None:
    """Memory-mapped arrays of a complete cache, or ``None`` if there is none (or it is stale).

    ``factor_names`` (group -> columns, as the generator records them now) also makes a cache
    stale whose factors were recorded under other names, e.g. before a category recorded a group.
    """
    folder = cache_dir(root, config, split)
    try:
        meta = json.loads((folder / "meta.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if meta.get("format") != CACHE_FORMAT or meta.get("config") != config.to_dict() or meta.get("split") != split:
        return None
    recorded = {k: tuple(v) for k, v in meta.get("factor_names", {}).items()}  # JSON holds lists
    if factor_names is not None and recorded != factor_names:
        return None
    try:
        arrays = {key: np.load(folder / f"{key.replace('/', '.')}.npy", mmap_mode="r") for key in meta["fields"]}
    except (FileNotFoundError, ValueError):
        return None
    if any(len(a) != meta["size"] for a in arrays.values()):
        return None
    return arrays


class SyntheticDataset(torch.utils.data.Dataset):
    """The samples of one split of a synthetic data set (see the module docstring for items).

    Args:
        config: the data set definition (:class:`~physdis_hub.data.synthetic.SyntheticConfig`).
        split: one of :data:`~physdis_hub.data.synthetic.SPLITS`.
        root: cache folder. If given, the split is rendered there once (with a progress bar) and
            then read through memory maps; if ``None``, samples are rendered on the fly.
        chunk_size: samples rendered together on the fly (and per batch when caching).
        max_chunks: rendered chunks kept in memory on the fly (sequential or chunk-local access is
            fast; for shuffled training over many epochs prefer ``root``).
        progress: show a progress bar while caching.
    """

    def __init__(
        self,
        config: SyntheticConfig | None = None,
        split: str = "train",
        root: str | Path | None = None,
        chunk_size: int = 256,
        max_chunks: int = 4,
        progress: bool = True,
    ) -> None:
        self.config = config if config is not None else SyntheticConfig()
        self.split = split
        self._size = self.config.split_size(split)  # validates the split name
        if chunk_size < 1 or max_chunks < 1:
            raise ValueError(f"chunk_size and max_chunks: expected positive ints, got {chunk_size}, {max_chunks}")
        self.chunk_size, self.max_chunks = chunk_size, max_chunks
        self.generator = SyntheticGenerator(self.config)
        self._arrays: dict[str, np.ndarray] | None = None
        if root is not None:
            names = self.generator.factor_names()
            self._arrays = read_cache(self.config, split, root, names)
            if self._arrays is None:
                write_cache(self.config, split, root, chunk_size, progress)
                self._arrays = read_cache(self.config, split, root, names)
        self._chunks: OrderedDict[int, dict[str, np.ndarray]] = OrderedDict()

    @property
    def attributes(self) -> dict[str, tuple[str, ...]]:
        """Label name -> class names (``"identity"`` is not listed: its classes are its indices)."""
        return {spec.name: spec.classes for spec in self.generator.category.attributes}

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not -self._size <= index < self._size:
            raise IndexError(f"index {index} out of range for split {self.split!r} of {self._size} samples")
        index %= self._size
        if self._arrays is not None:
            return _item(self._arrays, index)
        chunk, j = divmod(index, self.chunk_size)
        if chunk not in self._chunks:
            start = chunk * self.chunk_size
            indices = np.arange(start, min(start + self.chunk_size, self._size))
            self._chunks[chunk] = _flatten(self.generator.render(self.split, indices))
            if len(self._chunks) > self.max_chunks:
                self._chunks.popitem(last=False)
        self._chunks.move_to_end(chunk)
        return _item(self._chunks[chunk], j)
