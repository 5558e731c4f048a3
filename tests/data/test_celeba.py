"""CelebA and CelebAMask-HQ on fixture trees in the released layouts."""

from __future__ import annotations

import pytest
import torch

from physdis_hub.data import MASK_CLASSES, CelebA, CelebAMaskHQ, DataLayoutError

from .conftest import write_celeba_tree, write_image, write_mask


@pytest.fixture
def celeba_root(tmp_path):
    return write_celeba_tree(tmp_path, [0, 0, 0, 1, 2, 2])


def test_attributes_are_read_as_binary_labels(celeba_root) -> None:
    ds = CelebA(celeba_root, split="all")
    assert len(ds) == 6 and len(ds.attribute_names) == 40 and ds.attribute_names[31] == "Smiling"
    item = ds[2]
    line = (celeba_root / "list_attr_celeba.txt").read_text().splitlines()[4].split()
    assert item["labels"]["attributes"].tolist() == [int(v == "1") for v in line[1:]]
    assert item["image"].shape == (3, 64, 64) and item["path"].endswith("000003.jpg")


def test_partition_selects_the_split(celeba_root) -> None:
    assert [len(CelebA(celeba_root, split=s)) for s in ("train", "val", "test")] == [3, 1, 2]


def test_bad_attribute_line_names_file_and_line(celeba_root) -> None:
    path = celeba_root / "list_attr_celeba.txt"
    lines = path.read_text().splitlines()
    lines[4] = lines[4].replace(" 1", " 2", 1) if " 1" in lines[4] else lines[4].replace("-1", " 2", 1)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataLayoutError, match=r"list_attr_celeba.txt:5: expected a file name and 40 values"):
        CelebA(celeba_root, split="all")


def test_count_mismatch_and_missing_image_and_missing_files(celeba_root) -> None:
    (celeba_root / "img_align_celeba" / "000004.jpg").unlink()
    with pytest.raises(DataLayoutError, match=r"1 listed images missing(.|\n)*000004.jpg(.|\n)*Expected layout"):
        CelebA(celeba_root, split="all")
    with pytest.raises(DataLayoutError, match="missing file .*list_eval_partition.txt"):
        (celeba_root / "list_eval_partition.txt").unlink()
        CelebA(celeba_root, split="train")
    path = celeba_root / "list_attr_celeba.txt"
    path.write_text("7\n" + "\n".join(path.read_text().splitlines()[1:]) + "\n")
    with pytest.raises(DataLayoutError, match="line 1 says 7 images, the file lists 6"):
        CelebA(celeba_root, split="all")
    with pytest.raises(DataLayoutError, match="missing folder"):
        CelebA(celeba_root / "elsewhere")


@pytest.fixture
def mask_root(tmp_path):
    for i in (0, 1, 2001):
        write_image(tmp_path / "CelebA-HQ-img" / f"{i}.jpg", (48, 48), seed=i)
        anno = tmp_path / "CelebAMask-HQ-mask-anno" / str(i // 2000)
        write_mask(anno / f"{i:05d}_skin.png", (4, 4, 28, 28))
        write_mask(anno / f"{i:05d}_nose.png", (12, 12, 20, 20))
        write_mask(anno / f"{i:05d}_hair.png", (0, 0, 8, 32))
    return tmp_path


def test_masks_are_assembled_in_the_standard_class_order(mask_root) -> None:
    ds = CelebAMaskHQ(mask_root, split="all", size=32)
    assert len(ds) == 3 and ds.ids == [0, 1, 2001]
    mask = ds[2]["labels"]["mask"]
    assert mask.shape == (32, 32) and mask.dtype == torch.int64
    skin, nose, hair = (MASK_CLASSES.index(p) for p in ("skin", "nose", "hair"))
    assert (skin, nose, hair) == (1, 2, 13) and len(MASK_CLASSES) == 19
    assert mask[16, 16] == nose and mask[10, 10] == skin and mask[2, 2] == hair and mask[30, 30] == 0
    assert mask[6, 6] == hair  # hair (13) is drawn after skin (1) where both are on
    assert ds[2]["image"].shape == (3, 32, 32)


def test_malformed_mask_files_and_unannotated_images(mask_root) -> None:
    anno = mask_root / "CelebAMask-HQ-mask-anno"
    write_mask(anno / "0" / "00001_beard.png", (0, 0, 2, 2))  # unknown part
    write_mask(anno / "0" / "2001_skin.png", (0, 0, 2, 2))  # id not 5 digits
    write_mask(anno / "0" / "02001_nose.png", (0, 0, 2, 2))  # wrong folder
    with pytest.warns(UserWarning, match="skipped 3 malformed"):
        ds = CelebAMaskHQ(mask_root, split="all")
    reasons = dict(ds.malformed)
    assert (
        reasons["0/00001_beard.png"] == "unknown part 'beard'" and "belongs in folder 1" in reasons["0/02001_nose.png"]
    )
    with pytest.raises(DataLayoutError, match="unknown part"):
        CelebAMaskHQ(mask_root, split="all", on_malformed="raise")
    write_image(mask_root / "CelebA-HQ-img" / "5.jpg")
    with pytest.raises(DataLayoutError, match=r"1 images have no mask file: ids 5"), pytest.warns(UserWarning):
        CelebAMaskHQ(mask_root, split="all", on_malformed="skip")


def test_mask_hq_missing_folder(tmp_path) -> None:
    with pytest.raises(DataLayoutError, match=r"missing folder .*CelebA-HQ-img(.|\n)*<id 5 digits>_<part>.png"):
        CelebAMaskHQ(tmp_path)
