"""The data set registry."""

from __future__ import annotations

import pytest

from physdis_hub.data import (
    DataLayoutError,
    FaceTracks,
    SyntheticConfig,
    SyntheticDataset,
    dataset_info,
    get_dataset,
    list_datasets,
)

from .conftest import write_image


def test_every_named_set_is_listed() -> None:
    assert list_datasets() == [
        "synthetic-faces", "synthetic-faces-ict", "synthetic-cars", "utkface", "celeba", "celebamask-hq", "rafdb",
        "syncar", "tracks",
    ]  # fmt: skip
    assert "img_align_celeba" in dataset_info("celeba").layout
    with pytest.raises(KeyError, match="unknown data set 'imagenet'"):
        dataset_info("imagenet")


def test_synthetic_sets_take_config_fields() -> None:
    ds = get_dataset("synthetic-cars", split="test-ood", test_identities=2, images_per_identity=2)
    assert isinstance(ds, SyntheticDataset) and len(ds) == 4 and ds.config.category == "cars"
    assert ds.config.light_in.diffuse[0] >= 0.5
    cfg = SyntheticConfig(val_identities=1, images_per_identity=2)
    assert len(get_dataset("synthetic-faces", split="val", config=cfg, chunk_size=2)) == 2
    with pytest.raises(ValueError, match="config.category"):
        get_dataset("synthetic-cars", split="val", config=cfg)
    with pytest.raises(ValueError, match="either config or config fields"):
        get_dataset("synthetic-faces", split="val", config=cfg, seed=2)


def test_splits_and_roots_are_checked(tmp_path, monkeypatch) -> None:
    with pytest.raises(ValueError, match=r"tracks has splits \['all'\]"):
        get_dataset("tracks", tmp_path, split="train")
    monkeypatch.delenv("PHYSDIS_DATA", raising=False)
    with pytest.raises(DataLayoutError, match=r"no root given and \$PHYSDIS_DATA is not set(.|\n)*Expected layout"):
        get_dataset("utkface")


def test_default_root_under_the_environment_folder(tmp_path, monkeypatch) -> None:
    write_image(tmp_path / "tracks" / "ann" / "t0" / "0.jpg")
    monkeypatch.setenv("PHYSDIS_DATA", str(tmp_path))
    ds = get_dataset("tracks", split="all")
    assert isinstance(ds, FaceTracks) and len(ds) == 1
    assert len(get_dataset("tracks", tmp_path / "tracks", split="all", size=32)[0]["image"][0]) == 32
