"""The feature-file format: what ``physdis extract`` writes and ``physdis probe`` reads.

Two layouts hold the same columns (``names`` (N,), one ``(N, d)`` float32 array per part, and
their concatenation ``features`` (N, D) in the order of ``parts``):

- a **single file**, ``.npz`` (keys ``names``, ``parts``, ``features``, one per part, ``skipped``,
  ``skipped_errors``, ``model``) or ``.parquet`` (columns ``name``, ``features`` and one per part as
  fixed-size lists; schema metadata ``parts``, ``skipped``, ``model``; needs pyarrow);
- a **shard folder**: ``shard-000000.npz`` (or ``.parquet``), ``shard-000001...``, each a single
  file as above covering a fixed range of the inputs, plus :data:`INDEX_NAME` (``index.json``)
  written once every shard exists. The index lists the shards (file, rows, image names), the parts
  and their dims, the model id, the image size and the skipped inputs with their errors.

Every file is written to a temporary name and moved into place with ``os.replace``, so a file under
its final name is always complete (a killed run leaves at most a ``.*.tmp`` file, never a truncated
shard).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError

INDEX_NAME = "index.json"
"""The index of a shard folder."""
FORMAT = "physdis-features"
"""The ``format`` field of an index."""
VERSION = 1
"""The ``version`` field of an index this module writes and reads."""
SHARD_FORMATS = ("npz", "parquet")
"""File formats of single files and shards."""


@dataclass
class FeatureSet:
    """Features read back from a file or a shard folder.

    Attributes:
        names: ``(N,)`` image names (file paths as given, or data-set item names).
        parts: part name -> ``(N, d)`` float32, in the order they were extracted.
        model: the model id that extracted them (None for files written without one).
        skipped: names of inputs that could not be decoded and were skipped.
        skipped_errors: the error message of each skipped input (same order as ``skipped``).
    """

    names: list[str]
    parts: dict[str, np.ndarray]
    model: str | None = None
    skipped: list[str] = field(default_factory=list)
    skipped_errors: list[str] = field(default_factory=list)

    @property
    def features(self) -> np.ndarray:
        """``(N, D)``: the parts concatenated in their order."""
        return np.concatenate(list(self.parts.values()), axis=1)

    def arrays(self) -> dict[str, np.ndarray]:
        """``{"features", "names", <part>...}`` as the probes read them."""
        return {"features": self.features, "names": np.array(self.names), **self.parts}


def require_pyarrow(name: str) -> None:
    """Raise a ValueError naming the argument ``name`` when pyarrow is not installed."""
    try:
        import pyarrow  # noqa: F401
    except ImportError as err:
        raise InputError(f"{name}: .parquet needs pyarrow (pip install 'physdis-hub[parquet]'); or use .npz") from err


def write_features(
    path: str | Path,
    parts: dict[str, np.ndarray],
    names: Sequence[str],
    *,
    model: str | None = None,
    skipped: Sequence[str] = (),
    skipped_errors: Sequence[str] = (),
) -> Path:
    """Write one feature file (``.npz`` or ``.parquet``, by suffix) atomically.

    Args:
        path: destination; its folder is created.
        parts: part name -> ``(N, d)`` features (stored as float32, in this order).
        names: ``(N,)`` image names.
        model: id of the model that extracted them.
        skipped, skipped_errors: inputs left out (undecodable files) and why.

    Returns:
        ``path``.
    """
    path = Path(path)
    if path.suffix not in (".npz", ".parquet"):
        raise InputError(f"path: expected a .npz or .parquet file name, got {path}")
    if path.suffix == ".parquet":
        require_pyarrow("path")
    if not parts:
        raise InputError("parts: expected at least one part, got none")
    arrays = {k: np.asarray(v, dtype=np.float32) for k, v in parts.items()}
    for k, v in arrays.items():
        if v.ndim != 2 or v.shape[0] != len(names):
            raise InputError(f"parts[{k!r}]: expected shape ({len(names)}, d) for {len(names)} names, got {v.shape}")
    features = np.concatenate(list(arrays.values()), axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        if path.suffix == ".parquet":
            _write_parquet(
                tmp, {"features": features, **arrays}, list(names), list(parts), model, skipped, skipped_errors
            )
        else:
            payload: dict[str, np.ndarray] = {
                "names": np.array(list(names), dtype=str),
                "parts": np.array(list(parts)),
                "features": features,
                "skipped": np.array(list(skipped), dtype=str),
                "skipped_errors": np.array(list(skipped_errors), dtype=str),
                "model": np.array(model or ""),
                **arrays,
            }
            with open(tmp, "wb") as f:
                np.savez(f, **payload)  # type: ignore[arg-type]  # (the stubs read **payload as allow_pickle)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _write_parquet(
    tmp: Path,
    arrays: dict[str, np.ndarray],
    names: list[str],
    parts: list[str],
    model: str | None,
    skipped: Sequence[str],
    skipped_errors: Sequence[str],
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = {
        k: pa.FixedSizeListArray.from_arrays(pa.array(v.reshape(-1), type=pa.float32()), v.shape[1])
        for k, v in arrays.items()
    }
    meta = {"parts": parts, "model": model, "skipped": list(skipped), "skipped_errors": list(skipped_errors)}
    table = pa.table(
        {"name": pa.array(names, type=pa.string()), **columns}, metadata={k: json.dumps(v) for k, v in meta.items()}
    )
    pq.write_table(table, tmp)


def read_features(path: str | Path) -> FeatureSet:
    """Read a ``.npz`` / ``.parquet`` feature file or a shard folder (through its ``index.json``).

    Raises:
        ValueError: naming ``path`` for a missing file, a folder without a complete index, or a file
            that is not a feature file.
    """
    path = Path(path)
    if path.is_dir():
        return _read_folder(path)
    if not path.is_file():
        raise InputError(f"features: {path} is neither a feature file nor a shard folder")
    if path.suffix == ".parquet":
        require_pyarrow("features")
        return _read_parquet(path)
    if path.suffix != ".npz":
        raise InputError(f"features: expected a .npz or .parquet file or a shard folder, got {path}")
    with np.load(path, allow_pickle=False) as data:
        keys = set(data.files)
        if "parts" not in keys or "names" not in keys:
            raise InputError(
                f"features: {path} lacks the 'names'/'parts' arrays of a physdis feature file (keys: {sorted(keys)})"
            )
        parts = [str(p) for p in data["parts"]]
        return FeatureSet(
            names=[str(n) for n in data["names"]],
            parts={p: data[p] for p in parts},
            model=(str(data["model"]) or None) if "model" in keys else None,
            skipped=[str(n) for n in data["skipped"]] if "skipped" in keys else [],
            skipped_errors=[str(n) for n in data["skipped_errors"]] if "skipped_errors" in keys else [],
        )


def _read_parquet(path: Path) -> FeatureSet:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    meta = {k.decode(): json.loads(v) for k, v in (table.schema.metadata or {}).items()}
    if "parts" not in meta:
        raise InputError(f"features: {path} lacks the 'parts' metadata of a physdis feature file")
    parts = {}
    for p in meta["parts"]:
        column = table.column(p).combine_chunks()
        dim = column.type.list_size
        parts[p] = column.flatten().to_numpy(zero_copy_only=False).astype(np.float32).reshape(-1, dim)
    return FeatureSet(
        names=[str(n) for n in table.column("name").to_pylist()],
        parts=parts,
        model=meta.get("model"),
        skipped=meta.get("skipped", []),
        skipped_errors=meta.get("skipped_errors", []),
    )


def read_shard_names(path: Path) -> tuple[list[str], list[str], list[str]]:
    """``(names, skipped, skipped_errors)`` of one shard, without loading its features."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path, columns=["name"])
        meta = {k.decode(): json.loads(v) for k, v in (table.schema.metadata or {}).items()}
        return [str(n) for n in table.column("name").to_pylist()], meta["skipped"], meta["skipped_errors"]
    with np.load(path, allow_pickle=False) as data:
        return [[str(n) for n in data[k]] for k in ("names", "skipped", "skipped_errors")]  # type: ignore[return-value]


