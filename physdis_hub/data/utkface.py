"""UTKFace: labels parsed from the file names."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import InputError
from .images import (
    DataLayoutError,
    ImageListDataset,
    check_on_malformed,
    report_malformed,
    seeded_split,
)

LAYOUT = """\
<root>/                      (or <root>/UTKFace/)
    [age]_[gender]_[race]_[date&time].jpg             e.g. 25_0_2_20170116174525125.jpg
    [age]_[gender]_[race]_[date&time].jpg.chip.jpg    (the aligned & cropped release)
  age: 0-116; gender: 0 male, 1 female; race: 0 White, 1 Black, 2 Asian, 3 Indian, 4 Others
"""

GENDERS = ("male", "female")
RACES = ("white", "black", "asian", "indian", "others")
_NAME = re.compile(r"^(\d+)_(\d+)_(\d+)_(\d+)\.jpg(?:\.chip\.jpg)?$", re.IGNORECASE)


def parse_name(name: str) -> tuple[int, int, int]:
    """``(age, gender, race)`` from a UTKFace file name.

    Raises:
        ValueError: saying what is wrong with the name.
    """
    m = _NAME.match(name)
    if m is None:
        raise InputError("expected [age]_[gender]_[race]_[date&time].jpg")
    age, gender, race = (int(g) for g in m.groups()[:3])
    if not 0 <= age <= 116:
        raise InputError(f"age {age} outside 0-116")
    if gender not in (0, 1):
        raise InputError(f"gender {gender} not 0 or 1")
    if not 0 <= race < len(RACES):
        raise InputError(f"race {race} outside 0-4")
    return age, gender, race


class UTKFace(ImageListDataset):
    """UTKFace images with labels ``age``, ``gender`` (0/1) and ``race`` (0-4).

    There is no official split; ``split`` picks from a seeded 80/10/10 partition of the sorted file
    names (the paper's protocol), or ``"all"``. Faces are already cropped: the image is resized to
    ``size`` (largest centred square).

    Args:
        root: the folder of images (or its parent holding ``UTKFace/``).
        split: ``"train"``, ``"val"``, ``"test"`` or ``"all"``.
        size: output side.
        split_seed: seed of the partition.
        on_malformed: ``"skip"`` (warn, listed in :attr:`malformed`) or ``"raise"`` for file names that
            do not parse (the real release has a few).

    Raises:
        DataLayoutError: the folder is missing or holds no valid image name.
    """

    def __init__(
        self, root: str | Path, split: str = "train", size: int = 64, split_seed: int = 0, on_malformed: str = "skip"
    ) -> None:
        check_on_malformed(on_malformed)
        root = Path(root)
        if not root.is_dir():
            raise DataLayoutError("utkface", f"no such folder: {root}", LAYOUT)
        if not any(p.suffix.lower() == ".jpg" for p in root.iterdir()) and (root / "UTKFace").is_dir():
            root = root / "UTKFace"
        files = sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in (".jpg", ".jpeg", ".png"))
        self.malformed: list[tuple[str, str]] = []
        rows, paths = [], []
        for path in files:
            try:
                rows.append(parse_name(path.name))
                paths.append(path)
            except ValueError as err:
                self.malformed.append((path.name, str(err)))
        report_malformed("utkface", self.malformed, on_malformed, LAYOUT)
        if not paths:
            raise DataLayoutError("utkface", f"no image named [age]_[gender]_[race]_[date].jpg in {root}", LAYOUT)
        keep = seeded_split(len(paths), split, split_seed)
        table = np.array(rows, dtype=np.int64)[keep]
        super().__init__(
            [paths[i] for i in keep], {"age": table[:, 0], "gender": table[:, 1], "race": table[:, 2]}, size
        )
