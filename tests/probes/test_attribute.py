"""Integrated-gradients part contributions and per-part Grad-CAM."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from PIL import Image

from physdis_hub.probes.attribute import (
    feature_attribution,
    gradcam_by_part,
    heatmap,
    input_attribution,
    save_gradcam_figure,
)
from physdis_hub.probes.extractors import PartsExtractor
from physdis_hub.probes.linear import ProbeHead

pytest.importorskip("captum")


def _geom_only_head(d_geom: int, d_alb: int, classes: int = 3) -> ProbeHead:
    torch.manual_seed(0)
    head = ProbeHead(d_geom + d_alb, classes)
    with torch.no_grad():
        head.net.weight[:, d_geom:] = 0
    return head


def test_percentages_sum_to_100():
    torch.manual_seed(0)
    feats = {"geom": torch.rand(10, 8), "alb": torch.rand(10, 8), "light": torch.rand(10, 4)}
    head = torch.nn.Sequential(torch.nn.Linear(20, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
    r = feature_attribution(head, feats, n_steps=20)
    assert sum(r.percent.values()) == pytest.approx(100.0)
    assert list(r.percent) == ["geom", "alb", "light"] and all(v > 0 for v in r.percent.values())


def test_head_using_only_geom_gives_geom_all_the_credit():
    feats = {"geom": torch.rand(12, 6), "alb": torch.rand(12, 6)}
    r = feature_attribution(_geom_only_head(6, 6), feats)
    assert r.percent["geom"] == pytest.approx(100.0) and r.percent["alb"] == pytest.approx(0.0)


def test_linear_head_attribution_equals_weight_times_feature():
    # IG of a linear map from a zero baseline is exactly w * x, so the shares are known in closed form
    head = torch.nn.Linear(3, 1)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[1.0, -2.0, 3.0]]))
    feats = {"a": torch.tensor([[1.0, 1.0]]), "b": torch.tensor([[1.0]])}
    r = feature_attribution(head, feats, target=0)
    assert r.percent["a"] == pytest.approx(50.0) and r.percent["b"] == pytest.approx(50.0)


def test_input_attribution_splits_pixels_by_part(small_model):
    extractor = PartsExtractor.from_model(small_model, ("geom", "alb"))
    images = torch.rand(2, 3, 64, 64)
    r = input_attribution(_geom_only_head(256, 256), extractor, images, n_steps=4)
    assert r.inputs == "images" and r.percent["geom"] == pytest.approx(100.0)


def test_gradcam_maps_and_figure(small_model, tmp_path):
    extractor = PartsExtractor.from_model(small_model, ("geom", "alb"))
    images = torch.rand(3, 3, 64, 64)
    cams = gradcam_by_part(_geom_only_head(256, 256), extractor, images)
    assert set(cams) == {"geom", "alb"}
    assert cams["geom"].shape == (3, 64, 64) and float(cams["geom"].max()) == pytest.approx(1.0)
    assert float(cams["alb"].abs().max()) == 0.0  # the head ignores alb: no gradient reaches it
    path = save_gradcam_figure(images, cams, tmp_path / "cam.png", percent={"geom": 100.0, "alb": 0.0})
    with Image.open(path) as fig:
        assert fig.size == (3 * (128 + 2), 14 + 3 * (128 + 2))


def test_heatmap_endpoints():
    colours = heatmap(np.array([[0.0, 1.0]]))
    assert colours.dtype == np.uint8 and colours[0, 0].tolist() == [0, 0, 128] and colours[0, 1].tolist() == [128, 0, 0]


def test_errors():
    head = torch.nn.Linear(4, 2)
    with pytest.raises(ValueError, match="features: expected \\(B, d\\) tensors with the same B"):
        feature_attribution(head, {"a": torch.rand(3, 2), "b": torch.rand(2, 2)})
    with pytest.raises(ValueError, match="target: expected an index"):
        feature_attribution(head, {"a": torch.rand(3, 2), "b": torch.rand(3, 2)}, target=5)
    with pytest.raises(ValueError, match="features: contain NaN"):
        feature_attribution(head, {"a": torch.rand(3, 2), "b": torch.full((3, 2), float("inf"))})
    torch.nn.init.zeros_(head.weight)  # output = bias: nothing to attribute
    with pytest.raises(ValueError, match="head: every attribution is zero"):
        feature_attribution(head, {"a": torch.rand(3, 2), "b": torch.rand(3, 2)})


def test_missing_captum_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "captum.attr", None)
    with pytest.raises(ImportError, match=r"physdis-hub\[captum\]"):
        feature_attribution(torch.nn.Linear(2, 2), {"a": torch.rand(3, 1), "b": torch.rand(3, 1)})