def shard_name(k: int, fmt: str) -> str:
    """File name of shard ``k``: ``shard-000042.npz``."""
    if fmt not in SHARD_FORMATS:
        raise InputError(f"fmt: expected one of {SHARD_FORMATS}, got {fmt!r}")
    return f"shard-{k:06d}.{fmt}"


def write_index(folder: Path, shard_files: Sequence[str], meta: dict[str, Any]) -> dict[str, Any]:
    """Write ``folder/index.json`` listing ``shard_files`` (all present) with their image names.

    The JSON is written shard by shard, so memory holds one shard's names at a time.

    Args:
        folder: the shard folder.
        shard_files: shard file names in input order.
        meta: ``model``, ``parts``, ``dims``, ``image_size`` and anything else to record.

    Returns:
        The index without the per-shard ``names`` (``read_index`` gives them).
    """
    head = {"format": FORMAT, "version": VERSION, **meta}
    shards: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    path = folder / INDEX_NAME
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w") as f:
            f.write("{\n" + "".join(f" {json.dumps(k)}: {json.dumps(v)},\n" for k, v in head.items()) + ' "shards": [')
            for i, name in enumerate(shard_files):
                names, missed, errors = read_shard_names(folder / name)
                f.write(("," if i else "") + "\n  " + json.dumps({"file": name, "rows": len(names), "names": names}))
                shards.append({"file": name, "rows": len(names)})
                skipped += [{"name": n, "error": e} for n, e in zip(missed, errors)]
            num_rows = sum(s["rows"] for s in shards)
            f.write(f'\n ],\n "num_rows": {num_rows},\n "skipped": {json.dumps(skipped)}\n}}\n')
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return {**head, "shards": shards, "num_rows": num_rows, "skipped": skipped}


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` atomically (temporary name, then ``os.replace``); creates the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(data, indent=1) + "\n")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read_index(folder: Path) -> dict[str, Any]:
    """The ``index.json`` of a shard folder, checked for its format and version."""
    path = Path(folder) / INDEX_NAME
    if not path.is_file():
        raise InputError(
            f"features: {folder} has no {INDEX_NAME}: not a shard folder, or its extraction did not finish "
            "(run the same `physdis extract` again to resume it)"
        )
    index = json.loads(path.read_text())
    if index.get("format") != FORMAT or index.get("version") != VERSION:
        raise InputError(
            f"features: {path} has format {index.get('format')!r} version {index.get('version')!r}, "
            f"expected {FORMAT!r} version {VERSION}"
        )
    return index


def _read_folder(folder: Path) -> FeatureSet:
    index = read_index(folder)
    sets = [read_features(folder / s["file"]) for s in index["shards"]]
    for s, fs in zip(index["shards"], sets):
        if fs.names != s["names"]:
            raise InputError(f"features: {folder / s['file']} does not hold the images its index lists")
    dims = index["dims"]
    parts = {
        p: np.concatenate([fs.parts[p] for fs in sets]) if sets else np.zeros((0, dims[p]), np.float32)
        for p in index["parts"]
    }
    return FeatureSet(
        names=[n for fs in sets for n in fs.names],
        parts=parts,
        model=index.get("model"),
        skipped=[s["name"] for s in index["skipped"]],
        skipped_errors=[s["error"] for s in index["skipped"]],
    )
