"""Streaming feature extraction at data-set scale: a DataLoader decodes images in worker processes,
the model encodes batch after batch, and features go to disk shard by shard, so memory stays bounded
whatever the number of images.

Inputs are a :class:`Source`: image files (:class:`FileSource`, from files, folders and ``.txt``
file lists) or a registered data set (:class:`DatasetSource`, ``dataset:NAME[:SPLIT]`` on the
command line). Each decoded image goes through a *preprocessing hook*, a callable
``(3, H, W) float tensor in [0, 1] -> list of (3, S, S) crops`` (default :class:`CenterCrop`: the
model's own crop/resize, one crop per image), so a face detector/aligner can return one crop per
face instead. An image with k crops gives k rows named ``NAME#0`` ... ``NAME#k-1`` (one crop: ``NAME``).

Shard ``k`` always holds inputs ``[k * shard_size, (k + 1) * shard_size)``, whoever computes it. A
run resumes by skipping the shards already on disk (complete by construction: they are written
under a temporary name and moved into place). Under ``torchrun`` (``WORLD_SIZE`` > 1) rank ``r``
computes the shards ``k`` with ``k % world_size == r`` and rank 0 writes the one index at the end.
"""

from __future__ import annotations

import abc
import hashlib
import json
import math
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from .errors import InputError
from .features import SHARD_FORMATS, shard_name, write_features, write_index, write_json
from .inputs import as_batch, collect_images, read_image
from .model import PhysDisModel
from .vocab import BATCH_SIZE, Part, check_parts

Preprocess = Callable[[torch.Tensor], list[torch.Tensor]]
"""A preprocessing hook: one decoded image ``(3, H, W)`` float in [0, 1] -> model-sized crops ``(3, S, S)``
(``[]``: nothing to take, reported as :data:`NO_FACE`). A hook with a true ``numbered`` attribute names
every row ``NAME#j``, even when an image gives one crop."""
DATASET_PREFIX = "dataset:"
"""Prefix of a registered data set among the inputs: ``dataset:NAME[:SPLIT]`` (split default: test)."""
MANIFEST_NAME = ".manifest.json"
"""What a shard folder's extraction computes (model, parts, inputs, shard size); checked on resume."""
NO_FACE = "no face found"
"""Why an input whose preprocessing hook returned no crop (an aligner found no face) was skipped."""
ON_ERROR = ("raise", "skip")
"""What to do with an input that cannot be decoded: stop with an error naming it, or skip and list it."""
SKIP_HINT = "pass --on-error skip (on_error='skip') to skip such inputs"
"""Ends the error of an input that cannot be decoded (extract and decompose)."""


class CenterCrop:
    """The default preprocessing hook: the model's crop/resize (:func:`physdis_hub.inputs.as_batch`).

    Args:
        size: model input side S.
        resize: ``"center-crop"`` or ``"stretch"``.
    """

    def __init__(self, size: int, resize: str = "center-crop") -> None:
        self.size, self.resize = size, resize

    def __call__(self, image: torch.Tensor) -> list[torch.Tensor]:
        """``(3, H, W)`` in [0, 1] -> ``[(3, S, S)]``."""
        return [as_batch(image, self.size, self.resize)[0]]


@dataclass
class Item:
    """One input after decoding (what a :class:`Source` yields, in a worker).

    Attributes:
        index: position in the source.
        name: the input's name.
        crops: ``(k, 3, S, S)`` (k may be 0) or None when decoding failed.
        error: why decoding failed, else None.
        numbered: name the rows ``NAME#j`` even when there is one crop (a hook whose ``numbered``
            attribute is true, e.g. an aligner taking every face).
    """

    index: int
    name: str
    crops: torch.Tensor | None
    error: str | None = None
    numbered: bool = False


