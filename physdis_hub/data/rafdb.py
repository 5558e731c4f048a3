"""RAF-DB basic: aligned faces with 7 basic emotions."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError
from .images import DataLayoutError, ImageListDataset, listing

LAYOUT = """\
<root>/
    Image/aligned/train_00001_aligned.jpg ...   test_0001_aligned.jpg ...   (100x100)
    EmoLabel/list_patition_label.txt            "<train_00001.jpg|test_0001.jpg> <label 1-7>"
  labels: 1 surprise, 2 fear, 3 disgust, 4 happiness, 5 sadness, 6 anger, 7 neutral
"""

EMOTIONS = ("surprise", "fear", "disgust", "happiness", "sadness", "anger", "neutral")
"""Class names of label ``emotion`` (0-6; the file's 1-7 minus one)."""
SPLITS = ("train", "test")


def parse_labels(path: Path) -> list[tuple[str, str, int]]:
    """Read ``list_patition_label.txt`` -> ``[(file name, split, emotion 0-6)]``.

    Raises:
        DataLayoutError: naming the line of a malformed entry.
    """
    if not path.is_file():
        raise DataLayoutError("rafdb", f"missing file {path}", LAYOUT)
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        split = fields[0].split("_", 1)[0]
        if len(fields) != 2 or fields[1] not in {str(k) for k in range(1, 8)} or split not in SPLITS:
            raise DataLayoutError(
                "rafdb", f"{path.name}:{number}: expected '<train_NNNNN.jpg|test_NNNN.jpg> <1-7>', got {line!r}", LAYOUT
            )
        rows.append((fields[0], split, int(fields[1]) - 1))
    return rows


class RAFDB(ImageListDataset):
    """RAF-DB basic aligned images with label ``emotion`` (0-6, :data:`EMOTIONS`).

    Args:
        root: see :data:`LAYOUT`.
        split: ``"train"``, ``"test"`` (from the file names) or ``"all"``.
        size: output side (the 100x100 aligned faces are resized).

    Raises:
        DataLayoutError: a missing folder or file, a malformed label line, a listed image missing.
    """

    def __init__(self, root: str | Path, split: str = "train", size: int = 64) -> None:
        if split != "all" and split not in SPLITS:
            raise InputError(f"split: expected one of {list(SPLITS) + ['all']}, got {split!r}")
        root = Path(root)
        image_dir = root / "Image" / "aligned"
        if not image_dir.is_dir():
            raise DataLayoutError("rafdb", f"missing folder {image_dir}", LAYOUT)
        rows = [r for r in parse_labels(root / "EmoLabel" / "list_patition_label.txt") if split in ("all", r[1])]
        paths = [image_dir / f"{Path(name).stem}_aligned{Path(name).suffix}" for name, _, _ in rows]
        present = {p.name for p in image_dir.iterdir()}
        missing = [p.name for p in paths if p.name not in present]
        if missing:
            raise DataLayoutError(
                "rafdb", f"{len(missing)} labelled images missing from {image_dir}: {listing(missing)}", LAYOUT
            )
        if not paths:
            raise DataLayoutError("rafdb", f"no image of split {split!r} is labelled", LAYOUT)
        super().__init__(paths, {"emotion": np.array([r[2] for r in rows], dtype=np.int64)}, size)
