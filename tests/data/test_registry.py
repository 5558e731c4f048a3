"""The data set registry."""

from __future__ import annotations

import pytest

from physdis_hub.data import (
    DataLayoutError,
    DatasetInfo,
    FaceTracks,
    SyntheticConfig,
    SyntheticDataset,
    get_dataset,
    list_datasets,
    load_dataset,
)

from .conftest import write_image


def test_every_named_set_is_listed() -> None:
    names = [
        "synthetic-faces",
        "synthetic-faces-ict",
        "synthetic-cars",
        "utkface",
        "celeba",
        "celebamask-hq",
        "rafdb",
        "syncar",
        "tracks",
    ]
    assert [info.name for info in list_datasets()] == names
    assert all(isinstance(info, DatasetInfo) for info in list_datasets())  # list_*: entries, as list_pretrained
    assert get_dataset("celeba") is list_datasets()[4] and "img_align_celeba" in get_dataset("celeba").layout
    with pytest.raises(KeyError, match="unknown data set 'imagenet'"):
        get_dataset("imagenet")


def test_synthetic_sets_take_config_fields() -> None:
    ds = load_dataset("synthetic-cars", split="test-ood", test_identities=2, images_per_identity=2)
    assert isinstance(ds, SyntheticDataset) and len(ds) == 4 and ds.config.category == "cars"
    assert ds.config.light_in.diffuse[0] >= 0.5
    cfg = SyntheticConfig(val_identities=1, images_per_identity=2)
    assert len(load_dataset("synthetic-faces", split="val", config=cfg, chunk_size=2)) == 2
    with pytest.raises(ValueError, match="config.category"):
        load_dataset("synthetic-cars", split="val", config=cfg)
    with pytest.raises(ValueError, match="either config or config fields"):
        load_dataset("synthetic-faces", split="val", config=cfg, seed=2)


def test_splits_and_roots_are_checked(tmp_path, monkeypatch) -> None:
    with pytest.raises(ValueError, match=r"tracks has splits \['all'\]"):
        load_dataset("tracks", tmp_path, split="train")
    monkeypatch.delenv("PHYSDIS_DATA", raising=False)
    with pytest.raises(DataLayoutError, match=r"no root given and \$PHYSDIS_DATA is not set(.|\n)*Expected layout"):
        load_dataset("utkface")


def test_default_root_under_the_environment_folder(tmp_path, monkeypatch) -> None:
    write_image(tmp_path / "tracks" / "ann" / "t0" / "0.jpg")
    monkeypatch.setenv("PHYSDIS_DATA", str(tmp_path))
    ds = load_dataset("tracks", split="all")
    assert isinstance(ds, FaceTracks) and len(ds) == 1
    assert len(load_dataset("tracks", tmp_path / "tracks", split="all", size=32)[0]["image"][0]) == 32
