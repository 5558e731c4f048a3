"""Items to batches, labels, split sizes and subsets."""

from __future__ import annotations

import pytest
import torch

from training.data import DataConfig, Splits, build_splits, collate_images, image_of, labels_of


def test_item_forms() -> None:
    image = torch.rand(3, 64, 64)
    assert image_of(image) is image
    assert image_of((image, 3)) is image and labels_of((image, 3)) == {"label": 3}
    assert labels_of((image, {"identity": 1})) == {"identity": 1}
    item = {"image": image, "labels": {"identity": torch.tensor(2)}, "path": "a.png"}
    assert image_of(item) is image and labels_of(item) == {"identity": torch.tensor(2)}
    assert labels_of({"image": image, "age": 3}) == {"age": 3}
    assert labels_of(image) == {}
    assert collate_images([item, (image, 0)]).shape == (2, 3, 64, 64)
    with pytest.raises(ValueError, match=r"item: expected a \(3, S, S\)"):
        image_of({"img": image})
    with pytest.raises(ValueError, match="item"):
        image_of(torch.rand(1, 64, 64))


def test_splits_and_caps(tiny_splits) -> None:  # type: ignore[no-untyped-def]
    assert (len(tiny_splits.train), len(tiny_splits.val), len(tiny_splits.test)) == (32, 8, 16)
    options = {"train_identities": 4, "val_identities": 1, "test_identities": 2, "images_per_identity": 8}
    config = DataConfig(options={**options, "progress": False}, max_images=(10, 3, 16))
    capped = build_splits(config)
    assert (len(capped.train), len(capped.val), len(capped.test)) == (10, 3, 16)
    again = build_splits(config)  # built again from the same settings: the same seeded subsets
    assert capped.train.indices == again.train.indices
    with pytest.raises(ValueError, match="splits.val: empty"):
        Splits(tiny_splits.train, [], tiny_splits.test)
    with pytest.raises(ValueError, match="max_images"):
        DataConfig(max_images=(1, 0, 1))


def test_synthetic_splits_are_rendered_once_into_the_cache_and_reused(tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from physdis_hub.data import load_dataset
    from training.data import CACHE_ENV, synthetic_cache_root
    from training.presets import build_preset

    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    assert synthetic_cache_root() == tmp_path
    config = build_preset("tiny").data
    first = build_splits(config, progress=True)
    err = capsys.readouterr().err
    assert err.count("rendering synthetic faces") == 3 and str(tmp_path) in err  # one line per split
    folders = sorted(p.name for p in tmp_path.glob("synthetic-faces-*/*"))
    assert folders == ["test", "train", "val"] and not list(tmp_path.glob("synthetic-faces-*/.*"))
    again = build_splits(config, progress=True)
    assert "rendering" not in capsys.readouterr().err  # a second run reads the cache
    in_memory = load_dataset(config.dataset, root=None, split="train", **config.options)
    for i in (0, len(in_memory) - 1):  # the cache holds exactly what rendering in memory gives
        assert torch.equal(first.train[i]["image"], in_memory[i]["image"])
        assert torch.equal(again.train[i]["image"], in_memory[i]["image"])