class Source(Dataset, abc.ABC):
    """Base of the inputs of :func:`extract_to_folder`: ``len`` inputs, each decoded to an :class:`Item`.

    Subclasses set ``preprocess`` (None: :func:`iter_shards` sets the model's :class:`CenterCrop`)
    and implement ``__len__``, :meth:`decode` and :attr:`fingerprint`.
    """

    preprocess: Preprocess | None

    @abc.abstractmethod
    def __len__(self) -> int:
        """Number of inputs."""

    @abc.abstractmethod
    def decode(self, index: int) -> tuple[str, torch.Tensor]:
        """``(name, image (3, H, W) float in [0, 1])`` of input ``index``; may raise ValueError/OSError."""

    @property
    @abc.abstractmethod
    def fingerprint(self) -> str:
        """A string that changes whenever the list of inputs does (checked when a run resumes)."""

    def __getitem__(self, index: int) -> Item:
        name = self.name(index)
        try:
            name, image = self.decode(index)
            assert self.preprocess is not None, "iter_shards sets the default hook"
            crops = self.preprocess(image)
        except (ValueError, OSError) as err:
            return Item(index, name, None, str(err))
        stacked = torch.stack(crops) if crops else torch.zeros(0, 3, 1, 1)
        return Item(index, name, stacked, numbered=bool(getattr(self.preprocess, "numbered", False)))

    def name(self, index: int) -> str:
        """The name of input ``index`` before decoding (for error messages)."""
        return str(index)


class FileSource(Source):
    """Image files (read by :func:`physdis_hub.inputs.read_image`: alpha onto white, 16-bit scaled).

    Args:
        paths: image files, in order.
        preprocess: the hook (see :data:`Preprocess`; default: the model's :class:`CenterCrop`).
    """

    def __init__(self, paths: Sequence[str | Path], preprocess: Preprocess | None = None) -> None:
        self.paths, self.preprocess = [str(p) for p in paths], preprocess  # str: a third of a Path's memory

    def __len__(self) -> int:
        return len(self.paths)

    def name(self, index: int) -> str:
        return self.paths[index]

    def decode(self, index: int) -> tuple[str, torch.Tensor]:
        array = read_image(self.paths[index], "inputs")
        return self.paths[index], torch.from_numpy(array).permute(2, 0, 1)

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for path in self.paths:
            digest.update(path.encode() + b"\n")
        return digest.hexdigest()


class DatasetSource(Source):
    """The ``"image"`` of every item of a data set (e.g. :func:`physdis_hub.data.load_dataset`).

    Args:
        dataset: a map-style data set whose items are dicts with ``"image"`` ``(3, H, W)`` in [0, 1]
            (and optionally ``"path"``, used as the name).
        label: names items without a path: ``f"{label}/{index:07d}"``; also identifies the set in the fingerprint.
        preprocess: the hook (default: the model's :class:`CenterCrop`).
    """

    def __init__(self, dataset: Dataset, label: str, preprocess: Preprocess | None = None) -> None:
        self.dataset, self.label, self.preprocess = dataset, label, preprocess

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def name(self, index: int) -> str:
        return f"{self.label}/{index:07d}"

    def decode(self, index: int) -> tuple[str, torch.Tensor]:
        item = self.dataset[index]
        return str(item.get("path", self.name(index))), item["image"]

    @property
    def fingerprint(self) -> str:
        return f"{self.label}:{len(self)}"


def make_source(inputs: Sequence[str], preprocess: Preprocess | None = None) -> Source:
    """A :class:`Source` for command-line inputs: ``dataset:NAME[:SPLIT]`` alone, or image files,
    folders and ``.txt`` file lists (:func:`physdis_hub.inputs.collect_images`)."""
    datasets = [i for i in inputs if str(i).startswith(DATASET_PREFIX)]
    if datasets:
        if len(inputs) != 1:
            raise InputError(f"inputs: a {DATASET_PREFIX}NAME input must be the only input, got {list(inputs)}")
        from .data import load_dataset

        name, _, split = datasets[0][len(DATASET_PREFIX) :].partition(":")
        return DatasetSource(load_dataset(name, split=split or "test"), f"{name}/{split or 'test'}", preprocess)
    return FileSource(collect_images(inputs), preprocess)


