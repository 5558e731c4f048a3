"""CelebA (aligned images, 40 binary attributes) and CelebAMask-HQ (19-class face parsing)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..errors import InputError
from .images import (
    DataLayoutError,
    ImageListDataset,
    check_on_malformed,
    listing,
    report_malformed,
    seeded_split,
)

CELEBA_LAYOUT = """\
<root>/
    img_align_celeba/000001.jpg ...        (178x218 aligned images)
    list_attr_celeba.txt                   line 1: image count; line 2: the 40 attribute names;
                                           then "<file> v1 ... v40" with each v in {-1, 1}
    list_eval_partition.txt                "<file> p", p 0 train / 1 val / 2 test (needed unless split="all")
"""

CELEBA_SPLITS = {"train": 0, "val": 1, "test": 2}

MASK_LAYOUT = """\
<root>/
    CelebA-HQ-img/<id>.jpg                              id = 0 ... 29999 (1024x1024)
    CelebAMask-HQ-mask-anno/<k>/<id 5 digits>_<part>.png  k = id // 2000; part one of
        skin nose eye_g l_eye r_eye l_brow r_brow l_ear r_ear mouth u_lip l_lip hair hat ear_r neck_l neck cloth
"""

MASK_CLASSES = (
    "background",
    "skin",
    "nose",
    "eye_g",
    "l_eye",
    "r_eye",
    "l_brow",
    "r_brow",
    "l_ear",
    "r_ear",
    "mouth",
    "u_lip",
    "l_lip",
    "hair",
    "hat",
    "ear_r",
    "neck_l",
    "neck",
    "cloth",
)
"""The 19 CelebAMask-HQ classes in the standard order (label = index; later parts overwrite earlier)."""

_MASK_NAME = re.compile(r"^(\d{5})_([a-z_]+)\.png$")


def _read_lines(path: Path, dataset: str, layout: str) -> list[str]:
    if not path.is_file():
        raise DataLayoutError(dataset, f"missing file {path}", layout)
    return path.read_text().splitlines()


def parse_attributes(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    """Read ``list_attr_celeba.txt``.

    Returns:
        ``(attribute names (40), file names (N), values (N, 40) int64 in {0, 1})``.

    Raises:
        DataLayoutError: naming the file and line of a malformed entry.
    """
    lines = _read_lines(path, "celeba", CELEBA_LAYOUT)
    if len(lines) < 2:
        raise DataLayoutError("celeba", f"{path.name}: expected a count line and a header line", CELEBA_LAYOUT)
    try:
        count = int(lines[0].strip())
    except ValueError:
        raise DataLayoutError(
            "celeba", f"{path.name}:1: expected the image count, got {lines[0]!r}", CELEBA_LAYOUT
        ) from None
    names = lines[1].split()
    if len(names) != 40:
        raise DataLayoutError("celeba", f"{path.name}:2: expected 40 attribute names, got {len(names)}", CELEBA_LAYOUT)
    files, values = [], []
    for number, line in enumerate(lines[2:], start=3):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 41 or any(v not in ("-1", "1") for v in fields[1:]):
            raise DataLayoutError(
                "celeba",
                f"{path.name}:{number}: expected a file name and 40 values in {{-1, 1}}, got {line!r}",
                CELEBA_LAYOUT,
            )
        files.append(fields[0])
        values.append([v == "1" for v in fields[1:]])
    if len(files) != count:
        raise DataLayoutError(
            "celeba", f"{path.name}: line 1 says {count} images, the file lists {len(files)}", CELEBA_LAYOUT
        )
    return names, files, np.array(values, dtype=np.int64).reshape(-1, 40)


def parse_partition(path: Path) -> dict[str, int]:
    """Read ``list_eval_partition.txt``: file name -> 0 (train), 1 (val) or 2 (test)."""
    out: dict[str, int] = {}
    for number, line in enumerate(_read_lines(path, "celeba", CELEBA_LAYOUT), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2 or fields[1] not in ("0", "1", "2"):
            raise DataLayoutError(
                "celeba", f"{path.name}:{number}: expected '<file> 0|1|2', got {line!r}", CELEBA_LAYOUT
            )
        out[fields[0]] = int(fields[1])
    return out


class CelebA(ImageListDataset):
    """CelebA aligned images with the 40 attributes as labels ``attributes`` (``(40,)`` in {0, 1}).

    Preprocessing: the centred ``crop_size`` square of the 178x218 aligned image (the face and a
    little hair), resized to ``size``.

    Args:
        root: see the layout in :data:`CELEBA_LAYOUT`.
        split: ``"train"``, ``"val"``, ``"test"`` (from ``list_eval_partition.txt``) or ``"all"``.
        size: output side.
        crop_size: side of the centred crop before resizing.

    Raises:
        DataLayoutError: a missing folder or file, a malformed line, listed images that do not exist.
    """

    def __init__(self, root: str | Path, split: str = "train", size: int = 64, crop_size: int = 128) -> None:
        root = Path(root)
        image_dir = root / "img_align_celeba"
        if not image_dir.is_dir():
            raise DataLayoutError("celeba", f"missing folder {image_dir}", CELEBA_LAYOUT)
        if split != "all" and split not in CELEBA_SPLITS:
            raise InputError(f"split: expected one of {list(CELEBA_SPLITS) + ['all']}, got {split!r}")
        self.attribute_names, files, values = parse_attributes(root / "list_attr_celeba.txt")
        if split != "all":
            partition = parse_partition(root / "list_eval_partition.txt")
            unknown = [f for f in files if f not in partition]
            if unknown:
                raise DataLayoutError(
                    "celeba", f"images missing from list_eval_partition.txt: {listing(unknown)}", CELEBA_LAYOUT
                )
            keep = [i for i, f in enumerate(files) if partition[f] == CELEBA_SPLITS[split]]
            files, values = [files[i] for i in keep], values[keep]
        present = {p.name for p in image_dir.iterdir()}
        missing = [f for f in files if f not in present]
        if missing:
            raise DataLayoutError(
                "celeba", f"{len(missing)} listed images missing from {image_dir}: {listing(missing)}", CELEBA_LAYOUT
            )
        super().__init__([image_dir / f for f in files], {"attributes": values}, size, crop_size)


class CelebAMaskHQ(ImageListDataset):
    """CelebAMask-HQ images with 19-class masks as label ``mask`` (``(size, size)`` int64, classes
    :data:`MASK_CLASSES`), assembled from the per-part PNGs in the standard order and resized with
    nearest neighbours.

    There is no split file in the release; ``split`` picks from a seeded 80/10/10 partition of the
    image ids, or ``"all"``.

    Args:
        root: see :data:`MASK_LAYOUT`.
        split: ``"train"``, ``"val"``, ``"test"`` or ``"all"``.
        size: output side.
        split_seed: seed of the partition.
        on_malformed: ``"skip"`` (warn; see :attr:`malformed`) or ``"raise"`` for mask files whose
            name, part or folder is wrong and image files not named ``<id>.jpg``.

    Raises:
        DataLayoutError: a missing folder, or an image with no mask file at all.
    """

    def __init__(
        self, root: str | Path, split: str = "train", size: int = 64, split_seed: int = 0, on_malformed: str = "skip"
    ) -> None:
        check_on_malformed(on_malformed)
        root = Path(root)
        image_dir, mask_dir = root / "CelebA-HQ-img", root / "CelebAMask-HQ-mask-anno"
        for folder in (image_dir, mask_dir):
            if not folder.is_dir():
                raise DataLayoutError("celebamask-hq", f"missing folder {folder}", MASK_LAYOUT)
        self.malformed: list[tuple[str, str]] = []
        images: dict[int, Path] = {}
        for path in sorted(image_dir.iterdir()):
            if path.suffix.lower() == ".jpg" and path.stem.isdigit():
                images[int(path.stem)] = path
            else:
                self.malformed.append((f"CelebA-HQ-img/{path.name}", "expected <id>.jpg"))
        self.parts: dict[int, dict[str, Path]] = {}
        for folder in sorted(p for p in mask_dir.iterdir() if p.is_dir()):
            for path in sorted(folder.iterdir()):
                name = f"{folder.name}/{path.name}"
                m = _MASK_NAME.match(path.name)
                if m is None:
                    self.malformed.append((name, "expected <id 5 digits>_<part>.png"))
                elif m.group(2) not in MASK_CLASSES[1:]:
                    self.malformed.append((name, f"unknown part {m.group(2)!r}"))
                elif folder.name != str(int(m.group(1)) // 2000):
                    self.malformed.append((name, f"id {int(m.group(1))} belongs in folder {int(m.group(1)) // 2000}"))
                else:
                    self.parts.setdefault(int(m.group(1)), {})[m.group(2)] = path
        report_malformed("celebamask-hq", self.malformed, on_malformed, MASK_LAYOUT)
        ids = sorted(images)
        if not ids:
            raise DataLayoutError("celebamask-hq", f"no <id>.jpg image in {image_dir}", MASK_LAYOUT)
        unannotated = [i for i in ids if i not in self.parts]
        if unannotated:
            raise DataLayoutError(
                "celebamask-hq", f"{len(unannotated)} images have no mask file: ids {listing(unannotated)}", MASK_LAYOUT
            )
        ids = [ids[i] for i in seeded_split(len(ids), split, split_seed)]
        self.ids = ids
        super().__init__([images[i] for i in ids], {"id": np.array(ids, dtype=np.int64)}, size)

    def mask(self, image_id: int) -> torch.Tensor:
        """The assembled ``(size, size)`` int64 mask of ``image_id``."""
        label: np.ndarray | None = None
        for cls, part in enumerate(MASK_CLASSES[1:], start=1):
            path = self.parts[image_id].get(part)
            if path is None:
                continue
            with Image.open(path) as im:
                on = np.asarray(im.convert("L")) > 0
            if label is None:
                label = np.zeros(on.shape, dtype=np.uint8)
            if on.shape != label.shape:
                raise DataLayoutError(
                    "celebamask-hq", f"{path}: size {on.shape} differs from the other parts' {label.shape}", MASK_LAYOUT
                )
            label[on] = cls
        assert label is not None  # every id kept has at least one part
        small = Image.fromarray(label).resize((self.size, self.size), Image.Resampling.NEAREST)
        return torch.from_numpy(np.asarray(small, dtype=np.int64).copy())

    def item_labels(self, index: int) -> dict[str, torch.Tensor]:
        labels = super().item_labels(index)
        labels["mask"] = self.mask(self.ids[index])
        return labels
