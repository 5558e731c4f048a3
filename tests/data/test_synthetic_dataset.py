"""The synthetic Dataset: item format, on-the-fly rendering and the disk cache agree."""

from __future__ import annotations

import json

import pytest
import torch

from physdis_hub.config import ModelConfig
from physdis_hub.data import SyntheticDataset, scene_from_ground_truth
from physdis_hub.data import synthetic_dataset as sd
from physdis_hub.data.synthetic import LIGHT_FACTORS, VIEW_FACTORS, SyntheticGenerator
from physdis_hub.render import Renderer

from .conftest import tiny_config


def test_items_are_model_images_with_ground_truth_and_labels() -> None:
    ds = SyntheticDataset(tiny_config("faces"), "val", chunk_size=4)
    assert len(ds) == 6
    item = ds[5]
    assert item["image"].shape == (3, 64, 64) and item["image"].dtype == torch.float32
    assert 0 <= item["image"].min() and item["image"].max() <= 1
    gt = item["gt"]
    assert gt["depth"].shape == (64, 64) and gt["albedo"].shape == (3, 64, 64) and gt["mask"].shape == (1, 64, 64)
    assert gt["light_direction"].shape == (3,) and gt["view_rotation"].shape == (3,) and gt["light_ambient"].shape == ()
    assert set(item["labels"]) == {"identity", "nose", "skin", "hair", "expression"}
    assert ds.attributes["expression"] == ("neutral", "smile", "surprise")
    assert torch.equal(ds[-1]["image"], item["image"])
    with pytest.raises(IndexError, match="out of range"):
        ds[6]


def test_a_collated_batch_rerenders_to_its_images() -> None:
    ds = SyntheticDataset(tiny_config("cars"), "test-ood-light")
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=5)))
    out = Renderer(ModelConfig(scene=ds.generator.category.scene)).render(scene_from_ground_truth(batch["gt"]))
    mask = batch["gt"]["mask"].expand_as(batch["image"])
    assert ((out.image + 1) / 2 - batch["image"]).abs()[mask].max() < 1e-5


def test_disk_cache_matches_on_the_fly_and_is_reused(tmp_path, monkeypatch) -> None:
    cfg = tiny_config("faces")
    live = SyntheticDataset(cfg, "test", chunk_size=5)
    cached = SyntheticDataset(cfg, "test", root=tmp_path, chunk_size=5, progress=False)
    folder = sd.cache_dir(tmp_path, cfg, "test")
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["size"] == len(live) == 12 and meta["config"] == cfg.to_dict()
    assert meta["factor_names"] == {"light": list(LIGHT_FACTORS), "view": list(VIEW_FACTORS)}
    for i in (0, 7, 11):
        a, b = live[i], cached[i]
        assert torch.allclose(a["image"], b["image"], atol=1e-6)
        assert all(torch.allclose(a["gt"][k].float(), b["gt"][k].float(), atol=1e-6) for k in a["gt"])
        assert a["labels"] == b["labels"]
        assert a["factors"].keys() == b["factors"].keys() == {"light", "view"}
        assert all(torch.equal(a["factors"][k], b["factors"][k]) for k in a["factors"])

    def no_write(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the complete cache should be read, not rewritten")

    monkeypatch.setattr(sd, "write_cache", no_write)
    again = SyntheticDataset(cfg, "test", root=tmp_path)
    assert torch.equal(again[3]["image"], cached[3]["image"])


def test_incomplete_or_other_config_cache_is_rewritten(tmp_path) -> None:
    cfg = tiny_config("cars")
    folder = sd.write_cache(cfg, "val", tmp_path, batch_size=4, progress=False)
    (folder / "meta.json").unlink()  # as if interrupted
    assert sd.read_cache(cfg, "val", tmp_path) is None
    SyntheticDataset(cfg, "val", root=tmp_path, progress=False)
    assert sd.read_cache(cfg, "val", tmp_path) is not None
    other = tiny_config("cars", seed=3)
    assert sd.cache_dir(tmp_path, other, "val") != folder


def test_a_cache_recorded_with_other_factor_groups_is_rewritten(tmp_path) -> None:
    # e.g. a cars cache from before the category recorded its shape and paint
    cfg = tiny_config("cars")
    folder = sd.write_cache(cfg, "val", tmp_path, batch_size=4, progress=False)
    meta = json.loads((folder / "meta.json").read_text())
    del meta["factor_names"]["shape"]
    (folder / "meta.json").write_text(json.dumps(meta))
    names = SyntheticGenerator(cfg).factor_names()
    assert sd.read_cache(cfg, "val", tmp_path) is not None  # without names, as before
    assert sd.read_cache(cfg, "val", tmp_path, names) is None
    assert "shape" in SyntheticDataset(cfg, "val", root=tmp_path, progress=False)[0]["factors"]
    assert sd.read_cache(cfg, "val", tmp_path, names) is not None


def test_dataset_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="split"):
        SyntheticDataset(tiny_config("faces"), "ood")
    with pytest.raises(ValueError, match="chunk_size"):
        SyntheticDataset(tiny_config("faces"), "val", chunk_size=0)
