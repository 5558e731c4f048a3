"""Fixtures of the data tests: tiny synthetic configs and helpers that write real-layout trees."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from physdis_hub.data import SyntheticConfig, SyntheticGenerator


def tiny_config(category: str, **changes) -> SyntheticConfig:  # type: ignore[no-untyped-def]
    """A few identities per block, so a whole split renders in well under a second."""
    sizes = {"train_identities": 6, "val_identities": 2, "test_identities": 4, "images_per_identity": 3}
    sizes.update(changes)
    return SyntheticConfig.for_category(category, **sizes)


@pytest.fixture(scope="session")
def generators() -> dict[str, SyntheticGenerator]:
    return {c: SyntheticGenerator(tiny_config(c)) for c in ("faces", "faces-ict", "cars")}


def write_image(path: Path, size: tuple[int, int] = (24, 30), seed: int = 0) -> Path:
    """A small random RGB image (width, height) at ``path`` (format from the suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path


ATTRS = "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose Black_Hair Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee Gray_Hair Heavy_Makeup High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard Oval_Face Pale_Skin Pointy_Nose Receding_Hairline Rosy_Cheeks Sideburns Smiling Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young"
"""The 40 attribute names of CelebA's ``list_attr_celeba.txt``, in order."""


def write_celeba_tree(root: Path, partition: list[int]) -> Path:
    """A CelebA tree in the released layout under ``root``: ``img_align_celeba/000001.jpg ...``
    (178x218 random images), ``list_attr_celeba.txt`` (random +-1 attributes) and
    ``list_eval_partition.txt`` with ``partition`` (0 train, 1 val, 2 test, one per image)."""
    rng = np.random.default_rng(0)
    names = [f"{i:06d}.jpg" for i in range(1, len(partition) + 1)]
    for i, n in enumerate(names):
        write_image(root / "img_align_celeba" / n, (178, 218), seed=i)
    lines = [str(len(names)), ATTRS] + [n + "".join(f" {v:2d}" for v in rng.choice([-1, 1], 40)) for n in names]
    (root / "list_attr_celeba.txt").write_text("\n".join(lines) + "\n")
    (root / "list_eval_partition.txt").write_text("".join(f"{n} {p}\n" for n, p in zip(names, partition)))
    return root


def write_mask(path: Path, box: tuple[int, int, int, int], size: int = 32) -> Path:
    """A binary part mask (255 inside ``box = (top, left, bottom, right)``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.zeros((size, size), dtype=np.uint8)
    t, l, b, r = box
    arr[t:b, l:r] = 255
    Image.fromarray(arr).save(path)
    return path
