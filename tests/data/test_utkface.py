"""UTKFace on a fixture tree with real file naming, including malformed names."""

from __future__ import annotations

import pytest
import torch

from physdis_hub.data import DataLayoutError, UTKFace
from physdis_hub.data.utkface import parse_name

from .conftest import write_image

GOOD = [
    f"{age}_{g}_{r}_2017011617452{k}125.jpg.chip.jpg"
    for k, (age, g, r) in enumerate(
        [
            (25, 0, 2),
            (1, 1, 0),
            (80, 0, 4),
            (33, 1, 3),
            (47, 0, 1),
            (9, 1, 2),
            (60, 1, 0),
            (18, 0, 3),
            (71, 1, 1),
            (3, 0, 0),
        ]
    )
]


@pytest.fixture
def utk_root(tmp_path):
    for i, name in enumerate(GOOD):
        write_image(tmp_path / "UTKFace" / name, (40, 40), seed=i)
    return tmp_path


def test_labels_come_from_the_file_names(utk_root) -> None:
    ds = UTKFace(utk_root, split="all")
    assert len(ds) == 10 and ds.malformed == []
    item = ds[0]
    assert item["image"].shape == (3, 64, 64)
    name = item["path"].rsplit("/", 1)[1]
    age, gender, race = parse_name(name)
    assert item["labels"] == {"age": torch.tensor(age), "gender": torch.tensor(gender), "race": torch.tensor(race)}


def test_splits_partition_the_images(utk_root) -> None:
    parts = [UTKFace(utk_root, split=s) for s in ("train", "val", "test")]
    assert [len(p) for p in parts] == [8, 1, 1]
    assert len({p for ds in parts for p in ds.paths}) == 10


def test_malformed_names_are_reported_or_raised(utk_root) -> None:
    write_image(utk_root / "UTKFace" / "61_1_20170109142408075.jpg.chip.jpg")  # race missing (as in the release)
    write_image(utk_root / "UTKFace" / "39_7_1_20170116174525125.jpg")  # gender 7
    with pytest.warns(UserWarning, match="skipped 2 malformed"):
        ds = UTKFace(utk_root, split="all")
    assert len(ds) == 10 and {m[0] for m in ds.malformed} == {
        "61_1_20170109142408075.jpg.chip.jpg",
        "39_7_1_20170116174525125.jpg",
    }
    with pytest.raises(DataLayoutError, match="gender 7 not 0 or 1"):
        UTKFace(utk_root, split="all", on_malformed="raise")


def test_missing_or_empty_folder_names_the_layout(tmp_path) -> None:
    with pytest.raises(DataLayoutError, match=r"no such folder(.|\n)*\[age\]_\[gender\]_\[race\]"):
        UTKFace(tmp_path / "nope")
    with pytest.raises(DataLayoutError, match="no image named"):
        UTKFace(tmp_path)