@dataclass(frozen=True)
class Rank:
    """This process's place among ``torchrun`` processes (rank 0 of 1 without torchrun).

    Attributes:
        rank: this process's index, ``0 <= rank < world_size``; it computes shards ``k % world_size == rank``.
        world_size: number of processes.
        local_rank: index on this machine (the CUDA device ``cuda:local_rank``).
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @staticmethod
    def from_env() -> Rank:
        """Read ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` (set by torchrun)."""
        env = os.environ
        return Rank(int(env.get("RANK", 0)), int(env.get("WORLD_SIZE", 1)), int(env.get("LOCAL_RANK", 0)))


@dataclass(frozen=True)
class StreamOptions:
    """How :func:`iter_shards` (and so :func:`extract_to_folder` / :func:`extract_to_file`) runs."""

    parts: tuple[Part, ...] = ("geom", "alb")
    """Parts to extract, in this order."""
    batch_size: int = BATCH_SIZE
    """Inputs per DataLoader batch and forward pass."""
    workers: int = 0
    """DataLoader worker processes that decode and preprocess (0: in this process)."""
    on_error: str = "raise"
    """An undecodable input: ``"raise"`` stops with an error naming it, ``"skip"`` leaves it out and lists it."""
    progress: bool | None = None
    """Progress bar over inputs (None: when stderr is a terminal)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "parts", tuple(check_parts(self.parts)))
        _check_positive(batch_size=self.batch_size)
        if not isinstance(self.workers, int) or self.workers < 0:
            raise InputError(f"workers: expected an int >= 0, got {self.workers!r}")
        if self.on_error not in ON_ERROR:
            raise InputError(f"on_error: expected one of {ON_ERROR}, got {self.on_error!r}")


def _collate(items: list[Item]) -> list[Item]:
    return items


@dataclass
class Shard:
    """The features of one shard, as :func:`iter_shards` yields them.

    Attributes:
        k: shard number.
        names: ``(N_k,)`` row names.
        parts: part -> ``(N_k, d)`` float32.
        skipped: names of the inputs that failed to decode; ``errors``: why.
    """

    k: int
    names: list[str]
    parts: dict[str, np.ndarray]
    skipped: list[str]
    errors: list[str]


@dataclass
class Crops:
    """The model batch of some decoded :class:`Item` s, as :func:`gather_crops` returns it.

    Attributes:
        crops: ``(M, 3, S, S)``, every crop of the items that gave any, in order.
        rows: per crop, its item and its number among that item's crops (None: the item's only
            crop, not numbered).
        skipped: ``(name, why)`` of each item left out: it failed to decode, or its hook found
            nothing to crop (:data:`NO_FACE`).
    """

    crops: torch.Tensor
    rows: list[tuple[Item, int | None]]
    skipped: list[tuple[str, str]]


def gather_crops(items: Sequence[Item], on_error: str = "raise") -> Crops:
    """Stack the crops of decoded ``items`` into one batch, leaving out the items without any.

    Args:
        items: what a :class:`Source` yields.
        on_error: an item that failed to decode: ``"raise"`` or ``"skip"`` (see :data:`ON_ERROR`).

    Raises:
        ValueError: an item failed to decode and ``on_error == "raise"`` (the message names it).
    """
    crops: list[torch.Tensor] = []
    rows: list[tuple[Item, int | None]] = []
    skipped: list[tuple[str, str]] = []
    for it in items:
        if it.crops is None:
            if on_error == "raise":
                raise InputError(f"{it.error}; {SKIP_HINT}")
            skipped.append((it.name, str(it.error)))
        elif not len(it.crops):  # the hook found nothing to crop (an aligner: no face): reported, never an error
            skipped.append((it.name, NO_FACE))
        else:
            n = len(it.crops)
            rows += [(it, None)] if n == 1 and not it.numbered else [(it, j) for j in range(n)]
            crops.append(it.crops)
    return Crops(torch.cat(crops) if crops else torch.zeros(0, 3, 1, 1), rows, skipped)


def row_name(item: Item, number: int | None) -> str:
    """The feature row of crop ``number`` of ``item``: ``NAME``, or ``NAME#j`` for a numbered crop."""
    return item.name if number is None else f"{item.name}#{number}"


def iter_shards(
    model: PhysDisModel, source: Source, shards: Sequence[int], shard_size: int, options: StreamOptions
) -> Iterator[Shard]:
    """Encode the inputs of ``shards`` (shard ``k``: inputs ``[k * shard_size, (k + 1) * shard_size)``),
    in the order given, one :class:`Shard` at a time.

    Memory holds one shard's features plus the DataLoader's prefetched batches. A source without a
    preprocessing hook gets the model's :class:`CenterCrop`.

    Raises:
        ValueError: an input failed to decode and ``options.on_error == "raise"`` (the message names it).
    """
    _check_positive(shard_size=shard_size)
    if source.preprocess is None:
        source.preprocess = CenterCrop(model.config.image_size, model.config.resize)
    n, step = len(source), options.batch_size
    batches = [
        list(range(lo, min(lo + step, hi)))
        for k in shards
        for hi in [min((k + 1) * shard_size, n)]
        for lo in range(k * shard_size, hi, step)
    ]
    loader = DataLoader(source, batch_sampler=batches, num_workers=options.workers, collate_fn=_collate)
    from tqdm.auto import tqdm

    disable = None if options.progress is None else not options.progress
    bar = tqdm(total=sum(len(b) for b in batches), desc="extract", unit="img", disable=disable)
    current: _ShardBuffer | None = None
    try:
        for items in loader:
            k = items[0].index // shard_size
            if current is None or current.k != k:
                if current is not None:
                    yield current.finish(model.config.nets.feature_dims)
                current = _ShardBuffer(k, options.parts)
            current.add(items, model, options)
            bar.update(len(items))
        if current is not None:
            yield current.finish(model.config.nets.feature_dims)
    finally:
        bar.close()


class _ShardBuffer:
    """The rows of one shard as batches arrive."""

    def __init__(self, k: int, parts: Sequence[Part]) -> None:
        self.k, self.parts = k, parts
        self.names: list[str] = []
        self.skipped: list[str] = []
        self.errors: list[str] = []
        self.chunks: dict[str, list[np.ndarray]] = {p: [] for p in parts}

    def add(self, items: list[Item], model: PhysDisModel, options: StreamOptions) -> None:
        batch = gather_crops(items, options.on_error)
        for name, why in batch.skipped:
            self.skipped.append(name)
            self.errors.append(why)
        self.names += [row_name(it, j) for it, j in batch.rows]
        if batch.rows:
            feats = cast(
                dict[str, torch.Tensor],
                model.extract(  # as_dict=True: a dict
                    batch.crops,
                    parts=self.parts,
                    as_dict=True,
                    batch_size=options.batch_size,
                    progress=False,
                    align=False,
                ),
            )
            for p in self.parts:
                self.chunks[p].append(feats[p].cpu().numpy())

    def finish(self, dims: dict[str, int]) -> Shard:
        parts = {p: np.concatenate(c) if c else np.zeros((0, dims[p]), np.float32) for p, c in self.chunks.items()}
        return Shard(self.k, self.names, parts, self.skipped, self.errors)


def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if not isinstance(value, int) or value <= 0:
            raise InputError(f"{name}: expected a positive int, got {value!r}")


def extract_to_folder(
    model: PhysDisModel,
    source: Source,
    folder: str | Path,
    *,
    model_id: str,
    options: StreamOptions | None = None,
    shard_size: int = 10_000,
    fmt: str = "npz",
    rank: Rank | None = None,
) -> dict[str, Any] | None:
    """Extract the features of ``source`` into a shard folder (resuming what is there).

    Args:
        model: the model (its device is used).
        source: the inputs.
        folder: output folder; created when the first shard is written (a run that fails before
            leaves no folder behind).
        model_id: recorded in the index (e.g. the ``--model`` name).
        options: parts, batch size, workers, error policy, progress (default: ``StreamOptions()``).
        shard_size: inputs per shard.
        fmt: shard format, ``"npz"`` or ``"parquet"`` (pyarrow).
        rank: this process's rank (default: from the torchrun environment). All ranks must call.

    Returns:
        The index (rank 0), or None on the other ranks.

    Raises:
        ValueError: the folder holds another extraction (other model, parts, inputs or shard size),
            bad arguments, or an undecodable input with ``on_error="raise"``.
    """
    options = options or StreamOptions()
    _check_positive(shard_size=shard_size)
    if fmt not in SHARD_FORMATS:
        raise InputError(f"fmt: expected one of {SHARD_FORMATS}, got {fmt!r}")
    rank = rank or Rank.from_env()
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"--output: {folder} exists and is not a folder")
    manifest = {
        "model": model_id,
        "parts": list(options.parts),
        "shard_size": shard_size,
        "format": fmt,
        "num_inputs": len(source),
        "inputs_sha256": source.fingerprint,
    }
    _check_manifest(folder, manifest)
    n_shards = math.ceil(len(source) / shard_size)
    files = [shard_name(k, fmt) for k in range(n_shards)]
    mine = [k for k in range(rank.rank, n_shards, rank.world_size) if not (folder / files[k]).exists()]
    created = not folder.exists()
    try:
        for shard in iter_shards(model, source, mine, shard_size, options):
            _write_manifest(folder, manifest)
            write_features(
                folder / files[shard.k],
                shard.parts,
                shard.names,
                model=model_id,
                skipped=shard.skipped,
                skipped_errors=shard.errors,
            )
    except BaseException:
        if created and folder.is_dir() and not any(folder.glob("shard-*")):
            shutil.rmtree(folder)
        raise
    if rank.world_size > 1:
        torch.distributed.barrier()
    if rank.rank != 0:
        return None
    _write_manifest(folder, manifest)
    missing = [f for f in files if not (folder / f).exists()]
    if missing:
        raise InputError(f"--output: shards {missing[:3]} are missing in {folder} after every rank finished")
    dims = model.config.nets.feature_dims
    meta = {
        "model": model_id,
        "parts": list(options.parts),
        "dims": {p: dims[p] for p in options.parts},
        "image_size": model.config.image_size,
        "num_inputs": len(source),
        "shard_size": shard_size,
    }
    return write_index(folder, files, meta)


def _write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """Record what this folder's extraction computes, once (before its first shard)."""
    if not (folder / MANIFEST_NAME).is_file():
        write_json(folder / MANIFEST_NAME, manifest)


def _check_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    path = folder / MANIFEST_NAME
    if not path.is_file():
        if folder.is_dir() and any(folder.iterdir()):
            raise InputError(
                f"--output: {folder} is a non-empty folder that no `physdis extract` wrote; choose another"
            )
        return
    old = json.loads(path.read_text())
    changed = [k for k in manifest if old.get(k) != manifest[k]]
    if changed:
        diff = ", ".join(f"{k}: {old.get(k)!r} -> {manifest[k]!r}" for k in changed)
        raise InputError(
            f"--output: {folder} holds another extraction ({diff}); resume it with the same arguments, or "
            "write to a new folder"
        )


def extract_to_file(
    model: PhysDisModel, source: Source, path: str | Path, *, model_id: str, options: StreamOptions | None = None
) -> tuple[int, list[tuple[str, str]]]:
    """Extract ``source`` into one ``.npz`` / ``.parquet`` file (all features held in memory once).

    Returns:
        ``(rows written, (name, why) of each skipped input)``.
    """
    if len(source) == 0:
        raise InputError("inputs: no images")
    (shard,) = iter_shards(model, source, [0], len(source), options or StreamOptions())
    write_features(path, shard.parts, shard.names, model=model_id, skipped=shard.skipped, skipped_errors=shard.errors)
    return len(shard.names), list(zip(shard.skipped, shard.errors))
