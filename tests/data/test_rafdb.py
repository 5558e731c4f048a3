"""RAF-DB basic on a fixture tree in the released layout."""

from __future__ import annotations

import pytest

from physdis_hub.data import EMOTIONS, RAFDB, DataLayoutError

from .conftest import write_image

LABELS = {"train_00001.jpg": 1, "train_00002.jpg": 4, "train_00003.jpg": 7, "test_0001.jpg": 6, "test_0002.jpg": 3}


@pytest.fixture
def raf_root(tmp_path):
    for i, name in enumerate(LABELS):
        stem = name[: -len(".jpg")]
        write_image(tmp_path / "Image" / "aligned" / f"{stem}_aligned.jpg", (100, 100), seed=i)
    (tmp_path / "EmoLabel").mkdir()
    (tmp_path / "EmoLabel" / "list_patition_label.txt").write_text("".join(f"{n} {v}\n" for n, v in LABELS.items()))
    return tmp_path


def test_labels_are_shifted_to_zero_based_emotions(raf_root) -> None:
    train = RAFDB(raf_root, "train")
    assert len(train) == 3 and [int(train[i]["labels"]["emotion"]) for i in range(3)] == [0, 3, 6]
    assert EMOTIONS[0] == "surprise" and EMOTIONS[6] == "neutral"
    assert train[0]["path"].endswith("train_00001_aligned.jpg") and train[0]["image"].shape == (3, 64, 64)
    assert len(RAFDB(raf_root, "test")) == 2 and len(RAFDB(raf_root, "all")) == 5


@pytest.mark.parametrize("line", ["train_00004.jpg 8", "train_00004.jpg", "val_0001.jpg 2", "train_00004.jpg 2 3"])
def test_bad_label_line_names_the_line(raf_root, line: str) -> None:
    path = raf_root / "EmoLabel" / "list_patition_label.txt"
    path.write_text(path.read_text() + line + "\n")
    with pytest.raises(DataLayoutError, match=r"list_patition_label.txt:6: expected"):
        RAFDB(raf_root, "all")


def test_missing_image_and_folders(raf_root) -> None:
    (raf_root / "Image" / "aligned" / "test_0002_aligned.jpg").unlink()
    with pytest.raises(DataLayoutError, match="1 labelled images missing .*test_0002_aligned.jpg"):
        RAFDB(raf_root, "test")
    assert len(RAFDB(raf_root, "train")) == 3
    (raf_root / "EmoLabel" / "list_patition_label.txt").unlink()
    with pytest.raises(DataLayoutError, match=r"missing file(.|\n)*EmoLabel/list_patition_label.txt"):
        RAFDB(raf_root, "train")
    with pytest.raises(DataLayoutError, match="missing folder"):
        RAFDB(raf_root / "x", "train")
    with pytest.raises(ValueError, match="split"):
        RAFDB(raf_root, "val")
